// Package health decides which targets of madang's Application Load
// Balancer may receive traffic.
//
// It runs AWS-style active health checks (an HTTP GET on a new connection
// every interval, with AWS's thresholds, states and reason codes), ejects
// targets from live traffic faster than AWS does when the proxy reports
// consecutive connection failures or 5xx responses (passive checks, in the
// manner of Envoy's outlier detection), and keeps every target's state
// across configuration reloads and, through [Manager.Snapshot] and
// [Manager.Restore], across daemon restarts.
//
// The control plane describes the wanted target groups with
// [Manager.Update]; the data plane learns routability through a [Sink] and
// reports live traffic through [Manager.Observe].
package health
