package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/izaber/wamp/protocol"
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
	inBytes *atomic.Uint64 // bytes read from the socket so far (countingConn)
	blocked atomic.Bool    // read loop is waiting for Recv to take a message
}

func newCore(ser protocol.Serializer, lim limits, sendLimit, recvLimit int, inBytes *atomic.Uint64) *core {
	if inBytes == nil {
		inBytes = new(atomic.Uint64)
	}
	return &core{
		inBytes:   inBytes,
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
	return c.write(ctx, "send interrupted by its context", func() error { return write(b) })
}

// write runs w holding the writer slot. If ctx ends while w runs, the
// connection is closed (a half-written frame cannot be taken back) with an
// error that starts with why.
func (c *core) write(ctx context.Context, why string, w func() error) error {
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
		c.fail(fmt.Errorf("transport: %s, connection closed: %w", why, context.Cause(ctx)))
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
		before := c.inBytes.Load()
		ctx, cancel := context.WithTimeout(context.Background(), c.lim.pongTimeout)
		err := ping(ctx)
		cancel()
		if err == nil {
			continue
		}
		select {
		case <-c.done:
			return
		default:
		}
		if !errors.Is(err, errPongTimeout) {
			// The ping could not be written: the socket is broken and the
			// read loop reports why.
			c.lim.log.Debug("transport: keep-alive ping failed", "transport", kind, "err", err)
			return
		}
		if c.inBytes.Load() != before || c.blocked.Load() {
			continue // inconclusive: data arrived, or we were not reading
		}
		c.lim.log.Warn("transport: keep-alive failed", "transport", kind, "timeout", c.lim.pongTimeout)
		c.fail(fmt.Errorf("transport: %s keep-alive: no pong within %v, connection presumed dead", kind, c.lim.pongTimeout))
		return
	}
}

var errPongTimeout = errors.New("pong timeout")

var errNilMessage = errors.New("transport: cannot send a nil message")

// countingConn counts the bytes read, as keep-alive evidence.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.n.Add(uint64(n))
	}
	return n, err
}
