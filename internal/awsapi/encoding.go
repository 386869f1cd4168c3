package awsapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// maxInflation bounds a compressed body's decoded size, as a multiple of
// the endpoint's largest body.
const maxInflation = 8

// decodeContent undoes the request's Content-Encoding: the SDKs and the
// CLI gzip large bodies of operations with AWS's request compression
// (CloudWatch's PutMetricData). The signature covers the encoded bytes,
// so only decoding happens here; identity bodies come back unchanged.
func decodeContent(r *http.Request, raw []byte, limit int64) ([]byte, *protocol.Error) {
	enc := strings.TrimSpace(strings.ToLower(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity", "aws-chunked":
		return raw, nil
	case "gzip":
	default:
		return nil, &protocol.Error{Code: "UnsupportedMediaType", Message: fmt.Sprintf("Content-Encoding %q is not supported; send the body plain or gzip-compressed", enc), Status: http.StatusUnsupportedMediaType, Sender: true}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, protocol.Errorf("SerializationException", "the request body is not valid gzip: %v", err)
	}
	max := limit * maxInflation
	body, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, protocol.Errorf("SerializationException", "the request body is not valid gzip: %v", err)
	}
	if int64(len(body)) > max {
		return nil, &protocol.Error{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("the decompressed request body is larger than %d bytes", max), Status: http.StatusRequestEntityTooLarge, Sender: true}
	}
	return body, nil
}
