package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// recvQueue is how many received messages may wait for Recv before the read
// loop stops reading from the socket (back-pressure to the sender). Small,
// because each may be MaxMessageSize bytes.
const recvQueue = 4

// closeGrace bounds a graceful close (the WebSocket close handshake) before
// the socket is dropped.
const closeGrace = time.Second

// core is the part shared by the WebSocket and RawSocket peers.
//
// Ownership:
//   - the read loop goroutine owns all reads from the socket, sends on in,
//     and closes readDone when it returns;
//   - writes are serialized by wlock (a one-slot semaphore): whoever holds it
//     may write to the socket;
//   - err is written once inside once.Do, before done is closed, and read
//     only after done is closed;
//   - the keep-alive goroutine, if any, closes pingDone when it returns.
type core struct {
	ser       protocol.Serializer
	lim       limits
	sendLimit int // max outgoing message size (fixed after the handshake)
	recvLimit int // max incoming message size

	in       chan []byte   // read loop -> Recv
	readDone chan struct{} // closed when the read loop returns
	pingDone chan struct{} // closed when the keep-alive goroutine returns (or at once)

	once sync.Once
	done chan struct{} // closed when the connection is over
	err  error         // terminal error, set before done is closed

	wlock chan struct{}

	// closeTransport closes the socket; cause is the terminal error (ErrClosed
	// for a local Close). Called once, from fail.
	closeTransport func(cause error)

	// Keep-alive evidence, written by the read loop / socket wrapper.
	traffic *traffic    // bytes moved on the socket so far (countingConn)
	blocked atomic.Bool // read loop is waiting for Recv to take a message
	// pingStart is when the keep-alive ping in flight was started (unix
	// nanoseconds, 0 when none), so that a connection dropped because the
	// ping could not be written is reported as a keep-alive failure.
	pingStart atomic.Int64
	pingKind  string
}

func newCore(ser protocol.Serializer, lim limits, sendLimit, recvLimit int, tr *traffic) *core {
	if tr == nil {
		tr = new(traffic)
	}
	return &core{
		traffic:   tr,
		ser:       ser,
		lim:       lim,
		sendLimit: sendLimit,
		recvLimit: recvLimit,
		in:        make(chan []byte, recvQueue),
		readDone:  make(chan struct{}),
		pingDone:  make(chan struct{}),
		done:      make(chan struct{}),
		wlock:     make(chan struct{}, 1),
	}
}

func (c *core) Serializer() protocol.Serializer { return c.ser }

// fail ends the connection with cause (the first cause wins) and closes the
// socket. It does not wait for the read loop.
func (c *core) fail(cause error) {
	var ka *keepAliveError
	if start := c.pingStart.Load(); start != 0 && cause != ErrClosed && !errors.As(cause, &ka) {
		// coder/websocket drops the connection when a ping cannot be
		// written within its context; say so instead of "closed".
		limit := min(c.lim.pongTimeout, 5*time.Second)
		if d := time.Since(time.Unix(0, start)); d >= limit*9/10 {
			cause = &keepAliveError{fmt.Sprintf("transport: %s keep-alive: ping not delivered within %v, connection presumed dead", c.pingKind, limit), cause}
		}
	}
	c.once.Do(func() {
		c.err = terminal(cause)
		close(c.done)
		c.closeTransport(cause)
	})
}

// Close closes the connection and waits for its goroutines to finish.
func (c *core) Close() error {
	c.fail(ErrClosed)
	<-c.readDone
	<-c.pingDone
	return nil
}

// closedErr is the error for operations after the connection ended.
func (c *core) closedErr() error {
	<-c.done
	return c.err
}

// deliver hands a received payload to Recv. It reports false when the
// connection ended first.
func (c *core) deliver(b []byte) bool {
	select {
	case c.in <- b:
		return true
	default:
	}
	c.blocked.Store(true)
	defer c.blocked.Store(false)
	select {
	case c.in <- b:
		return true
	case <-c.done:
		return false
	}
}

// Recv returns the next message. Messages already received are returned
// before the terminal error. A decode error is returned as is and leaves the
// connection open (framing is intact); the caller decides what to do.
func (c *core) Recv(ctx context.Context) (protocol.Message, error) {
	select {
	case b := <-c.in:
		return c.decode(b)
	default:
	}
	select {
	case b := <-c.in:
		return c.decode(b)
	case <-c.readDone:
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// The connection ended; messages received before that still count.
	select {
	case b := <-c.in:
		return c.decode(b)
	default:
		return nil, c.closedErr()
	}
}

func (c *core) decode(b []byte) (protocol.Message, error) {
	m, err := c.ser.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("transport: received %s message (%d bytes) does not decode: %w", c.ser.Name(), len(b), err)
	}
	return m, nil
}

// Send serializes m and writes it with write. The context bounds waiting
// for the writer slot (the connection stays open) and the write itself (the
// connection is closed if the context ends mid-write).
func (c *core) send(ctx context.Context, m protocol.Message, write func([]byte) error) error {
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if m == nil {
		return errNilMessage
	}
	b, err := c.ser.Marshal(m)
	if err != nil {
		return fmt.Errorf("transport: cannot encode %s as %s: %w", codeOf(m), c.ser.Name(), err)
	}
	if len(b) > c.sendLimit {
		return &MessageTooBigError{Size: len(b), Limit: c.sendLimit}
	}
	return c.write(ctx, sendInterrupted, func() error { return write(b) })
}

func sendInterrupted(cause error) error {
	return fmt.Errorf("transport: send interrupted by its context, connection closed: %w", cause)
}

// write runs w holding the writer slot. If ctx ends while w runs, the
// connection is closed (a half-written frame cannot be taken back) with the
// error interrupted(context cause).
func (c *core) write(ctx context.Context, interrupted func(error) error, w func() error) error {
	select {
	case c.wlock <- struct{}{}:
	case <-c.done:
		return c.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.wlock }()
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	stop := context.AfterFunc(ctx, func() {
		c.fail(interrupted(context.Cause(ctx)))
	})
	err := w()
	if !stop() {
		// The context ended during the write and closed the connection.
		return c.closedErr()
	}
	if err != nil {
		c.fail(fmt.Errorf("transport: write: %w", err))
		return c.closedErr()
	}
	return nil
}

func codeOf(m protocol.Message) string {
	if m == nil {
		return "nil message"
	}
	return m.Code().String()
}

// keepAlive pings every interval using ping, which sends a ping and waits
// for its pong up to the pong timeout (returning errPongTimeout when the
// pong did not come). When no pong arrives, no inbound byte arrived since
// the ping, and the read loop was free to read it, the connection is
// declared dead.
func (c *core) keepAlive(kind string, ping func(ctx context.Context) error) {
	defer close(c.pingDone)
	t := time.NewTicker(c.lim.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		inBefore, outBefore := c.traffic.in.Load(), c.traffic.out.Load()
		ctx, cancel := context.WithTimeout(context.Background(), c.lim.pongTimeout)
		c.pingStart.Store(time.Now().UnixNano())
		err := ping(ctx)
		c.pingStart.Store(0)
		cancel()
		if err == nil {
			continue
		}
		select {
		case <-c.done:
			return
		default:
		}
		inMoved := c.traffic.in.Load() != inBefore
		switch {
		case errors.Is(err, errPongTimeout):
			if inMoved || c.blocked.Load() {
				continue // inconclusive: data arrived, or we were not reading
			}
			c.lim.log.Warn("transport: keep-alive: no pong", "transport", kind, "timeout", c.lim.pongTimeout)
			c.fail(&keepAliveError{msg: fmt.Sprintf("transport: %s keep-alive: no pong within %v, connection presumed dead", kind, c.lim.pongTimeout)})
			return
		case errors.Is(err, errPingNotWritten):
			// A send held the writer for the whole window. Alive if bytes
			// moved either way (a slow link), or we were not reading.
			if inMoved || c.traffic.out.Load() != outBefore || c.blocked.Load() {
				continue
			}
			c.lim.log.Warn("transport: keep-alive: connection stalled", "transport", kind, "timeout", c.lim.pongTimeout)
			c.fail(&keepAliveError{msg: fmt.Sprintf("transport: %s keep-alive: no byte moved either way within %v while a send was pending, connection presumed dead", kind, c.lim.pongTimeout)})
			return
		default:
			// The socket is broken; the read loop reports why.
			c.lim.log.Debug("transport: keep-alive ping failed", "transport", kind, "err", err)
			return
		}
	}
}

// Results of a keep-alive ping function besides nil and a broken socket.
var (
	errPongTimeout    = errors.New("pong timeout")     // ping written, no pong in time
	errPingNotWritten = errors.New("ping not written") // writer busy for the whole window
)

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

var errNilMessage = errors.New("transport: cannot send a nil message")

// traffic counts the bytes moved on a socket, as keep-alive evidence.
type traffic struct {
	in, out atomic.Uint64
}

// countingConn counts the bytes read and written.
type countingConn struct {
	net.Conn
	t *traffic
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.t.in.Add(uint64(n))
	}
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.t.out.Add(uint64(n))
	}
	return n, err
}

// Traffic implements TrafficCounter.
func (c *core) Traffic() (in, out uint64) { return c.traffic.in.Load(), c.traffic.out.Load() }
