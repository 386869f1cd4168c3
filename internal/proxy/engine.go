package proxy

// engine accepts a listener's client connections and runs their request
// code. There are two: loopEngine, the Linux event loops (every loop
// accepts on a duplicate of the listening socket and runs each
// connection as a coroutine on its own thread, switching on socket
// readiness), and goroutineEngine, one goroutine per connection on the
// Go runtime's poller (other systems, Options.EventLoops < 0, and
// listeners the loops cannot take). Both serve the same conn code; the
// engine only decides who reads and writes the sockets (sockIO).
//
// The contract, for both:
//
//   - serve starts accepting on l and returns at once, or returns an
//     error, having started nothing, when it cannot serve l. The caller
//     has added 1 to l.wg for the accept work; the engine calls l.wg.Done
//     once that work is over, after stopAccepting (or the listening
//     socket's close).
//   - Each accepted connection is first admitted (conn.admit: the
//     per-IP header-phase cap); refused ones are closed at once. An
//     admitted connection is registered in l.conns with l.wg.Add(1)
//     under l.mu unless l is draining (then it is closed), served until
//     it ends, and then removed with l.remove.
//   - stopAccepting stops new accepts on l. It neither waits nor touches
//     connections already accepted; listener.closeGracefully and
//     closeAll deal with those.
//   - close is called once, at Shutdown, after every listener has been
//     drained; it stops the engine's own goroutines and waits for them.
type engine interface {
	serve(l *listener) error
	stopAccepting(l *listener)
	close()
}

// goroutineEngine serves each connection with its own goroutine.
type goroutineEngine struct{}

func (goroutineEngine) serve(l *listener) error {
	go l.acceptLoop()
	return nil
}

// stopAccepting needs nothing more: closing the listening socket, which
// the listener does, ends acceptLoop.
func (goroutineEngine) stopAccepting(*listener) {}

func (goroutineEngine) close() {}

// loopEngine serves connections on the proxy's event loops.
type loopEngine struct{ loops []*loop }

func (e loopEngine) serve(l *listener) error {
	f, err := rawListenerFile(l.ln)
	if err != nil {
		return err
	}
	l.startLoops(f)
	return nil
}

func (e loopEngine) stopAccepting(l *listener) { l.stopLoops() }

func (e loopEngine) close() {
	for _, lp := range e.loops {
		lp.stop()
	}
}

var (
	_ engine = goroutineEngine{}
	_ engine = loopEngine{}
)
