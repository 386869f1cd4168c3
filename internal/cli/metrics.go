package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/top"
)

// parseDims parses repeated --dimension Name=Value flags.
func parseDims(cmd *cobra.Command, flags []string, needValue bool) ([]v1.Dimension, error) {
	var out []v1.Dimension
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if name == "" || (needValue && (!ok || value == "")) {
			return nil, usageErr(cmd, "--dimension %q is not Name=Value (e.g. --dimension InstanceId=i-0abc)", f)
		}
		out = append(out, v1.Dimension{Name: name, Value: value})
	}
	return out, nil
}

// parseSince reads --since (a duration back from now) and --start/--end
// (RFC 3339).
func parseRange(cmd *cobra.Command, since, start, end string) (time.Time, time.Time, error) {
	now := time.Now()
	e := now
	if end != "" {
		t, err := time.Parse(time.RFC3339, end)
		if err != nil {
			return time.Time{}, time.Time{}, usageErr(cmd, "--end %q is not an RFC 3339 time (2026-12-01T10:00:00Z)", end)
		}
		e = t
	}
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return time.Time{}, time.Time{}, usageErr(cmd, "--start %q is not an RFC 3339 time (2026-12-01T10:00:00Z)", start)
		}
		return t, e, nil
	}
	d, err := time.ParseDuration(since)
	if err != nil || d <= 0 {
		return time.Time{}, time.Time{}, usageErr(cmd, "--since %q is not a positive duration (e.g. 15m, 3h)", since)
	}
	return e.Add(-d), e, nil
}

// timeRange is the --since/--start/--end flags of the query commands.
type timeRange struct{ since, start, end string }

func (r *timeRange) flags(f *pflag.FlagSet) {
	f.StringVar(&r.since, "since", "1h", "how far back from --end")
	f.StringVar(&r.start, "start", "", "start time (RFC 3339), instead of --since")
	f.StringVar(&r.end, "end", "", "end time (RFC 3339; default now)")
}

func (r *timeRange) parse(cmd *cobra.Command) (time.Time, time.Time, error) {
	return parseRange(cmd, r.since, r.start, r.end)
}

// parsePeriod reads a period: seconds ("60") or a duration ("1m", "1s").
func parsePeriod(cmd *cobra.Command, p string) (int, error) {
	if n, err := strconv.Atoi(p); err == nil && n > 0 {
		return n, nil
	}
	d, err := time.ParseDuration(p)
	if err != nil || d < time.Second || d%time.Second != 0 {
		return 0, usageErr(cmd, "--period %q is not a whole number of seconds (1, 10, 60, 5m…)", p)
	}
	return int(d / time.Second), nil
}

var simpleStats = map[string]bool{"SampleCount": true, "Average": true, "Sum": true, "Minimum": true, "Maximum": true}

func metricsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "CloudWatch metrics: list, get (with a chart), put, and the load balancers' live counters",
		Long: "Without a sub-command, prints the load balancers' cumulative counters (AWS/ApplicationELB names).\n" +
			"madang collects AWS/EC2 and AWS/ApplicationELB metrics every second; query them with `metrics get`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return lbCounters(cmd, e) },
	}
	cmd.AddCommand(metricsListCmd(e), metricsGetCmd(e), metricsPutCmd(e), metricsDataCmd(e), metricsStatusCmd(e))
	return cmd
}

func lbCounters(cmd *cobra.Command, e *env) error {
	ms, err := e.client().Metrics(cmd.Context())
	if err != nil {
		return err
	}
	if e.json() {
		return e.printJSON(ms)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	tw := e.table()
	fmt.Fprintln(tw, "METRIC\tDIMENSIONS\tVALUE\tUNIT")
	for _, m := range ms {
		var dims []string
		for k, v := range m.Dimensions {
			dims = append(dims, k+"="+v)
		}
		sort.Strings(dims)
		fmt.Fprintf(tw, "%s\t%s\t%g\t%s\n", m.Name, strings.Join(dims, ","), m.Value, m.Unit)
	}
	return tw.Flush()
}

func metricsListCmd(e *env) *cobra.Command {
	var ns, name string
	var dims []string
	var recent bool
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List metrics (ListMetrics): filter by namespace, name and dimensions",
		Example: "  madang metrics list --namespace AWS/EC2 --dimension InstanceId\n  madang metrics list --metric RequestCount --recent",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ra := ""
			if recent {
				ra = "PT3H"
			}
			ms, err := e.client().ListMetrics(cmd.Context(), ns, name, dims, ra)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ms)
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAMESPACE\tMETRIC\tDIMENSIONS")
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Namespace, m.MetricName, dash(dimText(m.Dimensions)))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&ns, "namespace", "", "only this namespace (AWS/EC2, AWS/ApplicationELB, madang/Daemon or yours)")
	c.Flags().StringVar(&name, "metric", "", "only this metric name")
	c.Flags().StringArrayVar(&dims, "dimension", nil, "only metrics with this dimension: Name or Name=Value (repeatable)")
	c.Flags().BoolVar(&recent, "recent", false, "only metrics with data in the last 3 hours")
	return c
}

func dimText(ds []v1.Dimension) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Name + "=" + d.Value
	}
	return strings.Join(parts, ",")
}

func metricsGetCmd(e *env) *cobra.Command {
	var dims []string
	var stats string
	var period, unit string
	var tr timeRange
	var noChart bool
	c := &cobra.Command{
		Use:   "get NAMESPACE METRIC",
		Short: "Get a metric's statistics per period (GetMetricStatistics), with a terminal chart",
		Example: "  madang metrics get AWS/EC2 CPUUtilization --dimension AutoScalingGroupName=web --since 15m --period 10\n" +
			"  madang metrics get AWS/ApplicationELB TargetResponseTime --dimension LoadBalancer=web --stat p50,p99 --period 1m",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDims(cmd, dims, true)
			if err != nil {
				return err
			}
			from, to, err := tr.parse(cmd)
			if err != nil {
				return err
			}
			p, err := parsePeriod(cmd, period)
			if err != nil {
				return err
			}
			req := v1.GetMetricStatisticsRequest{Namespace: args[0], MetricName: args[1], Dimensions: d,
				StartTime: from, EndTime: to, Period: p, Unit: unit}
			names := strings.Split(stats, ",")
			for _, s := range names {
				s = strings.TrimSpace(s)
				if simpleStats[s] {
					req.Statistics = append(req.Statistics, s)
				} else if s != "" {
					req.ExtendedStatistics = append(req.ExtendedStatistics, s)
				}
			}
			res, err := e.client().GetMetricStatistics(cmd.Context(), req)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(res)
			}
			if len(res.Datapoints) == 0 {
				fmt.Fprintf(e.stdout, "no datapoints for %s %s%s between %s and %s\n", args[0], args[1], dimSuffix(d),
					from.Format(time.TimeOnly), to.Format(time.TimeOnly))
				fmt.Fprintln(e.stdout, "hint: `madang metrics list --namespace "+args[0]+"` shows the metrics and dimensions that exist")
				return nil
			}
			sort.Slice(res.Datapoints, func(i, j int) bool { return res.Datapoints[i].Timestamp.Before(res.Datapoints[j].Timestamp) })
			series := make([]top.Series, 0, len(names))
			for _, s := range names {
				s = strings.TrimSpace(s)
				sr := top.Series{Label: s}
				for _, dp := range res.Datapoints {
					if v, ok := statValue(dp, s); ok {
						sr.Times = append(sr.Times, dp.Timestamp)
						sr.Values = append(sr.Values, v)
					}
				}
				series = append(series, sr)
			}
			if !noChart {
				fmt.Fprintf(e.stdout, "%s %s%s — %s per %ds\n", args[0], args[1], dimSuffix(d), stats, p)
				fmt.Fprintln(e.stdout, top.Chart(series, 72, 12))
			}
			tw := e.table()
			fmt.Fprintf(tw, "TIME\t%s\tUNIT\n", strings.Join(names, "\t"))
			for _, dp := range res.Datapoints {
				row := []string{dp.Timestamp.Local().Format("15:04:05")}
				for _, s := range names {
					if v, ok := statValue(dp, strings.TrimSpace(s)); ok {
						row = append(row, strconv.FormatFloat(v, 'g', 6, 64))
					} else {
						row = append(row, "-")
					}
				}
				fmt.Fprintf(tw, "%s\t%s\n", strings.Join(row, "\t"), dash(dp.Unit))
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringArrayVar(&dims, "dimension", nil, "a dimension Name=Value (repeatable); metrics match their dimensions exactly")
	f.StringVar(&stats, "stat", "Average", "statistics, comma-separated: SampleCount, Average, Sum, Minimum, Maximum, p50, p99, p99.9, tm90, IQM…")
	f.StringVar(&period, "period", "60", "period: seconds or a duration (1, 10, 60, 5m)")
	tr.flags(f)
	f.StringVar(&unit, "unit", "", "only data stored with this unit")
	f.BoolVar(&noChart, "no-chart", false, "print the table only")
	return c
}

func dimSuffix(d []v1.Dimension) string {
	if len(d) == 0 {
		return ""
	}
	return " {" + dimText(d) + "}"
}

func statValue(dp v1.Datapoint, s string) (float64, bool) {
	var p *float64
	switch s {
	case "SampleCount":
		p = dp.SampleCount
	case "Average":
		p = dp.Average
	case "Sum":
		p = dp.Sum
	case "Minimum":
		p = dp.Minimum
	case "Maximum":
		p = dp.Maximum
	default:
		v, ok := dp.ExtendedStatistics[s]
		return v, ok
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

func metricsPutCmd(e *env) *cobra.Command {
	var dims []string
	var unit, ts, values, counts, statSet string
	var resolution int
	c := &cobra.Command{
		Use:   "put NAMESPACE METRIC [VALUE]",
		Short: "Publish a custom metric datapoint (PutMetricData): a value, values with counts, or a statistic set",
		Example: "  madang metrics put MyApp Orders 3 --dimension Shop=seoul\n" +
			"  madang metrics put MyApp Latency --values 12,15,40 --counts 10,5,1 --unit Milliseconds --resolution 1\n" +
			"  madang metrics put MyApp Latency --statistic-values SampleCount=10,Sum=150,Minimum=9,Maximum=30",
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDims(cmd, dims, true)
			if err != nil {
				return err
			}
			md := v1.MetricDatum{MetricName: args[1], Dimensions: d, Unit: unit, StorageResolution: resolution}
			given := 0
			if len(args) == 3 {
				v, err := strconv.ParseFloat(args[2], 64)
				if err != nil {
					return usageErr(cmd, "VALUE %q is not a number", args[2])
				}
				md.Value = &v
				given++
			}
			if values != "" {
				if md.Values, err = floats(cmd, "--values", values); err != nil {
					return err
				}
				given++
				if counts != "" {
					if md.Counts, err = floats(cmd, "--counts", counts); err != nil {
						return err
					}
				}
			}
			if statSet != "" {
				ss, err := parseStatSet(cmd, statSet)
				if err != nil {
					return err
				}
				md.StatisticValues = ss
				given++
			}
			if given != 1 {
				return usageErr(cmd, "give exactly one of VALUE, --values and --statistic-values")
			}
			if ts != "" {
				t, err := time.Parse(time.RFC3339, ts)
				if err != nil {
					return usageErr(cmd, "--timestamp %q is not an RFC 3339 time", ts)
				}
				md.Timestamp = &t
			}
			if err := e.client().PutMetricData(cmd.Context(), v1.PutMetricDataRequest{Namespace: args[0], MetricData: []v1.MetricDatum{md}}); err != nil {
				return err
			}
			if !e.json() {
				fmt.Fprintf(e.stdout, "put %s %s%s\n", args[0], args[1], dimSuffix(d))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVar(&dims, "dimension", nil, "a dimension Name=Value (repeatable, up to 30)")
	f.StringVar(&unit, "unit", "", "unit: Count, Seconds, Milliseconds, Bytes, Percent… (default None)")
	f.StringVar(&ts, "timestamp", "", "the datapoint's time (RFC 3339; default now)")
	f.StringVar(&values, "values", "", "comma-separated values (up to 150)")
	f.StringVar(&counts, "counts", "", "comma-separated counts for --values")
	f.StringVar(&statSet, "statistic-values", "", "SampleCount=N,Sum=S,Minimum=A,Maximum=B")
	f.IntVar(&resolution, "resolution", 60, "storage resolution: 1 (high resolution) or 60 seconds")
	return c
}

func floats(cmd *cobra.Command, flag, s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, usageErr(cmd, "%s: %q is not a number", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseStatSet(cmd *cobra.Command, s string) (*v1.StatisticSet, error) {
	ss := &v1.StatisticSet{}
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return nil, usageErr(cmd, "--statistic-values: %q is not Key=Number", p)
		}
		switch k {
		case "SampleCount":
			ss.SampleCount = f
		case "Sum":
			ss.Sum = f
		case "Minimum":
			ss.Minimum = f
		case "Maximum":
			ss.Maximum = f
		default:
			return nil, usageErr(cmd, "--statistic-values: %q is not SampleCount, Sum, Minimum or Maximum", k)
		}
		seen[k] = true
	}
	if len(seen) != 4 {
		return nil, usageErr(cmd, "--statistic-values needs all of SampleCount, Sum, Minimum and Maximum")
	}
	return ss, nil
}

func metricsDataCmd(e *env) *cobra.Command {
	var queries string
	var tr timeRange
	c := &cobra.Command{
		Use:   "query",
		Short: "Run metric queries and metric math (GetMetricData) from a JSON list of MetricDataQueries",
		Example: `  madang metrics query --queries '[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/ApplicationELB","metricName":"HTTPCode_Target_5XX_Count","dimensions":{"LoadBalancer":"web"}},"period":60,"stat":"Sum"},"returnData":false},
    {"id":"m2","metricStat":{"metric":{"namespace":"AWS/ApplicationELB","metricName":"RequestCount","dimensions":{"LoadBalancer":"web"}},"period":60,"stat":"Sum"},"returnData":false},
    {"id":"e1","expression":"100*FILL(m1,0)/m2","label":"5XX %"}]'
  madang metrics query --queries @queries.json --since 3h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queries == "" {
				return usageErr(cmd, "--queries is required: a JSON list of {id, metricStat | expression}")
			}
			raw := []byte(queries)
			if strings.HasPrefix(queries, "@") {
				b, err := os.ReadFile(queries[1:])
				if err != nil {
					return usageErr(cmd, "--queries %s: %v", queries, err)
				}
				raw = b
			}
			var qs []v1.MetricDataQuery
			if err := json.Unmarshal(raw, &qs); err != nil {
				return usageErr(cmd, "--queries is not a JSON list of MetricDataQuery: %v", err)
			}
			from, to, err := tr.parse(cmd)
			if err != nil {
				return err
			}
			res, err := e.client().GetMetricData(cmd.Context(), v1.GetMetricDataRequest{MetricDataQueries: qs, StartTime: from, EndTime: to})
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(res)
			}
			var series []top.Series
			for _, r := range res.MetricDataResults {
				series = append(series, top.Series{Label: r.Label, Times: r.Timestamps, Values: r.Values})
			}
			fmt.Fprintln(e.stdout, top.Chart(series, 72, 12))
			tw := e.table()
			fmt.Fprintln(tw, "ID\tLABEL\tPOINTS\tLAST\tMIN\tMAX")
			for _, r := range res.MetricDataResults {
				last, lo, hi := "-", "-", "-"
				if n := len(r.Values); n > 0 {
					mn, mx := r.Values[0], r.Values[0]
					for _, v := range r.Values {
						mn, mx = min(mn, v), max(mx, v)
					}
					last, lo, hi = strconv.FormatFloat(r.Values[n-1], 'g', 6, 64), strconv.FormatFloat(mn, 'g', 6, 64), strconv.FormatFloat(mx, 'g', 6, 64)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Label, len(r.Values), last, lo, hi)
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringVar(&queries, "queries", "", "MetricDataQueries as JSON, or @FILE")
	tr.flags(f)
	return c
}

func metricsStatusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the metric collector and store: series, bytes on disk and in memory, last round",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := e.client().MetricsStatus(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(st)
			}
			tw := e.table()
			fmt.Fprintf(tw, "Series:\t%d\n", st.Series)
			fmt.Fprintf(tw, "On disk:\t%s\n", sizeText(st.DiskBytes))
			fmt.Fprintf(tw, "In memory:\t%s\n", sizeText(st.MemoryBytes))
			fmt.Fprintf(tw, "Collection rounds:\t%d (last %.2f ms, %d datapoints)\n", st.Rounds, st.LastDurationMs, st.LastDatapoints)
			if st.LastError != "" {
				fmt.Fprintf(tw, "Last error:\t%s\n", st.LastError)
			}
			fmt.Fprintf(tw, "Network:\t%s\n", st.NetworkNote)
			prom := "GET /metrics on the API socket"
			if st.PrometheusListen != "" {
				prom = "http://" + st.PrometheusListen + "/metrics"
			}
			fmt.Fprintf(tw, "Prometheus:\t%s\n", prom)
			return tw.Flush()
		},
	}
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
