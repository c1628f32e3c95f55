package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// closeGrace bounds what a closing connection still writes (queued
// messages, the WebSocket close frame) before the socket is closed.
const closeGrace = time.Second

// wire is what a transport (RawSocket, WebSocket) adds to core.
type wire interface {
	// readMessage reads the next data message. It runs on the Recv
	// goroutine and may return errInterrupted (see interrupter). The bytes
	// may belong to the reader: they are valid until recycle.
	readMessage() ([]byte, error)
	// recycle tells the reader that the message readMessage returned last
	// has been decoded.
	recycle()
	// push queues one encoded message in the outbox, copying b if
	// copyIt (else b stays unchanged until written); the caller holds
	// core.sendMu.
	push(b []byte, copyIt bool) error
	// queuePing queues a keep-alive ping and returns the outbox offset at
	// its end.
	queuePing() int64
	// buffered reports whether bytes of a next message were received.
	buffered() bool
	// setRecvLimit changes the incoming message size limit.
	setRecvLimit(n int)
	// shutdown closes the transport for cause, after writing what cause
	// calls for (a WebSocket close frame) when graceful. Called once.
	shutdown(cause error, graceful bool)
}

// core is the part shared by the WebSocket and RawSocket peers.
//
// Ownership:
//   - reads belong to the goroutine in Recv (one at a time): it reads from
//     the socket, decodes and returns; there is no reader goroutine;
//   - writes go through out (see outbox), which owns the socket's write
//     side; sendMu serializes pushing encoded messages into it;
//   - err is written once inside once.Do, before done is closed, and read
//     only after done is closed;
//   - keep-alive runs on a runtime timer (ka), with no goroutine of its own.
type core struct {
	w         wire
	kind      string // "rawsocket" or "websocket"
	ser       protocol.Serializer
	lim       limits
	sendLimit int      // max outgoing message size (fixed after the handshake)
	recvLimit int      // max incoming message size once authenticated
	conn      net.Conn // the socket: deadlines, close
	out       *outbox
	intr      interrupter
	traffic   traffic
	reading   atomic.Int32    // a Recv is reading the socket
	preAuth   atomic.Bool     // the pre-authentication size limit applies
	slot      *addrSlot       // the connection's place in an AddressLimit, or nil
	held      atomic.Int32    // messages the reader took since it held writes
	armed     context.Context // the context intr was armed with last (owned by the Recv goroutine)

	sendMu sync.Mutex

	closing atomic.Bool // Close or Drop started: reads stop, sends fail
	once    sync.Once
	done    chan struct{} // closed when the connection is over
	err     error         // terminal error, set before done is closed
	ended   chan struct{} // closed when the socket is closed

	ka keepAlive
}

func (c *core) init(kind string, w wire, conn net.Conn, ser protocol.Serializer, lim limits, sendLimit, recvLimit int, writer interface{ Write([]byte) (int, error) }) {
	c.kind = kind
	c.w = w
	c.ser = ser
	c.lim = lim
	c.sendLimit = sendLimit
	c.recvLimit = recvLimit
	c.conn = conn
	c.intr.conn = conn
	if lim.preAuthSize > 0 && lim.preAuthSize < recvLimit {
		c.preAuth.Store(true)
	}
	c.done = make(chan struct{})
	c.ended = make(chan struct{})
	c.out = newOutbox(writer, &c.traffic.out, func(err error) {
		c.fail(fmt.Errorf("%w: %w", errWrite, err))
	})
	c.ka.c = c
}

func (c *core) Serializer() protocol.Serializer { return c.ser }

// fail ends the connection with cause (the first cause wins). A graceful
// end (local Close, a protocol error the peer should hear about, the
// peer's own close) still writes what is queued, bounded by closeGrace; any
// other closes the socket at once.
func (c *core) fail(cause error) {
	c.once.Do(func() {
		c.closing.Store(true)
		c.err = terminal(cause)
		close(c.done)
		c.ka.stop()
		_ = c.conn.SetReadDeadline(aLongTimeAgo) // a blocked Recv returns
		go c.finish(cause)
	})
}

// finish closes the transport and the socket; it runs once per connection
// on a goroutine of its own, which Close waits for.
func (c *core) finish(cause error) {
	defer close(c.ended)
	var ka *keepAliveError
	graceful := !errors.As(cause, &ka) && !errors.Is(cause, errWrite)
	c.out.release()
	c.w.shutdown(cause, graceful)
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		_ = c.out.wait(ctx, 0, func() error { return nil })
		cancel()
	}
	c.out.close(c.err)
	_ = c.conn.Close()
	c.out.wg.Wait()
	c.intr.disarm()
	c.slot.release()
}

// errWrite marks write failures: nothing more can be written.
var errWrite = errors.New("transport: write")

// Close closes the connection: what is queued is still written (for at
// most closeGrace) and the WebSocket close handshake started, then the
// socket is closed. Close waits for the connection's goroutines.
func (c *core) Close() error {
	c.fail(ErrClosed)
	<-c.ended
	c.ka.wait()
	return nil
}

// closedErr is the error for operations after the connection ended.
func (c *core) closedErr() error {
	<-c.done
	return c.err
}

// Recv reads, on the caller's goroutine, the next message. A decode error
// is returned as is and leaves the connection open (framing is intact); the
// caller decides what to do. ctx bounds the wait without closing the
// connection.
func (c *core) Recv(ctx context.Context) (protocol.Message, error) {
	select {
	case <-c.done:
		return nil, c.err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.held.Load() >= holdAhead {
		c.releaseHeld()
	}
	if ctx != c.armed {
		c.intr.arm(ctx)
		c.armed = ctx
	}
	c.reading.Add(1)
	b, err := c.w.readMessage()
	for errors.Is(err, errInterrupted) && !c.closing.Load() && ctx.Err() == nil {
		c.intr.reset()
		b, err = c.w.readMessage()
	}
	c.reading.Add(-1)
	if err != nil {
		if errors.Is(err, errInterrupted) && !c.closing.Load() {
			return nil, ctx.Err()
		}
		if c.closing.Load() {
			return nil, c.closedErr()
		}
		c.fail(err)
		return nil, c.closedErr()
	}
	m, err := c.decode(b) // the message keeps nothing of b
	c.w.recycle()
	return m, err
}

func (c *core) decode(b []byte) (protocol.Message, error) {
	m, err := c.ser.Unmarshal(b)
	if err != nil {
		// m is kept for a *protocol.URIError (see Peer.Recv).
		return m, fmt.Errorf("transport: received %s message (%d bytes) does not decode: %w", c.ser.Name(), len(b), err)
	}
	return m, nil
}

// encoded is a message encoded for sending. Its bytes are in a pooled
// scratch buffer (buf not nil), which the outbox copies (one copy, no
// allocation) and release gives back, or they are the message's own (a
// shared encoding, or one big enough to be queued by reference).
type encoded struct {
	b   []byte
	buf *[]byte
}

// maxScratch is the largest scratch buffer kept for reuse.
const maxScratch = copyAbove

var scratchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// release gives the scratch buffer back, once the outbox has the bytes.
func (e encoded) release() {
	if e.buf != nil && cap(e.b) <= maxScratch {
		*e.buf = e.b[:0]
		scratchBufs.Put(e.buf)
	}
}

// encode serializes m for sending.
func (c *core) encode(m protocol.Message) (encoded, error) {
	if m == nil || unshare(m) == nil {
		return encoded{}, errNilMessage
	}
	var e encoded
	var err error
	if _, shared := m.(*Shared); shared {
		e.b, err = marshal(c.ser, m)
	} else {
		e.buf = scratchBufs.Get().(*[]byte)
		e.b, err = protocol.AppendMarshal(c.ser, (*e.buf)[:0], m)
		if err == nil && len(e.b) >= copyAbove {
			// Queued by reference: the bytes are the message's own
			// now, and the scratch buffer is not reused.
			e.buf = nil
		}
	}
	if err != nil {
		e.release()
		return encoded{}, fmt.Errorf("transport: cannot encode %s as %s: %w", codeOf(m), c.ser.Name(), err)
	}
	if len(e.b) > c.sendLimit {
		e.release()
		return encoded{}, &MessageTooBigError{Size: len(e.b), Limit: c.sendLimit}
	}
	return e, nil
}

// push queues e (the caller holds sendMu).
func (c *core) push(e encoded) error { return c.w.push(e.b, e.buf != nil) }

// Send encodes m, waits (bounded by ctx, the connection staying open) until
// the outbox has room, and queues m; the write itself never blocks the
// caller. An error from a write that follows ends the connection and is
// returned by Recv and later calls.
func (c *core) Send(ctx context.Context, m protocol.Message) error {
	if err := c.Queue(ctx, m); err != nil {
		return err
	}
	c.out.flush()
	return nil
}

// Queue implements NetPeer.
func (c *core) Queue(ctx context.Context, m protocol.Message) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := c.encode(m)
	if err != nil {
		return err
	}
	defer e.release()
	if err := c.out.room(ctx, len(e.b), c.closedErr); err != nil {
		return err
	}
	c.sendMu.Lock()
	if c.closing.Load() {
		c.sendMu.Unlock()
		return c.closedErr()
	}
	err = c.push(e)
	c.sendMu.Unlock()
	return err
}

// Flush implements NetPeer.
func (c *core) Flush() { c.out.flush() }

// Enqueue implements NetPeer.
func (c *core) Enqueue(msgs []protocol.Message) (int, error) {
	select {
	case <-c.done:
		return 0, c.err
	default:
	}
	var err error
	n := 0
	c.sendMu.Lock()
	c.out.cork()
	for _, m := range msgs {
		var e encoded
		if e, err = c.encode(m); err != nil {
			break
		}
		if c.closing.Load() {
			e.release()
			err = ErrClosed
			break
		}
		err = c.push(e)
		e.release()
		if err != nil {
			break
		}
		n++
	}
	c.out.uncork()
	c.sendMu.Unlock()
	c.out.flush()
	if errors.Is(err, ErrClosed) {
		select {
		case <-c.done:
			err = c.err
		default:
		}
	}
	return n, err
}

// Backlog implements NetPeer.
func (c *core) Backlog() (int, time.Duration) { return c.out.backlog() }

// WaitBacklog implements NetPeer.
func (c *core) WaitBacklog(ctx context.Context, n int) error {
	return c.out.wait(ctx, n, c.closedErr)
}

// holdAhead bounds how many messages the reader may take while holding
// writes (NetPeer.HoldWrites) before Recv writes what it held.
const holdAhead = 64

// HoldWrites implements NetPeer.
func (c *core) HoldWrites() {
	if !c.closing.Load() {
		c.held.Add(1)
		c.out.hold()
	}
}

// releaseHeld writes what the reader held, after yielding once so that the
// goroutines woken by the messages it dispatched run first and queue their
// answers, which then go out with the rest.
func (c *core) releaseHeld() {
	c.held.Store(0)
	runtime.Gosched()
	c.out.release()
}

// Buffered implements NetPeer.
func (c *core) Buffered() bool { return c.w.buffered() }

// KeepAlive implements NetPeer.
func (c *core) KeepAlive() (time.Duration, time.Duration, bool) {
	return c.lim.pingInterval, c.lim.pongTimeout, c.ka.running()
}

// StartPing implements NetPeer.
func (c *core) StartPing() bool {
	if c.lim.pingInterval <= 0 {
		return false
	}
	c.ka.start()
	return c.ka.running()
}

// Authenticated implements NetPeer.
func (c *core) Authenticated() {
	if c.preAuth.CompareAndSwap(true, false) {
		c.w.setRecvLimit(c.recvLimit)
	}
	c.slot.authenticated()
}

// currentRecvLimit is the incoming message size limit now.
func (c *core) currentRecvLimit() int {
	if c.preAuth.Load() {
		return min(c.lim.preAuthSize, c.recvLimit)
	}
	return c.recvLimit
}

// Drop implements NetPeer.
func (c *core) Drop(last protocol.Message, why error) {
	if why == nil {
		why = errors.New("transport: connection dropped")
	}
	var e encoded
	if last != nil {
		e, _ = c.encode(last)
		defer e.release()
	}
	c.sendMu.Lock()
	c.out.mu.Lock()
	c.out.discardUnstartedLocked()
	c.out.mu.Unlock()
	if e.b != nil && !c.closing.Load() {
		_ = c.push(e)
	}
	c.sendMu.Unlock()
	c.out.flush()
	c.fail(&dropError{why})
}

// dropError is the terminal error of a dropped connection.
type dropError struct{ why error }

func (e *dropError) Error() string { return e.why.Error() }
func (e *dropError) Unwrap() error { return e.why }

func codeOf(m protocol.Message) string {
	if m == nil {
		return "nil message"
	}
	return m.Code().String()
}

var errNilMessage = errors.New("transport: cannot send a nil message")

// traffic counts the bytes moved on a socket, as keep-alive evidence.
type traffic struct {
	in, out  atomic.Uint64
	lastIn   atomic.Int64 // mono() of the last read that returned bytes
	awaiting atomic.Bool  // a keep-alive ping is out: call answered on the next byte
	answered func()       // set before awaiting is first set
}

// keepAlive pings a silent connection and declares it dead when nothing
// comes back. It runs on a runtime timer (time.AfterFunc): no goroutine
// exists between ticks.
//
// When no byte has arrived for the ping interval, a ping is queued; the
// connection is dead when within the timeout no byte arrived although a
// Recv was reading (a reader busy elsewhere, such as a router slowing a
// source down, is no evidence either way), or when the ping could not even
// be written and no byte moved in either direction. A dead peer is
// therefore noticed at most interval + timeout after the last byte it
// sent.
//
// Ownership: mu guards everything; tick runs on the timer's goroutine.
type keepAlive struct {
	c *core

	mu      sync.Mutex
	t       *time.Timer
	on      bool // started
	stopped bool
	active  int // ticks running
	quiet   *sync.Cond
	waiting bool  // a ping is out
	pingAt  int64 // mono() when it was queued
	pingOut uint64
	pingEnd int64
}

func (k *keepAlive) start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.on || k.stopped {
		return
	}
	k.on = true
	k.c.traffic.lastIn.CompareAndSwap(0, mono())
	k.c.traffic.answered = k.answered
	k.t = time.AfterFunc(k.c.lim.pingInterval, k.tick)
}

func (k *keepAlive) running() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.on && !k.stopped
}

func (k *keepAlive) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.t != nil {
		k.t.Stop()
	}
}

// answered runs on the reader when the first byte after a ping arrives:
// the peer is alive, and the next ping is due an interval from now.
func (k *keepAlive) answered() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.waiting && !k.stopped {
		k.waiting = false
		k.t.Reset(k.c.lim.pingInterval)
	}
}

// wait waits for a tick that is running to return.
func (k *keepAlive) wait() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for k.active > 0 {
		if k.quiet == nil {
			k.quiet = sync.NewCond(&k.mu)
		}
		k.quiet.Wait()
	}
}

func (k *keepAlive) tick() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.active++
	k.mu.Unlock()
	dead := k.check()
	k.mu.Lock()
	k.active--
	if k.active == 0 && k.quiet != nil {
		k.quiet.Broadcast()
	}
	k.mu.Unlock()
	if dead != nil {
		k.c.lim.log.Warn("transport: keep-alive: connection presumed dead", "transport", k.c.kind, "err", dead)
		k.c.fail(dead)
	}
}

// check runs one keep-alive step and returns the error that ends the
// connection, if it is dead.
func (k *keepAlive) check() error {
	c := k.c
	interval, timeout := c.lim.pingInterval, c.lim.pongTimeout
	now := mono()
	last := c.traffic.lastIn.Load()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return nil
	}
	idle := time.Duration(now - last)
	if !k.waiting {
		if idle < interval {
			k.t.Reset(interval - idle)
			return nil
		}
		k.waiting = true
		k.pingAt, k.pingOut = now, c.traffic.out.Load()
		c.traffic.awaiting.Store(true)
		k.mu.Unlock()
		end := c.queuePing()
		k.mu.Lock()
		k.pingEnd = end
		// Unless the answer came already (answered has set the next
		// ping an interval from then, which must stand).
		if !k.stopped && k.waiting {
			k.t.Reset(timeout)
		}
		return nil
	}
	k.waiting = false
	c.traffic.awaiting.Store(false)
	switch {
	case last > k.pingAt:
		k.t.Reset(max(interval-idle, 0)) // something arrived: alive
		return nil
	case c.reading.Load() == 0:
		k.t.Reset(interval) // nobody was reading: no evidence either way
		return nil
	case !c.out.writtenUpTo(k.pingEnd):
		if c.traffic.out.Load() != k.pingOut {
			k.t.Reset(interval) // a slow link: bytes still drain
			return nil
		}
		return &keepAliveError{msg: fmt.Sprintf("transport: %s keep-alive: no byte moved either way within %v while a send was pending, connection presumed dead", c.kind, timeout)}
	}
	return &keepAliveError{msg: fmt.Sprintf("transport: %s keep-alive: no pong within %v, connection presumed dead", c.kind, timeout)}
}

// queuePing queues a ping through the transport and flushes it.
func (c *core) queuePing() int64 {
	c.sendMu.Lock()
	end := c.w.queuePing()
	c.sendMu.Unlock()
	c.out.flush()
	return end
}

// keepAliveError is a connection declared dead by keep-alive.
type keepAliveError struct {
	msg   string
	cause error // what else went wrong, if anything
}

func (e *keepAliveError) Error() string {
	if e.cause != nil {
		return e.msg + " (" + e.cause.Error() + ")"
	}
	return e.msg
}
func (e *keepAliveError) Unwrap() error { return e.cause }

// Traffic implements TrafficCounter.
func (c *core) Traffic() (in, out uint64) { return c.traffic.in.Load(), c.traffic.out.Load() }
