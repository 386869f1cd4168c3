package awsapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// A handler reads its input with the typed accessors and returns the
// output as plain maps keyed by member name; errors are *protocol.Error
// with AWS's codes.
func Example() {
	stopInstances := func(_ context.Context, call *awsapi.Call) (map[string]any, error) {
		var changes []map[string]any
		for _, id := range call.Input.Strings("InstanceIds") {
			if !strings.HasPrefix(id, "i-") {
				return nil, protocol.Errorf("InvalidInstanceID.Malformed", "Invalid id: %q", id)
			}
			changes = append(changes, map[string]any{
				"InstanceId":    id,
				"PreviousState": map[string]any{"Code": 16, "Name": "running"},
				"CurrentState":  map[string]any{"Code": 64, "Name": "stopping"},
			})
		}
		return map[string]any{"StoppingInstances": changes}, nil
	}
	ep, err := awsapi.New(awsapi.Options{
		Region: "local-1", AccountID: "000000000000",
		Authenticator: awsapi.AllowAll{Caller: awsapi.Caller{AccountID: "000000000000"}},
		NewRequestID:  func() string { return "11111111-2222-4333-8444-555555555555" },
		Services: []awsapi.Service{{Name: "ec2", Handlers: map[string]awsapi.Handler{
			"StopInstances": stopInstances,
		}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, body := range []string{
		"Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0abc",
		"Action=StopInstances&Version=2016-11-15&InstanceId.1=web",
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, r)
		out, _ := io.ReadAll(w.Body)
		fmt.Println(w.Code, strings.TrimPrefix(string(out), `<?xml version="1.0" encoding="UTF-8"?>`+"\n"))
	}
	// Output:
	// 200 <StopInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>11111111-2222-4333-8444-555555555555</requestId><instancesSet><item><currentState><code>64</code><name>stopping</name></currentState><instanceId>i-0abc</instanceId><previousState><code>16</code><name>running</name></previousState></item></instancesSet></StopInstancesResponse>
	// 400 <Response><Errors><Error><Code>InvalidInstanceID.Malformed</Code><Message>Invalid id: &#34;web&#34;</Message></Error></Errors><RequestID>11111111-2222-4333-8444-555555555555</RequestID></Response>
}
