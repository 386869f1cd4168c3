package protocol_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// A written response's buffer serves the next response: what was written
// stays as it was, and every later response is whole and its own, large
// or small, in any order.
func TestResponseBuffersAreReused(t *testing.T) {
	svc, err := model.Load("ec2")
	if err != nil {
		t.Fatal(err)
	}
	op := svc.Operation("DescribeRegions")
	codec := protocol.NewCodec(protocol.EC2, svc)
	regions := func(n int) map[string]any {
		var rs []any
		for i := range n {
			rs = append(rs, map[string]any{"RegionName": fmt.Sprintf("region-%d", i), "Endpoint": "http://127.0.0.1"})
		}
		return map[string]any{"Regions": rs}
	}
	cases := []struct {
		name    string
		regions int
	}{
		{"large", 2000}, {"small", 1}, {"large again", 3000}, {"medium", 500}, {"empty", 0}, {"larger", 4000},
	}
	var written []string
	var wantWritten []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := codec.EncodeOutput(op, regions(c.regions), rid)
			if err != nil {
				t.Fatal(err)
			}
			want := string(resp.Body)
			if n := strings.Count(want, "<regionName>"); n != c.regions {
				t.Fatalf("%d regions encoded, want %d", n, c.regions)
			}
			if !strings.HasSuffix(want, "</DescribeRegionsResponse>") {
				t.Fatalf("response not whole: …%s", want[max(0, len(want)-60):])
			}
			w := httptest.NewRecorder()
			resp.Write(w)
			if got := w.Body.String(); got != want {
				t.Fatalf("written body differs from the encoded one")
			}
			if got := w.Header().Get("Content-Length"); got != fmt.Sprint(len(want)) {
				t.Fatalf("Content-Length %s, want %d", got, len(want))
			}
			written = append(written, w.Body.String())
			wantWritten = append(wantWritten, want)
			for i := range written {
				if written[i] != wantWritten[i] {
					t.Fatalf("response %d changed after later ones were encoded", i)
				}
			}
		})
	}
}
