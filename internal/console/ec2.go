package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// The AWS/EC2 metrics madang's CloudWatch publishes per instance (by the
// InstanceId dimension), as the console charts them.
const (
	ec2Namespace = "AWS/EC2"
	ec2MetricCPU = "CPUUtilization"
	ec2MetricMem = "MemoryUtilization"
)

// ec2SparkWindow and ec2SparkPeriod are the span and resolution of the
// instance list's sparklines.
const (
	ec2SparkWindow = 10 * time.Minute
	ec2SparkPeriod = 10
	// ec2SparkMax caps the instances whose sparklines are read in one
	// GetMetricData call (two queries each, 500 queries per call).
	ec2SparkMax = 250
)

// mountEC2 registers the ec2 pages.
func (s *Server) mountEC2(mux *http.ServeMux) {
	mux.HandleFunc("GET /ec2/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ec2/instances", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /ec2/instances", s.ec2Instances)
	s.mountEC2Instance(mux)
	s.mountEC2Launch(mux)
	s.mountEC2Catalog(mux)
}

// ec2InstancesPage is the data of the instances table.
type ec2InstancesPage struct {
	Rows []ec2InstanceRow
	// ShowTerminated is the "show terminated" toggle; Hidden counts the
	// terminated instances it hides.
	ShowTerminated bool
	Hidden         int
	// Fragment is the table's URL for its live re-fetch.
	Fragment string
}

// ec2InstanceRow is one row of the instances table.
type ec2InstanceRow struct {
	v1.Instance
	// Name is the Name tag.
	Name string
	// CPU and Mem are recent CPU and memory utilization (percent, oldest
	// first); empty when CloudWatch has none.
	CPU, Mem []float64
}

func (s *Server) ec2Instances(w http.ResponseWriter, r *http.Request) {
	ins, err := s.api.Instances(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := ec2InstancesPage{ShowTerminated: r.URL.Query().Get("terminated") == "1", Fragment: "/ec2/instances?fragment=frag-instances"}
	if p.ShowTerminated {
		p.Fragment += "&terminated=1"
	}
	var live []string
	for _, in := range ins {
		if in.State == v1.StateTerminated && !p.ShowTerminated {
			p.Hidden++
			continue
		}
		p.Rows = append(p.Rows, ec2InstanceRow{Instance: in, Name: in.Tags["Name"]})
		if in.State != v1.StateTerminated && len(live) < ec2SparkMax {
			live = append(live, in.ID)
		}
	}
	sparks := s.ec2Sparks(r.Context(), live)
	for i := range p.Rows {
		if m, ok := sparks[p.Rows[i].ID]; ok {
			p.Rows[i].CPU, p.Rows[i].Mem = m[ec2MetricCPU], m[ec2MetricMem]
		}
	}
	s.page(w, r, "ec2/instances", "ec2.instances.title", p)
}

// ec2Sparks reads the instances' recent CPU and memory utilization with
// one GetMetricData call: values oldest first, by instance id and metric
// name. It returns nothing when the metrics cannot be read (no
// CloudWatch): the table then shows no sparklines.
func (s *Server) ec2Sparks(ctx context.Context, ids []string) map[string]map[string][]float64 {
	if len(ids) == 0 {
		return nil
	}
	metrics := []string{ec2MetricCPU, ec2MetricMem}
	type ref struct{ id, metric string }
	refs := map[string]ref{}
	var qs []v1.MetricDataQuery
	for i, id := range ids {
		for j, m := range metrics {
			qid := fmt.Sprintf("m%d_%d", i, j)
			refs[qid] = ref{id, m}
			qs = append(qs, ec2Query(qid, id, m, ec2SparkPeriod))
		}
	}
	end := s.now()
	res, err := s.api.GetMetricData(ctx, v1.GetMetricDataRequest{MetricDataQueries: qs, StartTime: end.Add(-ec2SparkWindow), EndTime: end})
	if err != nil {
		s.log.Debug("console: instance sparklines", "err", err)
		return nil
	}
	out := map[string]map[string][]float64{}
	for _, x := range res.MetricDataResults {
		rf, ok := refs[x.ID]
		if !ok {
			continue
		}
		if out[rf.id] == nil {
			out[rf.id] = map[string][]float64{}
		}
		_, values := ec2Ascending(x.Timestamps, x.Values)
		out[rf.id][rf.metric] = values
	}
	return out
}

// ec2Query is a GetMetricData query for an instance's AWS/EC2 metric,
// averaged over period seconds.
func ec2Query(qid, instance, metric string, period int) v1.MetricDataQuery {
	ms := &v1.MetricStat{Period: period, Stat: "Average"}
	ms.Metric.Namespace = ec2Namespace
	ms.Metric.MetricName = metric
	ms.Metric.Dimensions = map[string]string{"InstanceId": instance}
	return v1.MetricDataQuery{ID: qid, MetricStat: ms, Label: metric}
}

// ec2Ascending orders a metric series oldest first (GetMetricData may
// answer newest first).
func ec2Ascending(times []time.Time, values []float64) ([]time.Time, []float64) {
	n := min(len(times), len(values))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return times[idx[a]].Before(times[idx[b]]) })
	ts, vs := make([]time.Time, n), make([]float64, n)
	for i, k := range idx {
		ts[i], vs[i] = times[k], values[k]
	}
	return ts, vs
}
