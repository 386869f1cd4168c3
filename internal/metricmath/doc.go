// Package metricmath parses and evaluates CloudWatch metric math: the
// Expression of a GetMetricData MetricDataQuery, such as "m1/m2*100",
// "SUM(METRICS(\"errors\"))" or "IF(latency > 0.5, 1, 0)".
//
// Parse turns an expression into an *Expr, Order sorts a request's query ids
// so that every expression comes after the ids it uses, and Eval computes an
// expression's result from the series of the ids evaluated before it.
//
// The semantics follow the CloudWatch User Guide ("Using metric math"):
//
//   - Values are scalars (S), time series (TS) or arrays of time series
//     (TS[]). The final result of an expression must be a TS or a TS[]; an
//     expression whose result is a scalar is an error, as in CloudWatch.
//   - Arithmetic (+ - * / ^), comparisons (== != < <= > >=, giving 1 or 0)
//     and logical operators (AND &&, OR ||) between two time series work on
//     the union of their timestamps, a value missing from one side counting
//     as 0, as the guide documents for arithmetic and comparisons. A point
//     whose result is not a finite number (division by zero, LOG of 0, a
//     negative number to a fractional power) is dropped rather than
//     returned as Inf or NaN, as the guide documents for division by zero.
//   - Between a scalar and a series the operation applies to every point;
//     between an array and a scalar or a series it applies to every series
//     of the array.
//
// Functions: ABS, AVG, CEIL, CONCAT, DATAPOINT_COUNT, DIFF, DIFF_TIME,
// FILL, FIRST, FLOOR, IF, LAST, LOG, LOG10, MAX, METRIC_COUNT, METRICS, MIN,
// PERIOD, RATE, REMOVE_EMPTY, RUNNING_SUM, SLICE, SORT, STDDEV, SUM,
// TIME_SERIES, and the date functions MINUTE, HOUR, DAY, DATE, MONTH, YEAR
// and EPOCH. Not supported, since they need CloudWatch services beyond
// metric data: ANOMALY_DETECTION_BAND, SEARCH, INSIGHT_RULE_METRIC,
// SERVICE_QUOTA, LAMBDA and DB_PERF_INSIGHTS. CloudWatch has no SQRT or EXP;
// x ^ 0.5 serves.
//
// Where the guide leaves a behaviour open, the choice made here is written
// in the doc comment of the function concerned, and tested.
package metricmath
