package protocol_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

const rid = "3f1c2c1e-0000-4000-8000-000000000042"

type state string

func TestEncodeXML(t *testing.T) {
	tests := []struct {
		name, service, op string
		proto             protocol.Protocol
		out               map[string]any
		want              string
	}{
		{
			name: "ec2 lists are item elements, names lowerCamel", service: "ec2", op: "StopInstances", proto: protocol.EC2,
			out: map[string]any{"StoppingInstances": []map[string]any{{
				"InstanceId":    "i-1",
				"CurrentState":  map[string]any{"Code": 64, "Name": state("stopping")},
				"PreviousState": map[string]any{"Code": int32(16), "Name": "running"},
			}}},
			want: `<StopInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>` + rid + `</requestId>` +
				`<instancesSet><item><currentState><code>64</code><name>stopping</name></currentState><instanceId>i-1</instanceId>` +
				`<previousState><code>16</code><name>running</name></previousState></item></instancesSet></StopInstancesResponse>`,
		},
		{
			name: "ec2 timestamps and booleans", service: "ec2", op: "CreateKeyPair", proto: protocol.EC2,
			out: map[string]any{"KeyName": "dev", "KeyPairId": "key-1", "KeyFingerprint": "ab:cd", "KeyMaterial": "<pem & co>"},
			want: `<CreateKeyPairResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>` + rid + `</requestId>` +
				`<keyFingerprint>ab:cd</keyFingerprint><keyMaterial>&lt;pem &amp; co&gt;</keyMaterial><keyName>dev</keyName><keyPairId>key-1</keyPairId></CreateKeyPairResponse>`,
		},
		{
			name: "query result wrapper, member lists, metadata", service: "elasticloadbalancingv2", op: "DescribeTargetGroups", proto: protocol.Query,
			out: map[string]any{"TargetGroups": []map[string]any{{
				"TargetGroupName": "web", "Port": 80, "LoadBalancerArns": []string{"arn:lb"}, "HealthCheckEnabled": true,
			}}, "NextMarker": "m2"},
			want: `<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult>` +
				`<TargetGroups><member><TargetGroupName>web</TargetGroupName><Port>80</Port><HealthCheckEnabled>true</HealthCheckEnabled>` +
				`<LoadBalancerArns><member>arn:lb</member></LoadBalancerArns></member></TargetGroups><NextMarker>m2</NextMarker>` +
				`</DescribeTargetGroupsResult><ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>`,
		},
		{
			name: "query operation without output", service: "autoscaling", op: "UpdateAutoScalingGroup", proto: protocol.Query,
			want: `<UpdateAutoScalingGroupResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
				`<ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></UpdateAutoScalingGroupResponse>`,
		},
		{
			name: "query maps, timestamps, doubles", service: "monitoring", op: "GetMetricStatistics", proto: protocol.Query,
			out: map[string]any{"Label": "Latency", "Datapoints": []any{map[string]any{
				"Timestamp": time.Date(2024, 5, 1, 12, 0, 0, 250e6, time.UTC), "Average": 1.5, "Unit": "Milliseconds",
				"ExtendedStatistics": map[string]float64{"p99": 9.75, "p50": 2},
			}}},
			want: `<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult>` +
				`<Label>Latency</Label><Datapoints><member><Timestamp>2024-05-01T12:00:00.250Z</Timestamp><Average>1.5</Average>` +
				`<Unit>Milliseconds</Unit><ExtendedStatistics><entry><key>p50</key><value>2</value></entry>` +
				`<entry><key>p99</key><value>9.75</value></entry></ExtendedStatistics></member></Datapoints>` +
				`</GetMetricStatisticsResult><ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></GetMetricStatisticsResponse>`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := load(t, tc.service)
			resp, err := protocol.NewCodec(tc.proto, svc).EncodeOutput(svc.Operation(tc.op), tc.out, rid)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimPrefix(string(resp.Body), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
			if got != tc.want {
				t.Errorf("body\n got %s\nwant %s", got, tc.want)
			}
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "text/xml" || resp.Header.Get("X-Amzn-Requestid") != rid {
				t.Errorf("status %d, header %v", resp.Status, resp.Header)
			}
		})
	}
}

func TestEncodeDocuments(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 0, 0, 500e6, time.UTC)
	out := map[string]any{"MetricDataResults": []any{map[string]any{
		"Id": "m1", "Timestamps": []time.Time{ts}, "Values": []float64{math.Inf(1)}, "StatusCode": "Complete",
	}}}
	svc := load(t, "monitoring")
	op := svc.Operation("GetMetricData")

	resp, err := protocol.NewCodec(protocol.JSON, svc).EncodeOutput(op, out, rid)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"MetricDataResults":[{"Id":"m1","StatusCode":"Complete","Timestamps":[1714564800.5],"Values":["Infinity"]}]}`; string(resp.Body) != want {
		t.Errorf("JSON body\n got %s\nwant %s", resp.Body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Errorf("JSON Content-Type = %q", ct)
	}

	resp, err = protocol.NewCodec(protocol.CBOR, svc).EncodeOutput(op, out, rid)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := cbor.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	res := doc["MetricDataResults"].([]any)[0].(map[any]any)
	if got, ok := res["Timestamps"].([]any)[0].(time.Time); !ok || !got.Equal(ts) {
		t.Errorf("CBOR timestamp = %#v, want %v", res["Timestamps"], ts)
	}
	// tag 1 (0xc1) followed by a float64 (0xfb) of epoch seconds
	if tagged := []byte{0xc1, 0xfb, 0x41, 0xd9, 0x8c, 0x8b, 0xb0, 0x20, 0x00, 0x00}; !bytes.Contains(resp.Body, tagged) {
		t.Errorf("CBOR body % x lacks tag 1 with 1714564800.5", resp.Body)
	}
	if v := res["Values"].([]any)[0]; v != math.Inf(1) {
		t.Errorf("CBOR value = %v", v)
	}
	if resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || resp.Header.Get("Content-Type") != "application/cbor" {
		t.Errorf("CBOR headers %v", resp.Header)
	}

	logs := load(t, "logs")
	resp, err = protocol.NewCodec(protocol.JSON, logs).EncodeOutput(logs.Operation("GetLogEvents"), map[string]any{
		"events": []map[string]any{{"timestamp": 1, "message": "m"}}, "nextForwardToken": "f/1",
	}, rid)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(resp.Body, &got)
	want := map[string]any{"events": []any{map[string]any{"timestamp": 1.0, "message": "m"}}, "nextForwardToken": "f/1"}
	if d := cmp.Diff(want, got); d != "" || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("logs JSON (-want +got):\n%s\n%v", d, resp.Header)
	}
}

func TestEncodeRejectsHandlerBugs(t *testing.T) {
	tests := []struct {
		name, service, op string
		proto             protocol.Protocol
		out               map[string]any
		wantErr           string
	}{
		{name: "unknown top-level member", service: "ec2", op: "DescribeInstances", proto: protocol.EC2,
			out: map[string]any{"Reservations": []any{}, "Bogus": 1}, wantErr: "shape DescribeInstancesResult has no member Bogus"},
		{name: "unknown nested member", service: "elasticloadbalancingv2", op: "DescribeTargetHealth", proto: protocol.Query,
			out:     map[string]any{"TargetHealthDescriptions": []any{map[string]any{"Target": map[string]any{"Id": "i", "Zone": "a"}}}},
			wantErr: "output member DescribeTargetHealth.TargetHealthDescriptions.1.Target: shape TargetDescription has no member Zone"},
		{name: "wrong scalar type", service: "monitoring", op: "GetMetricData", proto: protocol.JSON,
			out:     map[string]any{"MetricDataResults": []any{map[string]any{"Timestamps": []any{"yesterday"}}}},
			wantErr: "output member GetMetricData.MetricDataResults.1.Timestamps.1: shape Timestamp (timestamp) wants a time.Time, got string"},
		{name: "list given a scalar", service: "monitoring", op: "GetMetricData", proto: protocol.CBOR,
			out: map[string]any{"Messages": "none"}, wantErr: "output member GetMetricData.Messages"},
		{name: "output for an operation without one", service: "autoscaling", op: "DeleteTags", proto: protocol.Query,
			out: map[string]any{"Tags": []any{}}, wantErr: "the operation has no output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := load(t, tc.service)
			_, err := protocol.NewCodec(tc.proto, svc).EncodeOutput(svc.Operation(tc.op), tc.out, rid)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		name, service string
		proto         protocol.Protocol
		err           *protocol.Error
		queryMode     bool
		wantStatus    int
		wantBody      string
		wantQueryErr  string
	}{
		{name: "ec2", service: "ec2", proto: protocol.EC2, err: protocol.Errorf("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"),
			wantStatus: 400, wantBody: `<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &#39;i-1&#39; does not exist</Message></Error></Errors><RequestID>` + rid + `</RequestID></Response>`},
		{name: "query modelled error by code", service: "elasticloadbalancingv2", proto: protocol.Query, err: protocol.Errorf("TargetGroupNotFound", "nope"),
			wantStatus: 400, wantBody: `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>nope</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{name: "query modelled error by shape name takes the model's status", service: "monitoring", proto: protocol.Query, err: protocol.Errorf("DashboardNotFoundError", "gone"),
			wantStatus: 404, wantBody: `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>ResourceNotFound</Code><Message>gone</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{name: "query receiver fault", service: "autoscaling", proto: protocol.Query, err: protocol.InternalError("disk full"),
			wantStatus: 500, wantBody: `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>disk full</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{name: "json query-compatible with query mode", service: "monitoring", proto: protocol.JSON, err: protocol.Errorf("ResourceNotFound", "no alarm"), queryMode: true,
			wantStatus: 404, wantBody: `{"__type":"ResourceNotFound","message":"no alarm"}`, wantQueryErr: "ResourceNotFound;Sender"},
		{name: "json query-compatible legacy code from shape name", service: "monitoring", proto: protocol.JSON, err: protocol.Errorf("InvalidParameterValueException", "bad"), queryMode: true,
			wantStatus: 400, wantBody: `{"__type":"InvalidParameterValueException","message":"bad"}`, wantQueryErr: "InvalidParameterValue;Sender"},
		{name: "json without query mode has no query error header", service: "monitoring", proto: protocol.JSON, err: protocol.Errorf("ResourceNotFound", "no alarm"),
			wantStatus: 404, wantBody: `{"__type":"ResourceNotFound","message":"no alarm"}`},
		{name: "json unmodelled", service: "logs", proto: protocol.JSON, err: protocol.Errorf("ValidationException", "1 validation error detected"),
			wantStatus: 400, wantBody: `{"__type":"ValidationException","message":"1 validation error detected"}`},
		{name: "json modelled 5xx", service: "logs", proto: protocol.JSON, err: protocol.Errorf("ServiceUnavailableException", "busy"),
			wantStatus: 500, wantBody: `{"__type":"ServiceUnavailableException","message":"busy"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := load(t, tc.service)
			resp := protocol.NewCodec(tc.proto, svc).EncodeError(tc.err, &protocol.Request{QueryMode: tc.queryMode}, rid)
			got := strings.TrimPrefix(string(resp.Body), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
			if resp.Status != tc.wantStatus || got != tc.wantBody {
				t.Errorf("got %d %s\nwant %d %s", resp.Status, got, tc.wantStatus, tc.wantBody)
			}
			if q := resp.Header.Get("X-Amzn-Query-Error"); q != tc.wantQueryErr {
				t.Errorf("x-amzn-query-error = %q, want %q", q, tc.wantQueryErr)
			}
		})
	}
	svc := load(t, "monitoring")
	resp := protocol.NewCodec(protocol.CBOR, svc).EncodeError(protocol.Errorf("ResourceNotFound", "x"), &protocol.Request{QueryMode: true}, rid)
	var doc map[string]string
	if err := cbor.Unmarshal(resp.Body, &doc); err != nil || doc["__type"] != "ResourceNotFound" || doc["message"] != "x" || resp.Status != 404 {
		t.Errorf("CBOR error %d %v (%v)", resp.Status, doc, err)
	}
	if resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || resp.Header.Get("X-Amzn-Query-Error") != "ResourceNotFound;Sender" {
		t.Errorf("CBOR error headers %v", resp.Header)
	}
}
