package protocol

import (
	"bytes"
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
