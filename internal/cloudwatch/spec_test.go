package cloudwatch

import (
	"strings"
	"testing"
)

func f64(v float64) *float64 { return &v }

func validAlarm() AlarmSpec {
	return AlarmSpec{Name: "cpu", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
		Dimensions: map[string]string{"InstanceId": "i-1"}, Statistic: "Average", Period: 60,
		EvaluationPeriods: 3, Threshold: f64(80), ComparisonOperator: "GreaterThanThreshold"}
}

func TestAlarmSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*AlarmSpec)
		path   string // "" = valid
		substr string
	}{
		{"valid", func(*AlarmSpec) {}, "", ""},
		{"valid percentile", func(s *AlarmSpec) { s.Statistic, s.ExtendedStatistic = "", "p99" }, "", ""},
		{"valid one second", func(s *AlarmSpec) { s.Period = 1 }, "", ""},
		{"missing name", func(s *AlarmSpec) { s.Name = "" }, "name", "missing"},
		{"missing statistic", func(s *AlarmSpec) { s.Statistic = "" }, "statistic", "missing"},
		{"percentile in statistic", func(s *AlarmSpec) { s.Statistic = "p99" }, "statistic", "not a statistic"},
		{"both statistics", func(s *AlarmSpec) { s.ExtendedStatistic = "p99" }, "extendedStatistic", "together"},
		{"bad extended", func(s *AlarmSpec) { s.Statistic, s.ExtendedStatistic = "", "p200" }, "extendedStatistic", ""},
		{"bad period", func(s *AlarmSpec) { s.Period = 45 }, "period", "not a valid period"},
		{"no threshold", func(s *AlarmSpec) { s.Threshold = nil }, "threshold", "missing"},
		{"no namespace", func(s *AlarmSpec) { s.Namespace = "" }, "namespace", "missing"},
		{"zero periods", func(s *AlarmSpec) { s.EvaluationPeriods = 0 }, "evaluationPeriods", "at least 1"},
		{"M over N", func(s *AlarmSpec) { s.DatapointsToAlarm = 5 }, "datapointsToAlarm", ""},
		{"bad operator", func(s *AlarmSpec) { s.ComparisonOperator = "Above" }, "comparisonOperator", ""},
		{"bad missing", func(s *AlarmSpec) { s.TreatMissingData = "zero" }, "treatMissingData", ""},
		{"bad unit", func(s *AlarmSpec) { s.Unit = "Parsecs" }, "unit", "not a CloudWatch unit"},
		{"bad action", func(s *AlarmSpec) { s.AlarmActions = []string{"mailto:x"} }, "alarmActions[0]", "not an action"},
		{"sns action", func(s *AlarmSpec) { s.AlarmActions = []string{"arn:aws:sns:us-east-1:1:t"} }, "alarmActions[0]", "SNS"},
		{"ec2 action without instance", func(s *AlarmSpec) {
			s.Dimensions = map[string]string{"AutoScalingGroupName": "web"}
			s.AlarmActions = []string{"arn:aws:automate:local:ec2:reboot"}
		}, "alarmActions[0]", "InstanceId"},
		{"ec2 action", func(s *AlarmSpec) { s.AlarmActions = []string{"arn:aws:automate:local:ec2:reboot"} }, "", ""},
		{"math and metric", func(s *AlarmSpec) {
			s.Metrics = []MetricQuery{{ID: "e1", Expression: "1"}}
		}, "metrics", "not both"},
		{"math without return", func(s *AlarmSpec) {
			*s = AlarmSpec{Name: "m", EvaluationPeriods: 1, Threshold: f64(1), ComparisonOperator: "GreaterThanThreshold",
				Metrics: []MetricQuery{{ID: "m1", ReturnData: new(bool), MetricStat: &MetricStat{
					Metric: MetricRef{Namespace: "A", MetricName: "B"}, Period: 60, Stat: "Sum"}}}}
		}, "metrics", "exactly one"},
		{"math bad expression", func(s *AlarmSpec) {
			*s = AlarmSpec{Name: "m", EvaluationPeriods: 1, Threshold: f64(1), ComparisonOperator: "GreaterThanThreshold",
				Metrics: []MetricQuery{
					{ID: "m1", ReturnData: new(bool), MetricStat: &MetricStat{Metric: MetricRef{Namespace: "A", MetricName: "B"}, Period: 60, Stat: "Sum"}},
					{ID: "e1", Expression: "m1 +"}}}
		}, "metrics[1].expression", ""},
		{"math bad id", func(s *AlarmSpec) {
			*s = AlarmSpec{Name: "m", EvaluationPeriods: 1, Threshold: f64(1), ComparisonOperator: "GreaterThanThreshold",
				Metrics: []MetricQuery{{ID: "M1", MetricStat: &MetricStat{Metric: MetricRef{Namespace: "A", MetricName: "B"}, Period: 60, Stat: "Sum"}}}}
		}, "metrics[0].id", "not a valid id"},
		{"math unknown ref", func(s *AlarmSpec) {
			*s = AlarmSpec{Name: "m", EvaluationPeriods: 1, Threshold: f64(1), ComparisonOperator: "GreaterThanThreshold",
				Metrics: []MetricQuery{
					{ID: "m1", ReturnData: new(bool), MetricStat: &MetricStat{Metric: MetricRef{Namespace: "A", MetricName: "B"}, Period: 60, Stat: "Sum"}},
					{ID: "e1", Expression: "m2 * 2"}}}
		}, "metrics", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validAlarm()
			tt.edit(&s)
			s.Defaults()
			errs := s.Validate()
			if tt.path == "" {
				if len(errs) > 0 {
					t.Fatalf("Validate() = %v, want no problems", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Path == tt.path && strings.Contains(e.Error(), tt.substr) {
					return
				}
			}
			t.Fatalf("Validate() = %v, want a problem at %q containing %q", errs, tt.path, tt.substr)
		})
	}
}

func TestCompositeSpecValidate(t *testing.T) {
	tests := []struct {
		name, rule, path string
	}{
		{"valid", `ALARM("a") AND NOT OK(b)`, ""},
		{"empty", ``, "alarmRule"},
		{"syntax", `ALARM("a") AND`, "alarmRule"},
		{"self", `ALARM("self")`, "alarmRule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := CompositeAlarmSpec{Name: "self", AlarmRule: tt.rule}
			s.Defaults()
			errs := s.Validate()
			if tt.path == "" && len(errs) > 0 || tt.path != "" && (len(errs) == 0 || errs[0].Path != tt.path) {
				t.Fatalf("Validate() = %v, want problem at %q", errs, tt.path)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	tests := []struct {
		in   string
		kind ActionKind
		err  bool
	}{
		{"https://hooks.example/x", ActionWebhook, false},
		{"http://127.0.0.1:9/x", ActionWebhook, false},
		{"command:echo hi", ActionCommand, false},
		{"command:", "", true},
		{"arn:aws:automate:local:ec2:stop", ActionEC2, false},
		{"arn:aws:automate:us-east-1:ec2:recover", ActionEC2, false},
		{"arn:aws:automate:local:ec2:explode", "", true},
		{"arn:aws:autoscaling:local:0:scalingPolicy:x", "", true},
		{"arn:aws:autoscaling:local:000000000000:scalingPolicy:1b2c:autoScalingGroupName/web:policyName/cpu-high", ActionAutoScaling, false},
		{"autoscaling:web/cpu-high", ActionAutoScaling, false},
		{"autoscaling:web", "", true},
		{"ftp://x", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAction(tt.in)
			if (err != nil) != tt.err || !tt.err && a.Kind != tt.kind {
				t.Fatalf("ParseAction(%q) = %+v, %v", tt.in, a, err)
			}
		})
	}
}

func TestPromName(t *testing.T) {
	tests := []struct{ ns, name, want string }{
		{"AWS/EC2", "CPUUtilization", "aws_ec2_cpu_utilization"},
		{"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "aws_application_elb_http_code_elb_5xx_count"},
		{"AWS/ApplicationELB", "UnHealthyHostCount", "aws_application_elb_un_healthy_host_count"},
		{"madang/Daemon", "HeapBytes", "madang_daemon_heap_bytes"},
		{"My App", "latency.p99", "my_app_latency_p99"},
	}
	for _, tt := range tests {
		if got := promName(tt.ns, tt.name); got != tt.want {
			t.Errorf("promName(%q, %q) = %q, want %q", tt.ns, tt.name, got, tt.want)
		}
	}
}
