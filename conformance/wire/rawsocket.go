package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// RawSocket constants (advanced/transport_rawsocket.md).
const (
	RawSocketMagic = 0x7F
	// MaxRawSocketLength is the largest frame payload RawSocket can carry
	// and the largest receive limit a handshake can announce (2^24).
	MaxRawSocketLength = 1 << 24
)

// RawSocket handshake error codes (the high nibble of an error reply).
const (
	RawSocketErrSerializer   = 1 // serializer unsupported
	RawSocketErrMaxLength    = 2 // maximum message length unacceptable
	RawSocketErrReservedBits = 3 // use of reserved bits
	RawSocketErrConnections  = 4 // maximum connection count reached
)

// LengthExponent is the largest L in 0..15 with 2^(9+L) <= max (0 below
// 512 bytes).
func LengthExponent(max int) byte {
	var l byte
	for l < 15 && 1<<(9+int(l)+1) <= max {
		l++
	}
	return l
}

// ExponentLength is the length announced by exponent l: 2^(9+l).
func ExponentLength(l byte) int { return 1 << (9 + int(l&0x0F)) }

// RawSocketRequest is the client handshake asking for serializer id with a
// receive limit of maxLen (rounded down to a power of two).
func RawSocketRequest(id byte, maxLen int) []byte {
	return []byte{RawSocketMagic, LengthExponent(maxLen)<<4 | id&0x0F, 0, 0}
}

// RawSocketErrorReply is a router's handshake refusal with error code.
func RawSocketErrorReply(code int) []byte {
	return []byte{RawSocketMagic, byte(code&0x0F) << 4, 0, 0}
}

// HandshakeError is a failed WebSocket or RawSocket opening handshake.
type HandshakeError struct {
	Transport string
	// Reply is the RawSocket reply octets read (fewer than 4 when the
	// router closed the connection first).
	Reply []byte
	// Code is the error code of a RawSocket error reply (0 if none).
	Code int
	// Dropped is true when the router closed the connection instead of
	// answering (in full).
	Dropped bool
	// HTTPStatus is the WebSocket handshake's HTTP status when it was not
	// 101 (0 if no response).
	HTTPStatus int
	// Subprotocol is the WebSocket subprotocol the server picked, when the
	// handshake failed because of it.
	Subprotocol string
	Err         error
}

func (e *HandshakeError) Error() string {
	s := "wire: " + e.Transport + " handshake failed"
	switch {
	case e.Code != 0:
		s += fmt.Sprintf(": router refused with error code %d", e.Code)
	case e.Dropped:
		s += fmt.Sprintf(": connection closed after %d reply octets", len(e.Reply))
	case e.HTTPStatus != 0:
		s += fmt.Sprintf(": HTTP status %d", e.HTTPStatus)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// rsLink is the RawSocket half of a Conn.
type rsLink struct {
	conn  net.Conn
	br    *bufio.Reader
	limit int // what this side announced it accepts (Oversized above)
	once  sync.Once
}

func (l *rsLink) read() (*Frame, error) {
	var h [4]byte
	n, err := io.ReadFull(l.br, h[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, &ClosedError{ByPeer: true, Status: -1, Err: io.EOF}
		}
		return nil, &ClosedError{ByPeer: true, Status: -1, Err: fmt.Errorf("reading a frame header (%d of 4 octets): %w", n, err)}
	}
	f := &Frame{Type: h[0] & 0x07}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0]&0x08 != 0 {
		size |= 1 << 24
	}
	if h[0]&0xF0 != 0 {
		f.Err = fmt.Errorf("reserved bits set in frame header % x", h)
	}
	if size > MaxRawSocketLength {
		return nil, &ClosedError{ByPeer: true, Status: -1, Err: fmt.Errorf("frame header % x announces %d octets, more than RawSocket can carry", h, size)}
	}
	f.Oversized = size > l.limit
	// Grow as the octets arrive: a header announcing 16 MiB costs nothing
	// until they come.
	var buf bytes.Buffer
	buf.Grow(min(size, 64<<10))
	if n, err := io.CopyN(&buf, l.br, int64(size)); err != nil {
		return nil, &ClosedError{ByPeer: true, Status: -1, Err: fmt.Errorf("reading a %d-octet frame (got %d): %w", size, n, err)}
	}
	f.Payload = buf.Bytes()
	return f, nil
}

func (l *rsLink) write(ctx context.Context, f *Frame) error {
	n := len(f.Payload)
	if n > MaxRawSocketLength {
		return fmt.Errorf("payload of %d octets exceeds the RawSocket maximum", n)
	}
	h := [4]byte{f.Type & 0x07, byte(n >> 16), byte(n >> 8), byte(n)}
	if n == MaxRawSocketLength {
		h = [4]byte{f.Type&0x07 | 0x08, 0, 0, 0}
	}
	return writeAll(ctx, l.conn, append(h[:], f.Payload...))
}

func (l *rsLink) close() { l.once.Do(func() { l.conn.Close() }) }

func (l *rsLink) closeWith(int, string) { l.close() }

// writeAll writes b with a deadline from ctx.
func writeAll(ctx context.Context, c net.Conn, b []byte) error {
	if d, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(d)
	} else {
		c.SetWriteDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := c.Write(b)
	return err
}

func readFull(ctx context.Context, c net.Conn, b []byte) (int, error) {
	if d, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := io.ReadFull(c, b)
	c.SetReadDeadline(time.Time{})
	return n, err
}

func dialRawSocket(ctx context.Context, ep Endpoint, o *Options) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, ep.Network, ep.Address)
	if err != nil {
		return nil, fmt.Errorf("wire: dial %s: %w", ep.URL, err)
	}
	var request []byte
	switch {
	case o.Handshake != nil:
		request = o.Handshake
	case o.Serializer != nil:
		limit := o.MaxLength
		if limit <= 0 {
			limit = MaxRawSocketLength
		}
		request = RawSocketRequest(o.Serializer.RawSocketID(), limit)
	default:
		nc.Close()
		return nil, errors.New("wire: no serializer and no handshake octets")
	}
	// Frames above what we announced are marked Oversized.
	limit := MaxRawSocketLength
	if len(request) >= 2 {
		limit = ExponentLength(request[1] >> 4)
	}
	note := func(format string, args ...any) {
		if o.Observer != nil {
			o.Observer(Event{Time: time.Now(), Dir: Note, Text: fmt.Sprintf(format, args...)})
		}
	}
	note("connected to %s; rawsocket handshake sent: % x", ep.URL, request)
	fail := func(he *HandshakeError) (*Conn, error) {
		nc.Close()
		he.Transport = ep.Transport
		note("%v", he)
		return nil, he
	}
	if err := writeAll(ctx, nc, request); err != nil {
		return fail(&HandshakeError{Dropped: true, Err: err})
	}
	reply := make([]byte, 4)
	n, err := readFull(ctx, nc, reply)
	reply = reply[:n]
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fail(&HandshakeError{Reply: reply, Err: fmt.Errorf("no reply in time: %w", err)})
		}
		return fail(&HandshakeError{Reply: reply, Dropped: true, Err: err})
	}
	note("rawsocket handshake reply: % x", reply)
	if reply[0] != RawSocketMagic {
		return fail(&HandshakeError{Reply: reply, Err: fmt.Errorf("reply does not start with 0x7f")})
	}
	id := reply[1] & 0x0F
	if id == 0 {
		return fail(&HandshakeError{Reply: reply, Code: int(reply[1] >> 4)})
	}
	if len(request) >= 2 && id != request[1]&0x0F {
		return fail(&HandshakeError{Reply: reply, Err: fmt.Errorf("router answered serializer %d, the client asked for %d", id, request[1]&0x0F)})
	}
	ser, _ := protocol.SerializerByRawSocketID(id)
	l := &rsLink{conn: nc, br: bufio.NewReaderSize(nc, 64<<10), limit: limit}
	c := newConn(ep.Transport, ser, l, o.Observer)
	c.manualPong = o.ManualPong
	c.reply = reply
	c.peerLimit = ExponentLength(reply[1] >> 4)
	c.start()
	return c, nil
}

// Listener accepts RawSocket connections (server side).
type Listener struct {
	ln        net.Listener
	transport string
	o         AcceptOptions
}

// ListenRawSocket listens on network ("tcp" or "unix") and address.
func ListenRawSocket(network, address string, o AcceptOptions) (*Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	tr := RawSocketTCP
	if network == "unix" {
		tr = RawSocketUnix
	}
	return &Listener{ln: ln, transport: tr, o: o}, nil
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// URL is the tcp:// or unix:// URL of the listener.
func (l *Listener) URL() string {
	if l.transport == RawSocketUnix {
		return "unix://" + l.ln.Addr().String()
	}
	return "tcp://" + l.ln.Addr().String()
}

// Close stops listening.
func (l *Listener) Close() error { return l.ln.Close() }

// Serve accepts connections until the listener is closed, runs each
// handshake on its own goroutine and hands every accepted connection to
// handle (on that goroutine). It returns when the listener is closed and
// every handle call has returned.
func (l *Listener) Serve(handle func(*Conn)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := l.handshake(nc)
			if err != nil {
				nc.Close()
				return
			}
			handle(c)
		}()
	}
}

func (l *Listener) handshake(nc net.Conn) (*Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var req [4]byte
	if _, err := readFull(ctx, nc, req[:]); err != nil {
		return nil, err
	}
	var reply []byte
	var tag any
	if l.o.RawSocketReply != nil {
		reply, tag = l.o.RawSocketReply(req)
	} else {
		reply = l.o.defaultReply(req)
	}
	opened := len(reply) == 4 && reply[0] == RawSocketMagic && reply[1]&0x0F != 0
	if reply != nil {
		if err := writeAll(ctx, nc, reply); err != nil {
			opened = false
		}
	}
	if !opened {
		closeTag(tag)
		return nil, errors.New("handshake refused")
	}
	ser, _ := protocol.SerializerByRawSocketID(reply[1] & 0x0F)
	lk := &rsLink{conn: nc, br: bufio.NewReaderSize(nc, 64<<10), limit: ExponentLength(reply[1] >> 4)}
	c := newConn(l.transport, ser, lk, l.o.Observer)
	c.tag = tag
	c.manualPong = l.o.ManualPong
	c.reply = req[:]
	c.peerLimit = ExponentLength(req[1] >> 4)
	c.start()
	return c, nil
}

// defaultReply answers a handshake request as the spec says.
func (o *AcceptOptions) defaultReply(req [4]byte) []byte {
	if req[0] != RawSocketMagic {
		return nil
	}
	if req[2] != 0 || req[3] != 0 {
		return RawSocketErrorReply(RawSocketErrReservedBits)
	}
	id := req[1] & 0x0F
	for _, s := range o.serializers() {
		if s.RawSocketID() == id {
			return []byte{RawSocketMagic, LengthExponent(o.maxLength())<<4 | id, 0, 0}
		}
	}
	return RawSocketErrorReply(RawSocketErrSerializer)
}

// closeTag closes a handshake hook's tag that can be closed (a connection
// the hook opened for a handshake that did not open).
func closeTag(tag any) {
	if c, ok := tag.(interface{ Close() error }); ok {
		c.Close()
	}
}
