package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// RawSocket frame types (the low three bits of the first header octet).
const (
	FrameMessage byte = 0
	FramePing    byte = 1
	FramePong    byte = 2
)

// Frame is one transport message: a WebSocket message or a RawSocket frame.
type Frame struct {
	// Payload is the frame's content: a serialized WAMP message, or a
	// PING/PONG payload.
	Payload []byte
	// Type is the RawSocket frame type (FrameMessage for WebSocket).
	Type byte
	// Text marks a WebSocket text message (false: binary).
	Text bool
	// Msg is the decoded WAMP message of a FrameMessage frame that decoded
	// and validated with the connection's serializer.
	Msg protocol.Message
	// Err is why a FrameMessage frame did not decode (nil when Msg is set).
	Err error
	// Oversized marks a received RawSocket frame larger than the limit this
	// side announced in its handshake.
	Oversized bool
}

// Direction says which way an Event went.
type Direction int

// Directions of an Event.
const (
	Sent     Direction = iota // a frame this side sent
	Received                  // a frame this side received
	Note                      // a handshake step, a close, an error
)

// Event is one thing that happened on a connection, for transcripts.
type Event struct {
	Time  time.Time
	Dir   Direction
	Frame *Frame // for Sent and Received
	Text  string // for Note
}

// Observer is told about every Event of a connection, synchronously, from
// the goroutine it happened on. It must be safe for concurrent use.
type Observer func(Event)

// ClosedError is the end of a connection.
type ClosedError struct {
	// ByPeer is true when the other side closed or dropped the connection.
	ByPeer bool
	// Status is the WebSocket close status, or -1 (RawSocket, or no close
	// frame).
	Status int
	// Reason is the WebSocket close reason.
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *ClosedError) Error() string {
	who := "closed"
	if e.ByPeer {
		who = "closed by peer"
	}
	switch {
	case e.Status >= 0:
		return fmt.Sprintf("wire: connection %s: websocket status %d %q", who, e.Status, e.Reason)
	case e.Err != nil:
		return fmt.Sprintf("wire: connection %s: %v", who, e.Err)
	}
	return "wire: connection " + who
}

func (e *ClosedError) Unwrap() error { return e.Err }

// ErrClosed is matched (errors.Is) by every *ClosedError.
var ErrClosed = errors.New("wire: connection closed")

// Is reports whether target is ErrClosed.
func (e *ClosedError) Is(target error) bool { return target == ErrClosed }

// link is the transport-specific half of a Conn.
type link interface {
	// read blocks for the next frame.
	read() (*Frame, error)
	// write sends one frame; ctx bounds it.
	write(ctx context.Context, f *Frame) error
	// close tears the connection down at once.
	close()
	// closeWith closes gracefully where the transport can (WebSocket
	// status), else as close.
	closeWith(status int, reason string)
}

// Conn is one connection to or from a router. Send* and Recv are safe for
// concurrent use; Recv hands out frames in arrival order.
type Conn struct {
	transport   string
	ser         protocol.Serializer
	subprotocol string // WebSocket: the negotiated subprotocol
	reply       []byte // RawSocket: the handshake reply (client) or request (server)
	peerLimit   int    // RawSocket: the largest frame the peer accepts
	manualPong  bool   // do not answer PINGs
	tag         any    // set by a server-side handshake hook
	obs         Observer
	l           link

	wmu sync.Mutex // serializes writes

	mu     sync.Mutex // guards queue and err
	queue  []*Frame
	err    error
	notify chan struct{} // a frame was queued (cap 1)
	done   chan struct{} // closed when the reader ends
}

func newConn(transport string, ser protocol.Serializer, l link, obs Observer) *Conn {
	return &Conn{
		transport: transport,
		ser:       ser,
		obs:       obs,
		l:         l,
		peerLimit: 1 << 24,
		notify:    make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

func (c *Conn) start() { go c.readLoop() }

// Transport is WebSocket, RawSocketTCP or RawSocketUnix.
func (c *Conn) Transport() string { return c.transport }

// Serializer is the serializer in use, or nil when the handshake settled on
// one this package does not know.
func (c *Conn) Serializer() protocol.Serializer { return c.ser }

// Subprotocol is the negotiated WebSocket subprotocol ("" for RawSocket).
func (c *Conn) Subprotocol() string { return c.subprotocol }

// HandshakeOctets is the RawSocket handshake reply a client received, or
// the request a server received (nil for WebSocket).
func (c *Conn) HandshakeOctets() []byte { return c.reply }

// PeerLimit is the largest frame payload the peer accepts, as announced in
// its RawSocket handshake (16 MiB for WebSocket, which announces none).
func (c *Conn) PeerLimit() int { return c.peerLimit }

// Tag is what the server-side handshake hook returned for this connection.
func (c *Conn) Tag() any { return c.tag }

// Done is closed when the connection has ended (and the reader with it).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is the *ClosedError that ended the connection, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) note(format string, args ...any) {
	if c.obs != nil {
		c.obs(Event{Time: time.Now(), Dir: Note, Text: fmt.Sprintf(format, args...)})
	}
}

func (c *Conn) observe(dir Direction, f *Frame) {
	if c.obs != nil {
		c.obs(Event{Time: time.Now(), Dir: dir, Frame: f})
	}
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		f, err := c.l.read()
		if err != nil {
			var ce *ClosedError
			if !errors.As(err, &ce) {
				ce = &ClosedError{ByPeer: true, Status: -1, Err: err}
			}
			c.mu.Lock()
			if c.err == nil {
				c.err = ce
			} else {
				ce = c.err.(*ClosedError)
			}
			c.mu.Unlock()
			c.note("%v", ce)
			c.l.close()
			return
		}
		if f.Type == FrameMessage && c.ser != nil {
			f.Msg, f.Err = c.ser.Unmarshal(f.Payload)
		}
		c.observe(Received, f)
		if f.Type == FramePing && c.transport != WebSocket && !c.manualPong {
			// A peer MUST answer every PING with a PONG echoing it.
			_ = c.SendFrame(context.Background(), &Frame{Type: FramePong, Payload: f.Payload})
		}
		c.mu.Lock()
		c.queue = append(c.queue, f)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// Recv returns the next received frame. Frames received before the
// connection ended are returned first; then the *ClosedError. ctx bounds
// the wait only.
func (c *Conn) Recv(ctx context.Context) (*Frame, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			f := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return f, nil
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.done:
			c.mu.Lock()
			n := len(c.queue)
			err := c.err
			c.mu.Unlock()
			if n == 0 {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Pending reports how many received frames wait for Recv.
func (c *Conn) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Send marshals m with the connection's serializer (which validates it)
// and sends it.
func (c *Conn) Send(ctx context.Context, m protocol.Message) error {
	if c.ser == nil {
		return errors.New("wire: no serializer negotiated")
	}
	b, err := c.ser.Marshal(m)
	if err != nil {
		return err
	}
	return c.SendFrame(ctx, &Frame{Payload: b, Text: c.ser.TextFrames(), Msg: m})
}

// SendList encodes a generic list (see EncodeList) and sends it; it may be
// no valid WAMP message at all.
func (c *Conn) SendList(ctx context.Context, l []any) error {
	if c.ser == nil {
		return errors.New("wire: no serializer negotiated")
	}
	b, err := EncodeList(c.ser, l)
	if err != nil {
		return err
	}
	f := &Frame{Payload: b, Text: c.ser.TextFrames()}
	f.Msg, f.Err = c.ser.Unmarshal(b)
	return c.SendFrame(ctx, f)
}

// SendPayload sends b as one message frame of the kind the serializer
// uses (text for JSON over WebSocket).
func (c *Conn) SendPayload(ctx context.Context, b []byte) error {
	f := &Frame{Payload: b}
	if c.ser != nil {
		f.Text = c.ser.TextFrames()
		f.Msg, f.Err = c.ser.Unmarshal(b)
	}
	return c.SendFrame(ctx, f)
}

// SendFrame sends f as it is: its type, text flag and payload.
func (c *Conn) SendFrame(ctx context.Context, f *Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	c.observe(Sent, f)
	if err := c.l.write(ctx, f); err != nil {
		c.note("write failed: %v", err)
		return fmt.Errorf("wire: write: %w", err)
	}
	return nil
}

// Close closes the connection (WebSocket: with status 1000) and waits for
// the reader to end.
func (c *Conn) Close() error {
	return c.CloseWith(1000, "")
}

// CloseWith closes the connection with a WebSocket close status and
// reason (RawSocket: just closes) and waits for the reader to end.
func (c *Conn) CloseWith(status int, reason string) error {
	c.mu.Lock()
	if c.err == nil {
		c.err = &ClosedError{Status: -1}
	}
	c.mu.Unlock()
	c.l.closeWith(status, reason)
	<-c.done
	return nil
}

// Abandon drops the connection at once, without a close handshake, as a
// crashed client would.
func (c *Conn) Abandon() {
	c.mu.Lock()
	if c.err == nil {
		c.err = &ClosedError{Status: -1, Err: errors.New("abandoned")}
	}
	c.mu.Unlock()
	c.l.close()
	<-c.done
}

// Describe renders f as Describe does for this connection's serializer and
// transport.
func (c *Conn) Describe(f *Frame) string { return Describe(c.ser, c.transport, f) }
