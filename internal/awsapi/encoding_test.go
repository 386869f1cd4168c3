package awsapi

import (
	"bytes"
	"compress/gzip"
	"net/http/httptest"
	"strings"
	"testing"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeContent(t *testing.T) {
	tests := []struct {
		name, encoding string
		body           []byte
		limit          int64
		want, code     string
	}{
		{name: "plain", body: []byte("Action=X"), want: "Action=X"},
		{name: "identity", encoding: "identity", body: []byte("a"), want: "a"},
		{name: "gzip", encoding: "gzip", body: gz(t, "Action=PutMetricData"), want: "Action=PutMetricData"},
		{name: "gzip, any case", encoding: " GZIP", body: gz(t, "{}"), want: "{}"},
		{name: "not gzip", encoding: "gzip", body: []byte("plain"), code: "SerializationException"},
		{name: "unsupported", encoding: "br", body: []byte("x"), code: "UnsupportedMediaType"},
		{name: "bomb", encoding: "gzip", body: gz(t, strings.Repeat("a", 1000)), limit: 100, code: "RequestEntityTooLarge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			limit := tc.limit
			if limit == 0 {
				limit = DefaultMaxBodyBytes
			}
			got, pe := decodeContent(r, tc.body, limit)
			if tc.code != "" {
				if pe == nil || pe.Code != tc.code {
					t.Fatalf("error %v, want %s", pe, tc.code)
				}
				return
			}
			if pe != nil || string(got) != tc.want {
				t.Errorf("decodeContent = %q, %v; want %q", got, pe, tc.want)
			}
		})
	}
}
