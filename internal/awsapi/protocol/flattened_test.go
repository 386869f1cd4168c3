package protocol_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// flatModel is a small query service with the traits the served models
// rarely use: flattened lists and maps, renamed list members and map keys.
const flatModel = `{
 "metadata": {"apiVersion": "2020-01-01", "protocol": "query", "endpointPrefix": "example",
  "xmlNamespace": "http://example.amazonaws.com/doc/2020-01-01/"},
 "operations": {"Echo": {"name": "Echo", "input": {"shape": "EchoInput"},
  "output": {"shape": "EchoOutput", "resultWrapper": "EchoResult"}}},
 "shapes": {
  "EchoInput": {"type": "structure", "required": ["Flat"], "members": {
   "Flat": {"shape": "FlatList"},
   "Renamed": {"shape": "RenamedFlatList"},
   "Attributes": {"shape": "FlatMap", "locationName": "Attribute"},
   "Wrapped": {"shape": "WrappedList"},
   "Labels": {"shape": "NamedMap"}}},
  "EchoOutput": {"type": "structure", "members": {
   "Flat": {"shape": "FlatList"},
   "Renamed": {"shape": "RenamedFlatList"},
   "Attributes": {"shape": "FlatMap", "locationName": "Attribute"},
   "Wrapped": {"shape": "WrappedList"},
   "Labels": {"shape": "NamedMap"}}},
  "FlatList": {"type": "list", "member": {"shape": "String"}, "flattened": true},
  "RenamedFlatList": {"type": "list", "member": {"shape": "String", "locationName": "Item"}, "flattened": true},
  "WrappedList": {"type": "list", "member": {"shape": "String", "locationName": "Entry"}},
  "FlatMap": {"type": "map", "key": {"shape": "String", "locationName": "Name"},
   "value": {"shape": "String", "locationName": "Value"}, "flattened": true},
  "NamedMap": {"type": "map", "key": {"shape": "String", "locationName": "K"}, "value": {"shape": "String", "locationName": "V"}},
  "String": {"type": "string"}
 }
}`

func TestFlattened(t *testing.T) {
	svc, err := model.FromAPI2("example", []byte(flatModel))
	if err != nil {
		t.Fatal(err)
	}
	op := svc.Operation("Echo")
	codec := protocol.NewCodec(protocol.Query, svc)
	r := queryRequest(form("Action", "Echo", "Version", "2020-01-01",
		"Flat.1", "a", "Flat.2", "b", "Item.1", "x",
		"Attribute.1.Name", "color", "Attribute.1.Value", "red",
		"Wrapped.Entry.1", "w1", "Labels.entry.1.K", "k1", "Labels.entry.1.V", "v1"))
	req, err := protocol.Detect(r, readBody(t, r))
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeInput(op, req)
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.Struct{
		"Flat": []any{"a", "b"}, "Renamed": []any{"x"}, "Attributes": map[string]any{"color": "red"},
		"Wrapped": []any{"w1"}, "Labels": map[string]any{"k1": "v1"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}

	r = queryRequest(form("Action", "Echo", "Version", "2020-01-01", "Item.1", "x"))
	req, _ = protocol.Detect(r, readBody(t, r))
	if _, err := codec.DecodeInput(op, req); err == nil || !strings.Contains(err.Error(), "Value null at 'flat'") {
		t.Errorf("missing flattened list: error = %v", err)
	}

	resp, err := codec.EncodeOutput(op, map[string]any(want), rid)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(string(resp.Body), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	wantXML := `<EchoResponse xmlns="http://example.amazonaws.com/doc/2020-01-01/"><EchoResult>` +
		`<Flat>a</Flat><Flat>b</Flat><Item>x</Item><Attribute><Name>color</Name><Value>red</Value></Attribute>` +
		`<Wrapped><Entry>w1</Entry></Wrapped><Labels><entry><K>k1</K><V>v1</V></entry></Labels>` +
		`</EchoResult><ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></EchoResponse>`
	if body != wantXML || resp.Status != http.StatusOK {
		t.Errorf("body\n got %s\nwant %s", body, wantXML)
	}
}
