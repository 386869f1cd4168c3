// Package metricstore is madang's CloudWatch metric store (draft doc;
// completed with the measurements).
package metricstore
