package model_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/model/modelgen"
)

// TestEmbeddedIsGenerated checks that the embedded files are what the
// generator writes from the pinned aws-sdk-go module today.
func TestEmbeddedIsGenerated(t *testing.T) {
	dir, err := modelgen.ModuleDir()
	if err != nil {
		t.Skipf("cannot download %s@%s to compare the embedded models: %v", modelgen.Module, modelgen.Version, err)
	}
	files, err := modelgen.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range model.Names() {
		want, ok := files[name+".json.gz"]
		if !ok {
			t.Fatalf("generator wrote no file for %s", name)
		}
		got, err := model.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gunzip(t, got), gunzip(t, want)) {
			t.Errorf("embedded model %s differs from the generator's output; run go generate ./internal/awsapi/model", name)
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, service, op, input, output, wrapper, protocol string
		ops                                                 int
	}{
		{name: "ec2 trimmed", service: "ec2", op: "DescribeInstances", input: "DescribeInstancesRequest",
			output: "DescribeInstancesResult", protocol: "ec2", ops: len(modelgen.EC2Operations)},
		{name: "elbv2", service: "elasticloadbalancingv2", op: "CreateTargetGroup", input: "CreateTargetGroupInput",
			output: "CreateTargetGroupOutput", wrapper: "CreateTargetGroupResult", protocol: "query"},
		{name: "autoscaling", service: "autoscaling", op: "CreateAutoScalingGroup", input: "CreateAutoScalingGroupType", protocol: "query"},
		{name: "cloudwatch", service: "monitoring", op: "GetMetricData", input: "GetMetricDataInput",
			output: "GetMetricDataOutput", wrapper: "GetMetricDataResult", protocol: "smithy-rpc-v2-cbor"},
		{name: "logs", service: "logs", op: "PutLogEvents", input: "PutLogEventsRequest", output: "PutLogEventsResponse", protocol: "json"},
		{name: "sts", service: "sts", op: "GetCallerIdentity", input: "GetCallerIdentityRequest",
			output: "GetCallerIdentityResponse", wrapper: "GetCallerIdentityResult", protocol: "query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := model.Load(tc.service)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := model.Load(tc.service)
			if again != svc {
				t.Error("Load parsed the model twice")
			}
			if svc.Metadata.Protocol != tc.protocol {
				t.Errorf("protocol = %q, want %q", svc.Metadata.Protocol, tc.protocol)
			}
			if tc.ops != 0 && len(svc.Operations) != tc.ops {
				t.Errorf("%d operations, want %d", len(svc.Operations), tc.ops)
			}
			op := svc.Operation(tc.op)
			if op == nil {
				t.Fatalf("no operation %s", tc.op)
			}
			if op.Input == nil || op.Input.Name != tc.input {
				t.Errorf("input = %v, want %s", op.Input, tc.input)
			}
			if tc.output != "" && (op.Output == nil || op.Output.Name != tc.output) {
				t.Errorf("output = %v, want %s", op.Output, tc.output)
			}
			if op.ResultWrapper != tc.wrapper {
				t.Errorf("resultWrapper = %q, want %q", op.ResultWrapper, tc.wrapper)
			}
		})
	}
}

func TestShapes(t *testing.T) {
	ec2, err := model.Load("ec2")
	if err != nil {
		t.Fatal(err)
	}
	in := ec2.Operation("DescribeInstances").Input
	var names []string
	for _, m := range in.Members {
		names = append(names, m.Name)
	}
	if got := names[0]; got != "Filters" {
		t.Errorf("first member = %s, want Filters (declaration order)", got)
	}
	ids := in.MemberNamed("InstanceIds")
	if ids.LocationName != "InstanceId" || ids.Shape.Type != model.TypeList || ids.Shape.Member.LocationName != "InstanceId" {
		t.Errorf("InstanceIds = %+v, member %+v", ids.Ref, ids.Shape.Member)
	}
	if _, ok := ec2.Shapes["CreateVpnGatewayRequest"]; ok {
		t.Error("trimmed EC2 model keeps a shape no kept operation reaches")
	}
	run := ec2.Operation("RunInstances").Input
	if !run.MemberNamed("MaxCount").Required || run.MemberNamed("UserData").Shape.Type != model.TypeString {
		t.Errorf("RunInstances MaxCount required=%v UserData type=%s", run.MemberNamed("MaxCount").Required, run.MemberNamed("UserData").Shape.Type)
	}

	cw, _ := model.Load("monitoring")
	if !cw.Metadata.AWSQueryCompatible || cw.Metadata.TargetPrefix != "GraniteServiceVersion20100801" || cw.Metadata.JSONVersion != "1.0" {
		t.Errorf("CloudWatch metadata = %+v", cw.Metadata)
	}
	for _, p := range []string{"smithy-rpc-v2-cbor", "json", "query"} {
		if !cw.HasProtocol(p) {
			t.Errorf("CloudWatch lacks protocol %s", p)
		}
	}
	nf := cw.ErrorShape("ResourceNotFound")
	if nf == nil || nf.Name != "ResourceNotFound" || nf.Error.HTTPStatusCode != 404 || !nf.Error.SenderFault {
		t.Errorf("ErrorShape(ResourceNotFound) = %+v", nf)
	}
	if sh := cw.ErrorShape("MissingParameter"); sh == nil || sh.Name != "MissingRequiredParameterException" {
		t.Errorf("ErrorShape(MissingParameter) = %+v, want MissingRequiredParameterException", sh)
	}
	if cw.ErrorShape("NoSuchCode") != nil {
		t.Error("ErrorShape of an unknown code is not nil")
	}
	elb, _ := model.Load("elasticloadbalancingv2")
	if elb.Metadata.XMLNamespace != "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/" || elb.SigningName() != "elasticloadbalancing" {
		t.Errorf("ELBv2 namespace %q signing name %q", elb.Metadata.XMLNamespace, elb.SigningName())
	}
	logs, _ := model.Load("logs")
	stream := logs.Operation("StartLiveTail").Output.MemberNamed("responseStream").Shape
	if !stream.EventStream || !stream.MemberNamed("sessionUpdate").Shape.Event || stream.MemberNamed("SessionTimeoutException").Shape.Event ||
		!stream.MemberNamed("SessionTimeoutException").Shape.Exception {
		t.Errorf("StartLiveTail responseStream: eventstream=%v, sessionUpdate event=%v", stream.EventStream, stream.MemberNamed("sessionUpdate").Shape.Event)
	}
	if logs.Operation("FilterLogEvents").Output.EventStream {
		t.Error("FilterLogEvents' output is marked as an event stream")
	}
	if _, err := model.Load("s3"); err == nil {
		t.Error("Load(s3) succeeded")
	}
}
