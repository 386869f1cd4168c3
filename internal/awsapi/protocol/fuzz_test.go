package protocol_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// fuzzDecode checks that any request either decodes or fails with a
// *protocol.Error, never a panic or another error.
func fuzzDecode(t *testing.T, service string, r *http.Request, body []byte) {
	svc := load(t, service)
	req, err := protocol.Detect(r, body)
	var pe *protocol.Error
	if err != nil {
		if !errors.As(err, &pe) {
			t.Fatalf("Detect error %T: %v", err, err)
		}
		return
	}
	p := req.Protocol
	if p == protocol.Query && svc.HasProtocol("ec2") {
		p = protocol.EC2
	}
	op := svc.Operation(req.Operation)
	if op == nil {
		return
	}
	if _, err := protocol.NewCodec(p, svc).DecodeInput(op, req); err != nil && !errors.As(err, &pe) {
		t.Fatalf("DecodeInput error %T: %v", err, err)
	}
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add("ec2", "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=a&Filter.1.Value.1=b&InstanceId.1=i-1")
	f.Add("ec2", "Action=RunInstances&Version=2016-11-15&MinCount=1&MaxCount=x&TagSpecification.1.Tag.1.Key=k")
	f.Add("elasticloadbalancingv2", "Action=CreateRule&Version=2015-12-01&Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=k")
	f.Add("monitoring", "Action=PutMetricData&Version=2010-08-01&MetricData.member.1.Values.member.1=1.5&MetricData.member.1.Timestamp=abc")
	f.Fuzz(func(t *testing.T, service, form string) {
		switch service {
		case "ec2", "elasticloadbalancingv2", "autoscaling", "monitoring", "sts":
		default:
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		fuzzDecode(t, service, r, []byte(form))
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add("Logs_20140328.PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}`)
	f.Add("GraniteServiceVersion20100801.PutMetricData", `{"Namespace":"n","MetricData":[{"MetricName":"m","Timestamp":"abc","Values":[1,"x"]}]}`)
	f.Add("Logs_20140328.FilterLogEvents", `{"limit":1e400}`)
	f.Fuzz(func(t *testing.T, target, body string) {
		service := "logs"
		if strings.HasPrefix(target, "Granite") {
			service = "monitoring"
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", target)
		fuzzDecode(t, service, r, []byte(body))
	})
}

func FuzzDecodeCBOR(f *testing.F) {
	f.Add("PutMetricData", []byte("\xa2iNamespacecAppjMetricData\x81\xa2jMetricNamecLatiTimestamp\xc1\x1a\x66\x32\x2e\x00"))
	f.Add("GetMetricData", []byte("\xbf\x61"))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/service/GraniteServiceVersion20100801/operation/"+url.PathEscape(op), strings.NewReader(string(body)))
		r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		fuzzDecode(t, "monitoring", r, body)
	})
}
