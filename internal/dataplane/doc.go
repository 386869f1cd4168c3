// Package dataplane runs the Application Load Balancers of a madang home —
// the proxy (package proxy) and the active and passive health checks
// (package health) — in a process of its own that outlives the daemon.
//
// The daemon starts the process (`madang dataplane`) in its own session,
// or adopts the one already running, found through StateFile. It talks to
// it over a unix socket in the home (SocketFile, mode 0600) with HTTP and
// JSON: it applies configurations (transactionally), reads target health,
// metrics and in-flight counts, saves and restores health, follows health
// changes, and asks the process to shut down. While the daemon is away the
// process keeps serving with its last configuration, keeps checking
// health, writes access logs and counts metrics; a returning daemon reads
// the health changes it missed.
//
// A new binary takes over from a running data plane without refusing a
// connection: the new process receives the listening sockets over the
// control socket (SCM_RIGHTS), starts accepting on them, and only then
// tells the old process to stop accepting, drain and exit.
//
// Engine is the data plane itself; the process serves one, and the daemon
// can also run one in its own process (tests, or when no separate process
// is wanted). Client is the daemon's side of the control socket.
package dataplane
