package awsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi"
)

// instances builds a DescribeInstances output of n instances in one
// reservation each, with the members madang fills in.
func instances(n int) map[string]any {
	res := make([]map[string]any, n)
	for i := range res {
		res[i] = map[string]any{
			"ReservationId": fmt.Sprintf("r-%017x", i), "OwnerId": testAccount,
			"Instances": []map[string]any{{
				"InstanceId": fmt.Sprintf("i-%017x", i), "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro",
				"LaunchTime": launch, "State": map[string]any{"Code": 16, "Name": "running"},
				"Placement":        map[string]any{"AvailabilityZone": "local-1a", "Tenancy": "default"},
				"PrivateIpAddress": fmt.Sprintf("127.16.%d.%d", i/250, i%250+2), "PrivateDnsName": "ip-127-16-0-2.local",
				"SubnetId": "subnet-0123", "VpcId": "vpc-0123", "Architecture": "x86_64", "KeyName": "dev",
				"RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs", "Hypervisor": "xen", "VirtualizationType": "hvm",
				"AmiLaunchIndex": 0, "EbsOptimized": false, "Monitoring": map[string]any{"State": "enabled"},
				"SecurityGroups": []map[string]any{{"GroupId": "sg-0123", "GroupName": "web"}},
				"Tags": []map[string]any{
					{"Key": "Name", "Value": "web"}, {"Key": "aws:autoscaling:groupName", "Value": "web"}, {"Key": "env", "Value": "dev"},
				},
			}},
		}
	}
	return map[string]any{"Reservations": res}
}

// BenchmarkDescribeInstances1000 measures one DescribeInstances call end to
// end in the endpoint (read, detect, authenticate, decode the filters,
// call, encode 1,000 instances as EC2 XML), without the network.
func BenchmarkDescribeInstances1000(b *testing.B) {
	out := instances(1000)
	ep, err := awsapi.New(awsapi.Options{
		Authenticator: awsapi.AllowAll{Caller: testCaller},
		Services: []awsapi.Service{{Name: "ec2", Handlers: map[string]awsapi.Handler{
			"DescribeInstances": func(context.Context, *awsapi.Call) (map[string]any, error) { return out, nil },
		}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	body := "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name&Filter.1.Value.1=running" +
		"&Filter.2.Name=tag%3Aaws%3Aautoscaling%3AgroupName&Filter.2.Value.1=web&MaxResults=1000"
	var size int
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/response")
}
