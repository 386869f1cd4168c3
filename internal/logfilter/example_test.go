package logfilter_test

import (
	"fmt"

	"github.com/madang-dev/madang/internal/logfilter"
)

func ExampleParse() {
	p, err := logfilter.Parse(`[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]`)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, ok := p.Match(`127.0.0.1 - frank [13/Oct/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 404 1534`)
	fmt.Println(ok, m.Fields["$request"], m.Fields["$status_code"])

	t := logfilter.Transformation{MetricName: "NotFoundBytes", MetricNamespace: "Web", MetricValue: "$bytes",
		Dimensions: map[string]string{"Status": "$status_code"}}
	if err := t.Validate(p); err != nil {
		fmt.Println(err)
		return
	}
	v, dims, _ := t.Apply(m)
	fmt.Println(v, dims)

	_, err = logfilter.Parse(`{ $.latency > "fast" }`)
	fmt.Println(err)
	// Output:
	// true GET /index.html HTTP/1.1 404
	// 1534 map[Status:404]
	// logfilter: filter pattern: at offset 12: operator > needs a number, got fast; compare strings and regular expressions with = or !=
}
