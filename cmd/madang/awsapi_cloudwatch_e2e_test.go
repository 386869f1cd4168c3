package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CloudWatch and CloudWatch Logs through the Go SDK (RPC v2 CBOR and JSON
// 1.1 on the wire): custom metrics read back as statistics and metric
// math, madang's own EC2 metrics of an instance run by API, an alarm that
// really fires on the custom metric, dashboards validated as the stack
// file's, and the instance's log read as a log group.
func TestAWSSDKDrivesCloudWatchAndLogs(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// An instance, for madang's own metrics and logs.
	ec := ec2.NewFromConfig(cfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("TerminateInstances: %v", err)
		}
	})

	cwc := cloudwatch.NewFromConfig(cfg)
	now := time.Now().UTC()
	dims := []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("checkout")}}
	if _, err := cwc.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("Latency"), Dimensions: dims, Value: aws.Float64(10), Unit: cwtypes.StandardUnitMilliseconds, Timestamp: aws.Time(now)},
		{MetricName: aws.String("Latency"), Dimensions: dims, Values: []float64{20, 30}, Counts: []float64{1, 2}, Unit: cwtypes.StandardUnitMilliseconds, Timestamp: aws.Time(now)},
	}}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	stats, err := cwc.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Shop"), MetricName: aws.String("Latency"),
		Dimensions: dims, StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)), Period: aws.Int32(3600),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticMaximum}, ExtendedStatistics: []string{"p100"}})
	if err != nil || len(stats.Datapoints) == 0 {
		t.Fatalf("GetMetricStatistics = %+v, %v", stats, err)
	}
	var sum, count, maxV float64
	for _, dp := range stats.Datapoints {
		sum, count, maxV = sum+aws.ToFloat64(dp.Sum), count+aws.ToFloat64(dp.SampleCount), max(maxV, aws.ToFloat64(dp.Maximum))
	}
	if sum != 90 || count != 4 || maxV != 30 || stats.Datapoints[0].ExtendedStatistics["p100"] == 0 || stats.Datapoints[0].Unit != cwtypes.StandardUnitMilliseconds {
		t.Errorf("GetMetricStatistics: sum %v count %v max %v, %+v; want 90, 4, 30 (10 + 20 + 2×30)", sum, count, maxV, stats.Datapoints)
	}
	md, err := cwc.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("m1"), ReturnData: aws.Bool(false), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(7200), Stat: aws.String("Sum"),
				Metric: &cwtypes.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Latency"), Dimensions: dims}}},
			{Id: aws.String("e1"), Expression: aws.String("m1 * 2"), Label: aws.String("doubled")},
		}})
	if err != nil || len(md.MetricDataResults) != 1 {
		t.Fatalf("GetMetricData = %+v, %v", md, err)
	}
	if r := md.MetricDataResults[0]; aws.ToString(r.Label) != "doubled" || len(r.Values) == 0 || sumOf(r.Values) != 180 || r.StatusCode != cwtypes.StatusCodeComplete {
		t.Errorf("GetMetricData result = %+v, want label doubled and 2×90", r)
	}

	eventually(t, "ListMetrics to show the instance's AWS/EC2 metrics", 20*time.Second, func() bool {
		out, err := cwc.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/EC2"),
			Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("InstanceId"), Value: aws.String(id)}}})
		if err != nil {
			t.Fatalf("ListMetrics: %v", err)
		}
		for _, m := range out.Metrics {
			if aws.ToString(m.MetricName) == "CPUUtilization" {
				return true
			}
		}
		return false
	})

	// An alarm on the custom metric, breached by more data.
	if _, err := cwc.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("slow-checkout"), Namespace: aws.String("Shop"),
		MetricName: aws.String("Latency"), Dimensions: dims, Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(1),
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(500), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData: aws.String("notBreaching"), AlarmDescription: aws.String("checkout is slow")}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	var alarm cwtypes.MetricAlarm
	eventually(t, "the alarm to go to ALARM", 20*time.Second, func() bool {
		if _, err := cwc.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Latency"), Dimensions: dims, Value: aws.Float64(900), StorageResolution: aws.Int32(1)}}}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
		out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"slow-checkout"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms = %+v, %v", out, err)
		}
		alarm = out.MetricAlarms[0]
		return alarm.StateValue == cwtypes.StateValueAlarm
	})
	if r := aws.ToString(alarm.StateReason); !strings.HasPrefix(r, "Threshold Crossed: 1 datapoint [900.0") && !strings.HasPrefix(r, "Threshold Crossed: 1 out of the last 1 datapoints") {
		t.Errorf("StateReason = %q, want AWS's Threshold Crossed wording", r)
	}
	if !strings.HasSuffix(aws.ToString(alarm.AlarmArn), ":alarm:slow-checkout") || alarm.StateUpdatedTimestamp == nil || aws.ToString(alarm.StateReasonData) == "" ||
		aws.ToFloat64(alarm.Threshold) != 500 || aws.ToString(alarm.AlarmDescription) != "checkout is slow" || !aws.ToBool(alarm.ActionsEnabled) {
		t.Errorf("DescribeAlarms: %+v", alarm)
	}
	byMetric, err := cwc.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("Shop"), MetricName: aws.String("Latency")})
	if err != nil || len(byMetric.MetricAlarms) != 1 {
		t.Errorf("DescribeAlarmsForMetric = %+v, %v", byMetric, err)
	}
	if _, err := cwc.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"slow-checkout"}}); err != nil {
		t.Fatalf("DisableAlarmActions: %v", err)
	}
	if out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("slow-"), StateValue: cwtypes.StateValueAlarm}); err != nil ||
		len(out.MetricAlarms) != 1 || aws.ToBool(out.MetricAlarms[0].ActionsEnabled) {
		t.Errorf("DescribeAlarms after DisableAlarmActions = %+v, %v", out, err)
	}
	hist, err := cwc.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("slow-checkout"), HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		ScanBy: cwtypes.ScanByTimestampAscending})
	var summaries []string
	for _, h := range hist.AlarmHistoryItems {
		summaries = append(summaries, aws.ToString(h.HistorySummary))
	}
	if err != nil || len(summaries) == 0 || !strings.HasSuffix(summaries[len(summaries)-1], " to ALARM") ||
		hist.AlarmHistoryItems[0].Timestamp.After(*hist.AlarmHistoryItems[len(summaries)-1].Timestamp) {
		t.Errorf("DescribeAlarmHistory of slow-checkout, oldest first = %q, %v; want the last to be the change to ALARM", summaries, err)
	}

	// SetAlarmState on an alarm that ignores missing data keeps the state set.
	if _, err := cwc.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("quiet"), Namespace: aws.String("Shop"),
		MetricName: aws.String("Idle"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("ignore")}); err != nil {
		t.Fatalf("PutMetricAlarm quiet: %v", err)
	}
	if _, err := cwc.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("quiet"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("testing the alarm path"), StateReasonData: aws.String(`{"by":"e2e"}`)}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	if out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"quiet"}}); err != nil || len(out.MetricAlarms) != 1 ||
		out.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm || aws.ToString(out.MetricAlarms[0].StateReason) != "testing the alarm path" ||
		aws.ToString(out.MetricAlarms[0].StateReasonData) != `{"by":"e2e"}` {
		t.Errorf("DescribeAlarms after SetAlarmState = %+v, %v", out, err)
	}
	hist, err = cwc.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("quiet")})
	if err != nil || len(hist.AlarmHistoryItems) < 2 {
		t.Fatalf("DescribeAlarmHistory = %+v, %v", hist, err)
	}
	if h := hist.AlarmHistoryItems[0]; aws.ToString(h.HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" || h.AlarmType != cwtypes.AlarmTypeMetricAlarm ||
		h.HistoryItemType != cwtypes.HistoryItemTypeStateUpdate {
		t.Errorf("newest history item = %q (%s %s), want the SetAlarmState's INSUFFICIENT_DATA → ALARM", aws.ToString(h.HistorySummary), h.AlarmType, h.HistoryItemType)
	}
	if _, err := cwc.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("shop-down"), AlarmRule: aws.String(`ALARM("slow-checkout")`)}); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	if out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm}}); err != nil ||
		len(out.CompositeAlarms) != 1 || len(out.MetricAlarms) != 0 || aws.ToString(out.CompositeAlarms[0].AlarmRule) != `ALARM("slow-checkout")` {
		t.Errorf("DescribeAlarms of composite alarms = %+v, %v", out, err)
	}
	if _, err := cwc.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"shop-down", "slow-checkout", "quiet"}}); err != nil {
		t.Fatalf("DeleteAlarms: %v", err)
	}
	if out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("DescribeAlarms after DeleteAlarms = %+v, %v", out, err)
	}

	// Dashboards.
	body := `{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"metrics":[["Shop","Latency","Service","checkout"]],"region":"local","period":60,"stat":"Average"}}]}`
	if out, err := cwc.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("shop"), DashboardBody: aws.String(body)}); err != nil || len(out.DashboardValidationMessages) != 0 {
		t.Fatalf("PutDashboard = %+v, %v", out, err)
	}
	got, err := cwc.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("shop")})
	if err != nil || !strings.Contains(aws.ToString(got.DashboardBody), `"Latency"`) || !strings.HasSuffix(aws.ToString(got.DashboardArn), ":dashboard/shop") {
		t.Fatalf("GetDashboard = %+v, %v", got, err)
	}
	list, err := cwc.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{DashboardNamePrefix: aws.String("sh")})
	if err != nil || len(list.DashboardEntries) != 1 || aws.ToInt64(list.DashboardEntries[0].Size) == 0 {
		t.Errorf("ListDashboards = %+v, %v", list, err)
	}
	_, err = cwc.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("broken"), DashboardBody: aws.String(`{"widgets":[{"type":"metric","width":99}]}`)})
	var invalid *cwtypes.DashboardInvalidInputError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "width") {
		t.Errorf("PutDashboard of an invalid body: %v, want DashboardInvalidInputError naming width", err)
	}
	if _, err := cwc.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"shop"}}); err != nil {
		t.Fatalf("DeleteDashboards: %v", err)
	}
	_, err = cwc.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("shop")})
	var notFound *cwtypes.DashboardNotFoundError
	if !errors.As(err, &notFound) {
		t.Errorf("GetDashboard of a deleted dashboard: %v, want DashboardNotFoundError (ResourceNotFound)", err)
	}

	// CloudWatch's errors.
	many := make([]cwtypes.MetricDatum, 1001)
	for i := range many {
		many[i] = cwtypes.MetricDatum{MetricName: aws.String("n"), Value: aws.Float64(1)}
	}
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{name: "1001 datums", code: "InvalidParameterValue", call: func() error {
			_, err := cwc.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: many})
			return err
		}},
		{name: "reserved namespace", code: "InvalidParameterValue", call: func() error {
			_, err := cwc.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: many[:1]})
			return err
		}},
		{name: "no statistics", code: "MissingParameter", call: func() error {
			_, err := cwc.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Shop"), MetricName: aws.String("Latency"),
				StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), Period: aws.Int32(60)})
			return err
		}},
		{name: "names and prefix", code: "InvalidParameterCombination", call: func() error {
			_, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
			return err
		}},
		{name: "delete a missing alarm", code: "ResourceNotFound", call: func() error {
			_, err := cwc.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"nope"}})
			return err
		}},
		{name: "alarm without threshold", code: "InvalidParameterValue", call: func() error {
			_, err := cwc.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("x"), Namespace: aws.String("Shop"), MetricName: aws.String("Latency"),
				Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
			return err
		}},
	} {
		if err := tc.call(); apiCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}

	// Logs: the instance's log is a stream of /madang/instances.
	lc := cloudwatchlogs.NewFromConfig(cfg)
	groups, err := lc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/madang/instances")})
	if err != nil || len(groups.LogGroups) == 0 || aws.ToString(groups.LogGroups[0].LogGroupName) != "/madang/instances" {
		t.Fatalf("DescribeLogGroups = %+v, %v", groups, err)
	}
	streams, err := lc.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/madang/instances"), LogStreamNamePrefix: aws.String(id)})
	if err != nil || len(streams.LogStreams) != 1 || aws.ToString(streams.LogStreams[0].LogStreamName) != id {
		t.Fatalf("DescribeLogStreams = %+v, %v", streams, err)
	}
	var found []logtypes.FilteredLogEvent
	eventually(t, "FilterLogEvents to find the instance's start line", 20*time.Second, func() bool {
		out, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/madang/instances"),
			LogStreamNames: []string{id}, FilterPattern: aws.String(`"listening on"`)})
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		found = out.Events
		return len(found) > 0
	})
	if aws.ToString(found[0].LogStreamName) != id || aws.ToString(found[0].EventId) == "" || aws.ToInt64(found[0].Timestamp) < now.Add(-time.Minute).UnixMilli() {
		t.Errorf("FilterLogEvents event = %+v", found[0])
	}

	// A log group and stream of one's own: PutLogEvents and GetLogEvents.
	if _, err := lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/shop/checkout")}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	_, err = lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/shop/checkout")})
	var exists *logtypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("CreateLogGroup twice: %v, want ResourceAlreadyExistsException", err)
	}
	if _, err := lc.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/shop/checkout"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("PutRetentionPolicy: %v", err)
	}
	if _, err := lc.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1")}); err != nil {
		t.Fatalf("CreateLogStream: %v", err)
	}
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	old, err := lc.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"),
		LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(t0 - 15*24*3600*1000), Message: aws.String("far too old")}}})
	if err != nil || old.RejectedLogEventsInfo == nil || aws.ToInt32(old.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 1 {
		t.Fatalf("PutLogEvents of a 15-day-old event = %+v, %v; want it rejected as too old", old, err)
	}
	put, err := lc.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"),
		LogEvents: []logtypes.InputLogEvent{
			{Timestamp: aws.Int64(t0), Message: aws.String("order 1 paid")},
			{Timestamp: aws.Int64(t0 + 1), Message: aws.String("order 2 failed\n  at checkout")},
			{Timestamp: aws.Int64(t0 + 2), Message: aws.String("order 3 paid")},
		}})
	if err != nil || put.RejectedLogEventsInfo != nil || aws.ToString(put.NextSequenceToken) == "" {
		t.Fatalf("PutLogEvents = %+v, %v; want all stored", put, err)
	}
	ev, err := lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"), StartFromHead: aws.Bool(true)})
	if err != nil || len(ev.Events) != 3 || aws.ToString(ev.Events[1].Message) != "order 2 failed\n  at checkout" || aws.ToInt64(ev.Events[0].Timestamp) != t0 {
		t.Fatalf("GetLogEvents = %+v, %v", ev, err)
	}
	again, err := lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"), NextToken: ev.NextForwardToken})
	if err != nil || len(again.Events) != 0 || aws.ToString(again.NextForwardToken) != aws.ToString(ev.NextForwardToken) {
		t.Errorf("GetLogEvents at the end = %+v, %v; want no events and the same token", again, err)
	}
	paid, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/shop/checkout"), FilterPattern: aws.String("paid")})
	if err != nil || len(paid.Events) != 2 {
		t.Errorf("FilterLogEvents paid = %+v, %v", paid, err)
	}
	_, err = lc.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"),
		LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(t0 + 5), Message: aws.String("b")}, {Timestamp: aws.Int64(t0), Message: aws.String("a")}}})
	var badParam *logtypes.InvalidParameterException
	if !errors.As(err, &badParam) {
		t.Errorf("PutLogEvents out of order: %v, want InvalidParameterException", err)
	}
	if _, err := lc.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("/shop/checkout"), FilterName: aws.String("paid-orders"),
		FilterPattern: aws.String("paid"), MetricTransformations: []logtypes.MetricTransformation{{MetricName: aws.String("Paid"), MetricNamespace: aws.String("Shop"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatalf("PutMetricFilter: %v", err)
	}
	mf, err := lc.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/shop/checkout")})
	if err != nil || len(mf.MetricFilters) != 1 || aws.ToString(mf.MetricFilters[0].FilterPattern) != "paid" {
		t.Errorf("DescribeMetricFilters = %+v, %v", mf, err)
	}
	mine, err := lc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/shop/")})
	if err != nil || len(mine.LogGroups) != 1 || aws.ToInt32(mine.LogGroups[0].RetentionInDays) != 7 || aws.ToInt32(mine.LogGroups[0].MetricFilterCount) != 1 || aws.ToInt64(mine.LogGroups[0].StoredBytes) == 0 {
		t.Errorf("DescribeLogGroups /shop/ = %+v, %v", mine, err)
	}
	_, err = lc.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/madang/instances")})
	var invalidOp *logtypes.InvalidOperationException
	if !errors.As(err, &invalidOp) {
		t.Errorf("DeleteLogGroup of the instances' group: %v, want InvalidOperationException", err)
	}
	if _, err := lc.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/shop/checkout")}); err != nil {
		t.Fatalf("DeleteLogGroup: %v", err)
	}
	_, err = lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1")})
	var missing *logtypes.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("GetLogEvents of a deleted group: %v, want ResourceNotFoundException", err)
	}

	// A stack's alarm is readable through the API but not changeable.
	if err := os.MkdirAll(filepath.Join(dir, "alarms"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.must("apply", "-f", writeStack(t, filepath.Join(dir, "alarms"), `name: watch
alarms:
  - name: stack-cpu
    namespace: AWS/EC2
    metricName: CPUUtilization
    statistic: Average
    period: 60
    evaluationPeriods: 1
    threshold: 90
    comparisonOperator: GreaterThanThreshold
`))
	owned, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"stack-cpu"}})
	if err != nil || len(owned.MetricAlarms) != 1 || aws.ToFloat64(owned.MetricAlarms[0].Threshold) != 90 {
		t.Fatalf("DescribeAlarms of a stack's alarm = %+v, %v", owned, err)
	}
	_, err = cwc.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("stack-cpu"), Namespace: aws.String("AWS/EC2"),
		MetricName: aws.String("CPUUtilization"), Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(10), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	if apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "stack 'watch'") {
		t.Errorf("PutMetricAlarm over a stack's alarm: %v, want InvalidParameterValue naming stack watch", err)
	}
	if _, err := cwc.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"stack-cpu"}}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("DeleteAlarms of a stack's alarm: %v", err)
	}

	testAWSCLICloudWatch(t, s)
}

func sumOf(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

// testAWSCLICloudWatch runs the real aws CLI (AWS JSON 1.0 to CloudWatch)
// against the endpoint, with the settings of `madang aws-env`.
func testAWSCLICloudWatch(t *testing.T, s awsSettings) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Log("aws CLI not on PATH: skipping its part of the test")
		return
	}
	awsCLI := func(args ...string) (string, error) {
		cmd := exec.Command(cli, append([]string{"--endpoint-url", s.EndpointURL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+s.SecretAccessKey,
			"AWS_DEFAULT_REGION="+s.Region, "AWS_REGION="+s.Region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := awsCLI("cloudwatch", "put-metric-data", "--namespace", "CLI", "--metric-name", "Jobs", "--value", "7", "--dimensions", "Queue=mail"); err != nil {
		t.Fatalf("aws cloudwatch put-metric-data: %v\n%s", err, out)
	}
	if out, err := awsCLI("cloudwatch", "put-metric-alarm", "--alarm-name", "cli-jobs", "--namespace", "CLI", "--metric-name", "Jobs",
		"--dimensions", "Name=Queue,Value=mail", "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "100",
		"--comparison-operator", "GreaterThanThreshold"); err != nil {
		t.Fatalf("aws cloudwatch put-metric-alarm: %v\n%s", err, out)
	}
	out, err := awsCLI("cloudwatch", "describe-alarms", "--alarm-names", "cli-jobs")
	if err != nil {
		t.Fatalf("aws cloudwatch describe-alarms: %v\n%s", err, out)
	}
	var desc struct {
		MetricAlarms []struct {
			AlarmName, StateValue, MetricName string
			Threshold                         float64
		}
	}
	if err := json.Unmarshal([]byte(out), &desc); err != nil || len(desc.MetricAlarms) != 1 || desc.MetricAlarms[0].Threshold != 100 || desc.MetricAlarms[0].MetricName != "Jobs" {
		t.Errorf("aws cloudwatch describe-alarms = %s (%v)", out, err)
	}
	out, err = awsCLI("cloudwatch", "get-dashboard", "--dashboard-name", "nope")
	if err == nil || !strings.Contains(out, "ResourceNotFound") {
		t.Errorf("aws cloudwatch get-dashboard of a missing one: %v\n%s", err, out)
	}
	if out, err := awsCLI("cloudwatch", "delete-alarms", "--alarm-names", "cli-jobs"); err != nil {
		t.Errorf("aws cloudwatch delete-alarms: %v\n%s", err, out)
	}
}
