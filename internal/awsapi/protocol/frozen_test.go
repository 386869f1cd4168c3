package protocol

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// A frozen value encodes as the map it holds, in every protocol, and the
// XML codecs write its kept encoding the second time.
func TestFrozenEncodesAsItsFields(t *testing.T) {
	svc, err := model.Load("ec2")
	if err != nil {
		t.Fatal(err)
	}
	op := svc.Operation("DescribeInstances")
	instance := map[string]any{"InstanceId": "i-0123456789abcdef0", "InstanceType": "t3.micro",
		"State": map[string]any{"Code": int64(16), "Name": "running"}}
	out := func(v any) map[string]any {
		return map[string]any{"Reservations": []any{map[string]any{"ReservationId": "r-1", "Instances": []any{v}}}}
	}
	codec := NewCodec(EC2, svc)
	plain, err := codec.EncodeOutput(op, out(instance), "req")
	if err != nil {
		t.Fatal(err)
	}
	f := Freeze(instance)
	for i := range 2 {
		got, err := codec.EncodeOutput(op, out(f), "req")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, plain.Body) {
			t.Fatalf("encoding %d of the frozen value:\n%s\nwant\n%s", i+1, got.Body, plain.Body)
		}
	}
	if len(f.enc) != 1 {
		t.Fatalf("%d kept encodings, want 1", len(f.enc))
	}
	// The kept bytes are what is written: changing them shows.
	copy(f.enc[0].bytes[len("<item><instanceId>"):], "i-9")
	got, _ := codec.EncodeOutput(op, out(f), "req")
	if !bytes.Contains(got.Body, []byte("<instanceId>i-9")) {
		t.Fatalf("the kept encoding was not used:\n%s", got.Body)
	}

	// JSON codecs see the fields.
	logs, err := model.Load("monitoring")
	if err != nil {
		t.Fatal(err)
	}
	lm := logs.Operation("DescribeAlarms")
	alarm := map[string]any{"AlarmName": "a", "StateValue": "OK"}
	j := NewCodec(JSON, logs)
	a, err := j.EncodeOutput(lm, map[string]any{"MetricAlarms": []any{alarm}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	b, err := j.EncodeOutput(lm, map[string]any{"MetricAlarms": []any{Freeze(alarm)}}, "r")
	if err != nil || !bytes.Equal(a.Body, b.Body) {
		t.Fatalf("JSON of a frozen value = %s, %v; want %s", b.Body, err, a.Body)
	}
}

// A frozen list encodes as the items it holds, in every protocol; the XML
// codecs write its kept encoding from the second time on, and keep one
// per way it is written.
func TestFrozenListEncodesAsItsItems(t *testing.T) {
	ec2, err := model.Load("ec2")
	if err != nil {
		t.Fatal(err)
	}
	elb, err := model.Load("elasticloadbalancingv2")
	if err != nil {
		t.Fatal(err)
	}
	cw, err := model.Load("monitoring")
	if err != nil {
		t.Fatal(err)
	}
	reservations := func() []any {
		return []any{
			map[string]any{"ReservationId": "r-1", "Instances": []any{Freeze(map[string]any{"InstanceId": "i-1", "InstanceType": "t3.micro"})}},
			Freeze(map[string]any{"ReservationId": "r-2", "OwnerId": "000000000000", "Groups": []any{}}),
		}
	}
	cases := []struct {
		name   string
		codec  Codec
		op     *model.Operation
		member string
		items  func() []any
		// next names the member of the next page's token (one member
		// only for CBOR, whose maps are written in no fixed order).
		next string
		xml  bool
	}{
		{"ec2", NewCodec(EC2, ec2), ec2.Operation("DescribeInstances"), "Reservations", reservations, "NextToken", true},
		{"ec2, an empty list", NewCodec(EC2, ec2), ec2.Operation("DescribeInstances"), "Reservations", func() []any { return []any{} }, "", true},
		{"query", NewCodec(Query, elb), elb.Operation("DescribeTargetGroups"), "TargetGroups",
			func() []any { return []any{map[string]any{"TargetGroupName": "web", "Port": int64(80)}} }, "NextMarker", true},
		{"json", NewCodec(JSON, cw), cw.Operation("DescribeAlarms"), "MetricAlarms",
			func() []any { return []any{map[string]any{"AlarmName": "a", "StateValue": "OK"}} }, "NextToken", false},
		{"cbor", NewCodec(CBOR, cw), cw.Operation("DescribeAlarms"), "MetricAlarms",
			func() []any { return []any{map[string]any{"AlarmName": "a"}} }, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := func(list any) map[string]any {
				m := map[string]any{c.member: list}
				if c.next != "" {
					m[c.next] = "5"
				}
				return m
			}
			plain, err := c.codec.EncodeOutput(c.op, out(c.items()), "req")
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Clone(plain.Body)
			l := FreezeList(c.items())
			for i := range 3 {
				got, err := c.codec.EncodeOutput(c.op, out(l), "req")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Body, want) {
					t.Fatalf("encoding %d of the frozen list:\n%s\nwant\n%s", i+1, got.Body, want)
				}
			}
			if !c.xml {
				if len(l.enc) != 0 {
					t.Fatalf("%d kept encodings, want none", len(l.enc))
				}
				return
			}
			if len(l.enc) != 1 {
				t.Fatalf("%d kept encodings, want 1", len(l.enc))
			}
			// The kept bytes are what is written: changing them shows.
			l.enc[0].bytes = []byte("<kept/>")
			got, _ := c.codec.EncodeOutput(c.op, map[string]any{c.member: l}, "req")
			if !bytes.Contains(got.Body, []byte("<kept/>")) {
				t.Fatalf("the kept encoding was not used:\n%s", got.Body)
			}
		})
	}
}

// A large kept encoding is spliced into the response instead of copied
// into its body: the response written, and Bytes, are still the whole
// answer, with the right length; a frozen value kept while encoding one
// around it keeps every byte, spliced ones included.
func TestLargeKeptEncodingsAreSpliced(t *testing.T) {
	svc, err := model.Load("ec2")
	if err != nil {
		t.Fatal(err)
	}
	op := svc.Operation("DescribeInstances")
	codec := NewCodec(EC2, svc)
	instances := func() []any {
		var out []any
		for i := range 2000 {
			out = append(out, map[string]any{"InstanceId": fmt.Sprintf("i-%016x", i), "InstanceType": "t3.micro"})
		}
		return out
	}
	reservation := func(instances any) []any {
		return []any{map[string]any{"ReservationId": "r-1", "Instances": instances}}
	}
	plain, err := codec.EncodeOutput(op, map[string]any{"Reservations": reservation(instances())}, "req")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(plain.Bytes())
	if len(want) < 2*minSpliced {
		t.Fatalf("the answer is %d bytes, too small to splice", len(want))
	}
	inner := FreezeList(instances())
	outer := func() map[string]any { return map[string]any{"Reservations": reservation(inner)} }
	cases := []struct {
		name    string
		out     func() map[string]any
		spliced bool
	}{
		{"first encoding, kept", outer, false},
		{"kept encoding, spliced", outer, true},
		{"spliced within a frozen list being kept", func() map[string]any {
			return map[string]any{"Reservations": FreezeList(reservation(inner))}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := codec.EncodeOutput(op, c.out(), "req")
			if err != nil {
				t.Fatal(err)
			}
			if spliced := len(got.Body) < minSpliced; spliced != c.spliced {
				t.Fatalf("body of %d bytes of %d: spliced %v, want %v", len(got.Body), got.Len(), spliced, c.spliced)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("Bytes differ from the answer encoded plainly (%d bytes, want %d)", len(got.Bytes()), len(want))
			}
			rec := httptest.NewRecorder()
			got.Write(rec)
			if !bytes.Equal(rec.Body.Bytes(), want) {
				t.Fatalf("written body differs from the answer encoded plainly (%d bytes, want %d)", rec.Body.Len(), len(want))
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				t.Fatalf("Content-Length %s, want %d", cl, len(want))
			}
		})
	}
}
