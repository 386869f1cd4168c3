package protocol_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

func load(t testing.TB, name string) *model.Service {
	t.Helper()
	m, err := model.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func queryRequest(form string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

func jsonRequest(target, version, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-"+version)
	r.Header.Set("X-Amz-Target", target)
	return r
}

func cborRequest(t testing.TB, service, op string, doc any) *http.Request {
	t.Helper()
	body, err := cbor.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/service/"+service+"/operation/"+op, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/cbor")
	r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	return r
}

// form joins key=value pairs, escaping values.
func form(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

func readBody(t testing.TB, r *http.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		service  string
		proto    protocol.Protocol
		req      func(t testing.TB) *http.Request
		wantOp   string
		want     protocol.Struct
		wantCode string
		wantMsg  string
	}{
		{
			name: "ec2 DescribeInstances filters and InstanceId.N", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "DescribeInstances", "Version", "2016-11-15",
					"InstanceId.1", "i-1", "InstanceId.2", "i-2", "Filter.1.Name", "tag:Name",
					"Filter.1.Value.1", "web", "Filter.1.Value.2", "api", "Filter.2.Name", "instance-state-name",
					"Filter.2.Value.1", "running", "MaxResults", "10", "DryRun", "false", "NoSuchParam", "ignored"))
			},
			wantOp: "DescribeInstances",
			want: protocol.Struct{
				"InstanceIds": []any{"i-1", "i-2"},
				"Filters": []any{
					map[string]any{"Name": "tag:Name", "Values": []any{"web", "api"}},
					map[string]any{"Name": "instance-state-name", "Values": []any{"running"}},
				},
				"MaxResults": int64(10), "DryRun": false,
			},
		},
		{
			name: "ec2 indexes in numeric order, gaps allowed", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "TerminateInstances", "Version", "2016-11-15",
					"InstanceId.10", "i-10", "InstanceId.2", "i-2", "InstanceId.1", "i-1"))
			},
			wantOp: "TerminateInstances",
			want:   protocol.Struct{"InstanceIds": []any{"i-1", "i-2", "i-10"}},
		},
		{
			name: "ec2 RunInstances TagSpecification, LaunchTemplate and UserData", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "RunInstances", "Version", "2016-11-15",
					"ImageId", "ami-0web", "MinCount", "1", "MaxCount", "2", "InstanceType", "t3.micro",
					"UserData", "IyEvYmluL3NoCmVjaG8gaGk=",
					"LaunchTemplate.LaunchTemplateName", "web", "LaunchTemplate.Version", "$Latest",
					"TagSpecification.1.ResourceType", "instance",
					"TagSpecification.1.Tag.1.Key", "Name", "TagSpecification.1.Tag.1.Value", "web",
					"TagSpecification.1.Tag.2.Key", "env", "TagSpecification.1.Tag.2.Value", "dev"))
			},
			wantOp: "RunInstances",
			want: protocol.Struct{
				"ImageId": "ami-0web", "MinCount": int64(1), "MaxCount": int64(2), "InstanceType": "t3.micro",
				"UserData":       "IyEvYmluL3NoCmVjaG8gaGk=",
				"LaunchTemplate": map[string]any{"LaunchTemplateName": "web", "Version": "$Latest"},
				"TagSpecifications": []any{map[string]any{"ResourceType": "instance", "Tags": []any{
					map[string]any{"Key": "Name", "Value": "web"}, map[string]any{"Key": "env", "Value": "dev"},
				}}},
			},
		},
		{
			name: "ec2 missing parameter", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "RunInstances", "Version", "2016-11-15", "ImageId", "ami-1", "MinCount", "1"))
			},
			wantCode: "MissingParameter", wantMsg: "The request must contain the parameter MaxCount",
		},
		{
			name: "ec2 string for an integer", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "RunInstances", "Version", "2016-11-15", "MinCount", "1", "MaxCount", "two"))
			},
			wantCode: "InvalidParameterValue", wantMsg: "Value (two) for parameter MaxCount is invalid. Expected an integer.",
		},
		{
			name: "ec2 nested wrong type names the parameter", service: "ec2", proto: protocol.EC2,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "DescribeInstanceStatus", "Version", "2016-11-15", "IncludeAllInstances", "maybe"))
			},
			wantCode: "InvalidParameterValue", wantMsg: "parameter IncludeAllInstances",
		},
		{
			name: "elbv2 CreateTargetGroup", service: "elasticloadbalancingv2", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "CreateTargetGroup", "Version", "2015-12-01", "Name", "web",
					"Protocol", "HTTP", "Port", "80", "VpcId", "vpc-1", "HealthCheckPath", "/health",
					"HealthCheckIntervalSeconds", "5", "Matcher.HttpCode", "200-299", "TargetType", "instance",
					"Tags.member.1.Key", "team", "Tags.member.1.Value", "web"))
			},
			wantOp: "CreateTargetGroup",
			want: protocol.Struct{
				"Name": "web", "Protocol": "HTTP", "Port": int64(80), "VpcId": "vpc-1", "HealthCheckPath": "/health",
				"HealthCheckIntervalSeconds": int64(5), "Matcher": map[string]any{"HttpCode": "200-299"}, "TargetType": "instance",
				"Tags": []any{map[string]any{"Key": "team", "Value": "web"}},
			},
		},
		{
			name: "elbv2 RegisterTargets Targets.member.N", service: "elasticloadbalancingv2", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "RegisterTargets", "Version", "2015-12-01", "TargetGroupArn", "arn:tg",
					"Targets.member.1.Id", "i-1", "Targets.member.1.Port", "3000", "Targets.member.2.Id", "i-2"))
			},
			wantOp: "RegisterTargets",
			want: protocol.Struct{"TargetGroupArn": "arn:tg", "Targets": []any{
				map[string]any{"Id": "i-1", "Port": int64(3000)}, map[string]any{"Id": "i-2"},
			}},
		},
		{
			name: "elbv2 CreateRule conditions, forward and oidc actions with a map", service: "elasticloadbalancingv2", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "CreateRule", "Version", "2015-12-01", "ListenerArn", "arn:l", "Priority", "10",
					"Conditions.member.1.Field", "path-pattern", "Conditions.member.1.PathPatternConfig.Values.member.1", "/api/*",
					"Actions.member.1.Type", "authenticate-oidc", "Actions.member.1.Order", "1",
					"Actions.member.1.AuthenticateOidcConfig.Issuer", "https://idp", "Actions.member.1.AuthenticateOidcConfig.AuthorizationEndpoint", "https://idp/a",
					"Actions.member.1.AuthenticateOidcConfig.TokenEndpoint", "https://idp/t", "Actions.member.1.AuthenticateOidcConfig.UserInfoEndpoint", "https://idp/u",
					"Actions.member.1.AuthenticateOidcConfig.ClientId", "c",
					"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key", "prompt",
					"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value", "login",
					"Actions.member.2.Type", "forward", "Actions.member.2.Order", "2",
					"Actions.member.2.ForwardConfig.TargetGroups.member.1.TargetGroupArn", "arn:tg1",
					"Actions.member.2.ForwardConfig.TargetGroups.member.1.Weight", "3"))
			},
			wantOp: "CreateRule",
			want: protocol.Struct{
				"ListenerArn": "arn:l", "Priority": int64(10),
				"Conditions": []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/api/*"}}}},
				"Actions": []any{
					map[string]any{"Type": "authenticate-oidc", "Order": int64(1), "AuthenticateOidcConfig": map[string]any{
						"Issuer": "https://idp", "AuthorizationEndpoint": "https://idp/a", "TokenEndpoint": "https://idp/t",
						"UserInfoEndpoint": "https://idp/u", "ClientId": "c",
						"AuthenticationRequestExtraParams": map[string]any{"prompt": "login"},
					}},
					map[string]any{"Type": "forward", "Order": int64(2), "ForwardConfig": map[string]any{
						"TargetGroups": []any{map[string]any{"TargetGroupArn": "arn:tg1", "Weight": int64(3)}},
					}},
				},
			},
		},
		{
			name: "elbv2 missing required members", service: "elasticloadbalancingv2", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "RegisterTargets", "Version", "2015-12-01", "Targets.member.1.Port", "80"))
			},
			wantCode: "ValidationError",
			wantMsg:  "2 validation errors detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null; Value null at 'targets.1.member.id' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "elbv2 enum", service: "elasticloadbalancingv2", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "CreateTargetGroup", "Version", "2015-12-01", "Name", "web", "Protocol", "FTP"))
			},
			wantCode: "ValidationError",
			wantMsg:  "1 validation error detected: Value 'FTP' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE]",
		},
		{
			name: "autoscaling CreateAutoScalingGroup tags and launch template", service: "autoscaling", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "CreateAutoScalingGroup", "Version", "2011-01-01",
					"AutoScalingGroupName", "web", "MinSize", "2", "MaxSize", "6", "DesiredCapacity", "2",
					"LaunchTemplate.LaunchTemplateName", "web", "LaunchTemplate.Version", "$Latest",
					"AvailabilityZones.member.1", "local-1a", "AvailabilityZones.member.2", "local-1b",
					"TargetGroupARNs.member.1", "arn:tg", "HealthCheckType", "ELB", "NewInstancesProtectedFromScaleIn", "true",
					"Tags.member.1.Key", "team", "Tags.member.1.Value", "web", "Tags.member.1.PropagateAtLaunch", "true"))
			},
			wantOp: "CreateAutoScalingGroup",
			want: protocol.Struct{
				"AutoScalingGroupName": "web", "MinSize": int64(2), "MaxSize": int64(6), "DesiredCapacity": int64(2),
				"LaunchTemplate":    map[string]any{"LaunchTemplateName": "web", "Version": "$Latest"},
				"AvailabilityZones": []any{"local-1a", "local-1b"}, "TargetGroupARNs": []any{"arn:tg"},
				"HealthCheckType": "ELB", "NewInstancesProtectedFromScaleIn": true,
				"Tags": []any{map[string]any{"Key": "team", "Value": "web", "PropagateAtLaunch": true}},
			},
		},
		{
			name: "autoscaling string for an integer", service: "autoscaling", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "CreateAutoScalingGroup", "Version", "2011-01-01",
					"AutoScalingGroupName", "web", "MinSize", "two", "MaxSize", "6"))
			},
			wantCode: "ValidationError",
			wantMsg:  "1 validation error detected: Value 'two' at 'minSize' failed to satisfy constraint: Member must be an integer",
		},
		{
			name: "cloudwatch PutMetricData query", service: "monitoring", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "PutMetricData", "Version", "2010-08-01", "Namespace", "App",
					"MetricData.member.1.MetricName", "Latency", "MetricData.member.1.Unit", "Milliseconds",
					"MetricData.member.1.Timestamp", "2024-05-01T12:00:00.000Z",
					"MetricData.member.1.Dimensions.member.1.Name", "Route", "MetricData.member.1.Dimensions.member.1.Value", "/",
					"MetricData.member.1.Values.member.1", "1.5", "MetricData.member.1.Values.member.2", "20",
					"MetricData.member.1.Counts.member.1", "3", "MetricData.member.1.Counts.member.2", "1",
					"MetricData.member.1.StorageResolution", "1"))
			},
			wantOp: "PutMetricData",
			want: protocol.Struct{"Namespace": "App", "MetricData": []any{map[string]any{
				"MetricName": "Latency", "Unit": "Milliseconds", "Timestamp": t0, "StorageResolution": int64(1),
				"Dimensions": []any{map[string]any{"Name": "Route", "Value": "/"}},
				"Values":     []any{1.5, 20.0}, "Counts": []any{3.0, 1.0},
			}}},
		},
		{
			name: "cloudwatch query missing parameter is MissingParameter", service: "monitoring", proto: protocol.Query,
			req: func(testing.TB) *http.Request {
				return queryRequest(form("Action", "PutMetricData", "Version", "2010-08-01", "MetricData.member.1.MetricName", "x"))
			},
			wantCode: "MissingRequiredParameterException", wantMsg: "The parameter Namespace is required.",
		},
		{
			name: "cloudwatch PutMetricData JSON 1.0", service: "monitoring", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("GraniteServiceVersion20100801.PutMetricData", "1.0", `{"Namespace":"App","MetricData":[
					{"MetricName":"Latency","Timestamp":1714564800,"Dimensions":[{"Name":"Route","Value":"/"}],
					 "Values":[1.5,20],"Counts":[3,1],"Unit":"Milliseconds","Unknown":true}]}`)
			},
			wantOp: "PutMetricData",
			want: protocol.Struct{"Namespace": "App", "MetricData": []any{map[string]any{
				"MetricName": "Latency", "Unit": "Milliseconds", "Timestamp": t0,
				"Dimensions": []any{map[string]any{"Name": "Route", "Value": "/"}},
				"Values":     []any{1.5, 20.0}, "Counts": []any{3.0, 1.0},
			}}},
		},
		{
			name: "cloudwatch JSON timestamp abc", service: "monitoring", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("GraniteServiceVersion20100801.PutMetricData", "1.0", `{"Namespace":"App","MetricData":[{"MetricName":"x","Timestamp":"abc"}]}`)
			},
			wantCode: "InvalidParameterValueException", wantMsg: "The value abc for parameter MetricData.1.Timestamp is not valid. Expected a timestamp",
		},
		{
			name: "cloudwatch PutMetricData CBOR", service: "monitoring", proto: protocol.CBOR,
			req: func(t testing.TB) *http.Request {
				return cborRequest(t, "GraniteServiceVersion20100801", "PutMetricData", map[string]any{
					"Namespace": "App", "MetricData": []any{map[string]any{
						"MetricName": "Latency", "Timestamp": cbor.Tag{Number: 1, Content: 1714564800.5},
						"Dimensions": []any{map[string]any{"Name": "Route", "Value": "/"}},
						"Values":     []any{1.5, float32(20)}, "Counts": []any{3, 1}, "StorageResolution": uint64(1),
					}},
				})
			},
			wantOp: "PutMetricData",
			want: protocol.Struct{"Namespace": "App", "MetricData": []any{map[string]any{
				"MetricName": "Latency", "Timestamp": t0.Add(500 * time.Millisecond), "StorageResolution": int64(1),
				"Dimensions": []any{map[string]any{"Name": "Route", "Value": "/"}},
				"Values":     []any{1.5, 20.0}, "Counts": []any{3.0, 1.0},
			}}},
		},
		{
			name: "cloudwatch CBOR string for a double", service: "monitoring", proto: protocol.CBOR,
			req: func(t testing.TB) *http.Request {
				return cborRequest(t, "GraniteServiceVersion20100801", "PutMetricData", map[string]any{
					"Namespace": "App", "MetricData": []any{map[string]any{"MetricName": "x", "Value": "high"}},
				})
			},
			wantCode: "InvalidParameterValueException", wantMsg: "parameter MetricData.1.Value",
		},
		{
			name: "logs PutLogEvents JSON 1.1", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.PutLogEvents", "1.1", `{"logGroupName":"/madang/web","logStreamName":"i-1",
					"logEvents":[{"timestamp":1714564800000,"message":"GET / 200"},{"timestamp":1714564800001,"message":"done"}]}`)
			},
			wantOp: "PutLogEvents",
			want: protocol.Struct{"logGroupName": "/madang/web", "logStreamName": "i-1", "logEvents": []any{
				map[string]any{"timestamp": int64(1714564800000), "message": "GET / 200"},
				map[string]any{"timestamp": int64(1714564800001), "message": "done"},
			}},
		},
		{
			name: "logs missing member", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.PutLogEvents", "1.1", `{"logStreamName":"i-1","logEvents":[{"message":"x"}]}`)
			},
			wantCode: "ValidationException",
			wantMsg:  "2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; Value null at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "logs string for an integer", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.FilterLogEvents", "1.1", `{"logGroupName":"/g","limit":"ten"}`)
			},
			wantCode: "SerializationException", wantMsg: "Value 'ten' at 'limit' cannot be read: expected an integer",
		},
		{
			name: "logs min length", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.CreateLogGroup", "1.1", `{"logGroupName":""}`)
			},
			wantCode: "ValidationException",
			wantMsg:  "1 validation error detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "bad JSON", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.PutLogEvents", "1.1", `{"logGroupName":`)
			},
			wantCode: "SerializationException", wantMsg: "not valid JSON",
		},
		{
			name: "JSON array body", service: "logs", proto: protocol.JSON,
			req: func(testing.TB) *http.Request {
				return jsonRequest("Logs_20140328.PutLogEvents", "1.1", `[1]`)
			},
			wantCode: "SerializationException", wantMsg: "must be a JSON object, got an array",
		},
		{
			name: "bad CBOR", service: "monitoring", proto: protocol.CBOR,
			req: func(testing.TB) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/service/GraniteServiceVersion20100801/operation/ListMetrics", strings.NewReader("\xbf\x61"))
				r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
				return r
			},
			wantCode: "SerializationException", wantMsg: "not valid CBOR",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := load(t, tc.service)
			r := tc.req(t)
			body := readBody(t, r)
			req, err := protocol.Detect(r, body)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			p := req.Protocol
			if p == protocol.Query && svc.HasProtocol("ec2") {
				p = protocol.EC2
			}
			if p != tc.proto {
				t.Fatalf("protocol = %s, want %s", p, tc.proto)
			}
			op := svc.Operation(req.Operation)
			if op == nil {
				t.Fatalf("no operation %q", req.Operation)
			}
			got, err := protocol.NewCodec(p, svc).DecodeInput(op, req)
			if tc.wantCode != "" {
				pe, ok := err.(*protocol.Error)
				if !ok {
					t.Fatalf("error = %v (%T), want *protocol.Error %s; input %v", err, err, tc.wantCode, got)
				}
				if pe.Code != tc.wantCode || !strings.Contains(pe.Message, tc.wantMsg) {
					t.Errorf("error = %s: %s\nwant    %s: …%s…", pe.Code, pe.Message, tc.wantCode, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Operation != tc.wantOp {
				t.Errorf("operation = %s, want %s", req.Operation, tc.wantOp)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("input (-want +got):\n%s", d)
			}
		})
	}
}
