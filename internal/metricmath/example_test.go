package metricmath_test

import (
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/metricmath"
)

// A GetMetricData request: two metric queries and an error rate computed
// from them, with the minute in which there were no errors filled with 0.
func Example() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	env := metricmath.Env{
		Series: map[string][]metricmath.Series{
			"errors":   {{Label: "Errors", Timestamps: []time.Time{at(0), at(2)}, Values: []float64{2, 5}}},
			"requests": {{Label: "Requests", Timestamps: []time.Time{at(0), at(1), at(2)}, Values: []float64{100, 80, 50}}},
		},
		Order:  []string{"errors", "requests"},
		Period: time.Minute,
		Start:  start,
		End:    at(3),
	}
	e, err := metricmath.Parse("100 * FILL(errors, 0) / requests")
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := metricmath.Eval(e, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range metricmath.ApplyLabels(out, "rate", "Error rate (%)") {
		for i, t := range s.Timestamps {
			fmt.Printf("%s %s %g\n", s.Label, t.Format("15:04"), s.Values[i])
		}
	}
	_, err = metricmath.Parse("errors / Requests")
	fmt.Println(err)
	// Output:
	// Error rate (%) 00:00 2
	// Error rate (%) 00:01 0
	// Error rate (%) 00:02 10
	// offset 9: Requests is not an id: ids start with a lowercase letter (write requests)
}
