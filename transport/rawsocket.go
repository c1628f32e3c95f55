package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// RawSocket wire constants.
const (
	rawSocketMagic  = 0x7F
	rawSocketMaxLen = 1 << 24 // the largest frame payload (and announced limit)
	rawSocketMinLen = 1 << 9  // the smallest announced limit

	frameMessage = 0
	framePing    = 1
	framePong    = 2
)

// lengthExponent returns the largest L in 0..15 with 2^(9+L) <= max, or 0
// when max is below 512.
func lengthExponent(max int) byte {
	var l byte
	for l < 15 && 1<<(9+int(l)+1) <= max {
		l++
	}
	return l
}

// exponentLength is the message size limit announced by exponent l.
func exponentLength(l byte) int { return 1 << (9 + int(l&0x0F)) }

// encodeClientHello is the client's handshake request.
func encodeClientHello(serializer byte, maxLen int) [4]byte {
	return [4]byte{rawSocketMagic, lengthExponent(maxLen)<<4 | serializer&0x0F, 0, 0}
}

// parseClientHello checks a client's handshake request. On failure code is
// the error code to reply with, or 0 when the connection should just be
// dropped (not a RawSocket client).
func parseClientHello(b [4]byte) (serializer byte, maxLen int, code int, err error) {
	if b[0] != rawSocketMagic {
		return 0, 0, 0, fmt.Errorf("transport: rawsocket handshake: bad magic octet 0x%02x from client (not a RawSocket client?)", b[0])
	}
	if b[2] != 0 || b[3] != 0 {
		return 0, 0, RawSocketReservedBitsUsed, fmt.Errorf("transport: rawsocket handshake: client set reserved octets %02x %02x", b[2], b[3])
	}
	serializer = b[1] & 0x0F
	if serializer == 0 {
		return 0, 0, RawSocketSerializerUnsupported, errors.New("transport: rawsocket handshake: client asked for serializer 0 (illegal)")
	}
	return serializer, exponentLength(b[1] >> 4), 0, nil
}

// encodeServerReply is the server's successful handshake reply.
func encodeServerReply(serializer byte, maxLen int) [4]byte {
	return [4]byte{rawSocketMagic, lengthExponent(maxLen)<<4 | serializer&0x0F, 0, 0}
}

// encodeServerError is the server's refusal with an error code 1..15.
func encodeServerError(code int) [4]byte {
	return [4]byte{rawSocketMagic, byte(code&0x0F) << 4, 0, 0}
}

// parseServerReply checks the server's handshake reply to a request for
// serializer want and returns the server's receive limit.
func parseServerReply(b [4]byte, want byte) (maxLen int, err error) {
	if b[0] != rawSocketMagic {
		return 0, fmt.Errorf("transport: rawsocket handshake: bad magic octet 0x%02x in server reply (not a RawSocket server?)", b[0])
	}
	got := b[1] & 0x0F
	if got == 0 {
		return 0, &RawSocketError{Code: int(b[1] >> 4)}
	}
	if got != want {
		return 0, fmt.Errorf("transport: rawsocket handshake: server answered with serializer %d, we asked for %d", got, want)
	}
	if b[2] != 0 || b[3] != 0 {
		return 0, fmt.Errorf("transport: rawsocket handshake: server set reserved octets %02x %02x", b[2], b[3])
	}
	return exponentLength(b[1] >> 4), nil
}

// encodeFrameHeader is the 4-octet prefix of a frame with n payload octets
// (n <= 2^24).
func encodeFrameHeader(typ byte, n int) [4]byte {
	if n == rawSocketMaxLen {
		return [4]byte{typ&0x07 | 0x08, 0, 0, 0}
	}
	return [4]byte{typ & 0x07, byte(n >> 16), byte(n >> 8), byte(n)}
}

// parseFrameHeader decodes a frame prefix.
func parseFrameHeader(h [4]byte) (typ byte, n int, err error) {
	if h[0]&0xF0 != 0 {
		return 0, 0, fmt.Errorf("transport: rawsocket: reserved bits set in frame header %02x %02x %02x %02x", h[0], h[1], h[2], h[3])
	}
	typ = h[0] & 0x07
	if typ > framePong {
		return 0, 0, fmt.Errorf("transport: rawsocket: reserved frame type %d", typ)
	}
	n = int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0]&0x08 != 0 {
		if n != 0 {
			return 0, 0, fmt.Errorf("transport: rawsocket: frame length bit 25 set with non-zero low bits (%d)", n)
		}
		n = rawSocketMaxLen
	}
	return typ, n, nil
}

// errClosedByPeer is the terminal error of a connection the peer closed
// cleanly (between messages).
var errClosedByPeer = fmt.Errorf("%w by peer", ErrClosed)

// frameReader reads RawSocket frames.
type frameReader struct {
	r     io.Reader
	limit int // largest payload accepted
	hdr   [4]byte
}

// next reads one frame. Every failure is final for the connection.
func (f *frameReader) next() (typ byte, payload []byte, err error) {
	n, err := io.ReadFull(f.r, f.hdr[:])
	if err != nil {
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return 0, nil, errClosedByPeer
		case errors.Is(err, io.ErrUnexpectedEOF):
			return 0, nil, fmt.Errorf("transport: rawsocket: connection closed mid-frame (got %d of 4 header octets): %w", n, err)
		}
		return 0, nil, fmt.Errorf("transport: rawsocket read: %w", err)
	}
	typ, size, err := parseFrameHeader(f.hdr)
	if err != nil {
		return 0, nil, err
	}
	if size > f.limit {
		return 0, nil, &MessageTooBigError{Size: size, Limit: f.limit, Received: true}
	}
	// Grow the buffer as bytes arrive, so that a peer announcing a large
	// frame and sending nothing cannot make us allocate the whole of it.
	const step = 64 << 10
	payload = make([]byte, 0, min(size, step))
	for len(payload) < size {
		if len(payload) == cap(payload) {
			payload = slices.Grow(payload, min(size-len(payload), cap(payload)))
		}
		n, err := io.ReadFull(f.r, payload[len(payload):min(cap(payload), size)])
		payload = payload[:len(payload)+n]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, nil, fmt.Errorf("transport: rawsocket: connection closed mid-frame (got %d of %d payload octets): %w", len(payload), size, io.ErrUnexpectedEOF)
			}
			return 0, nil, fmt.Errorf("transport: rawsocket read: %w", err)
		}
	}
	return typ, payload, nil
}

// rawSocketPeer is a Peer over a RawSocket connection (TCP, TLS or Unix).
type rawSocketPeer struct {
	*core
	conn  net.Conn
	pongs chan []byte // read loop -> keep-alive
}

func newRawSocketPeer(conn net.Conn, ser protocol.Serializer, lim limits, sendLimit int, ping bool) *rawSocketPeer {
	recvLimit := min(lim.maxSize, rawSocketMaxLen)
	p := &rawSocketPeer{
		core:  newCore(ser, lim, min(sendLimit, lim.maxSize), recvLimit, nil),
		conn:  conn,
		pongs: make(chan []byte, 1),
	}
	p.closeTransport = func(error) { _ = conn.Close() }
	go p.readLoop()
	if ping && lim.pingInterval > 0 {
		p.pingKind = "rawsocket"
		go p.keepAlive("rawsocket", p.ping)
	} else {
		close(p.pingDone)
	}
	return p
}

// RemoteAddr is the address of the other end (see Peer).
func (p *rawSocketPeer) RemoteAddr() net.Addr { return p.conn.RemoteAddr() }

func (p *rawSocketPeer) Send(ctx context.Context, m protocol.Message) error {
	return p.send(ctx, m, func(b []byte) error { return p.writeFrame(frameMessage, b) })
}

// writeFrame writes one frame; the caller holds the writer slot. Small
// frames go out in one write (writev on TCP and Unix sockets, one TLS
// record otherwise); large ones in chunks, so that keep-alive sees progress.
func (p *rawSocketPeer) writeFrame(typ byte, b []byte) error {
	h := encodeFrameHeader(typ, len(b))
	const chunk = 64 << 10
	if len(b) <= chunk {
		var n int64
		var err error
		switch p.conn.(type) {
		case *net.TCPConn, *net.UnixConn:
			bufs := net.Buffers{h[:], b}
			n, err = bufs.WriteTo(p.conn)
		default:
			buf := make([]byte, 0, 4+len(b))
			buf = append(append(buf, h[:]...), b...)
			var k int
			k, err = p.conn.Write(buf)
			n = int64(k)
		}
		p.traffic.out.Add(uint64(n))
		return err
	}
	w := &countingConn{Conn: p.conn, t: p.traffic}
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	for len(b) > 0 {
		k := min(len(b), chunk)
		if _, err := w.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

func (p *rawSocketPeer) readLoop() {
	defer close(p.readDone)
	fr := &frameReader{
		r:     bufio.NewReaderSize(&countingConn{Conn: p.conn, t: p.traffic}, 16<<10),
		limit: p.recvLimit,
	}
	for {
		typ, payload, err := fr.next()
		if err != nil {
			p.fail(err)
			return
		}
		switch typ {
		case frameMessage:
			if !p.deliver(payload) {
				return
			}
		case framePing:
			// Answer at once, echoing the payload.
			err := p.write(context.Background(), sendInterrupted, func() error { return p.writeFrame(framePong, payload) })
			if err != nil {
				return
			}
		case framePong:
			select {
			case p.pongs <- payload:
			default:
			}
		}
	}
}

// ping sends a PING with a fresh payload and waits for the matching PONG.
func (p *rawSocketPeer) ping(ctx context.Context) error {
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], uint64(time.Now().UnixNano()))
	for { // drop stale pongs
		select {
		case <-p.pongs:
			continue
		default:
		}
		break
	}
	notWritten := func(cause error) error {
		return &keepAliveError{fmt.Sprintf("transport: rawsocket keep-alive: ping not written within %v, connection presumed dead", p.lim.pongTimeout), cause}
	}
	// Waiting for the writer slot is bounded by ctx separately, so that a
	// busy writer reads as errPingNotWritten and not as a dead peer.
	select {
	case p.wlock <- struct{}{}:
		<-p.wlock
	case <-p.done:
		return p.closedErr()
	case <-ctx.Done():
		return errPingNotWritten
	}
	err := p.write(ctx, notWritten, func() error { return p.writeFrame(framePing, payload[:]) })
	if err != nil && !errors.Is(err, ErrClosed) {
		return errPingNotWritten // the slot was taken again and ctx ended
	}
	if err != nil {
		return err
	}
	for {
		select {
		case got := <-p.pongs:
			if string(got) == string(payload[:]) {
				return nil
			}
		case <-p.done:
			return p.closedErr()
		case <-ctx.Done():
			return errPongTimeout
		}
	}
}

// deadlineFromContext makes conn's I/O fail when ctx ends and returns a
// function that undoes it and reports whether ctx ended.
func deadlineFromContext(ctx context.Context, conn net.Conn) (stop func() (expired bool)) {
	after := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		expired := !after()
		_ = conn.SetDeadline(time.Time{})
		return expired || ctx.Err() != nil
	}
}

// errHandshakeDropped means the server closed the connection instead of
// replying; crossbar does this for a serializer it does not support.
var errHandshakeDropped = errors.New("transport: rawsocket handshake: server closed the connection without replying (unsupported serializer or not a RawSocket server)")

// clientHandshake runs the client side of the handshake on conn, bounded by
// ctx, and returns the server's receive limit.
func clientHandshake(ctx context.Context, conn net.Conn, ser protocol.Serializer, maxLen int) (sendLimit int, err error) {
	stop := deadlineFromContext(ctx, conn)
	defer func() {
		if stop() && err != nil {
			err = fmt.Errorf("transport: rawsocket handshake: no reply from server: %w (%v)", context.Cause(ctx), err)
		}
	}()
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("transport: TLS handshake: %w", err)
		}
	}
	hello := encodeClientHello(ser.RawSocketID(), maxLen)
	if _, err := conn.Write(hello[:]); err != nil {
		return 0, fmt.Errorf("transport: rawsocket handshake: write: %w", err)
	}
	var reply [4]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return 0, errHandshakeDropped
		}
		return 0, fmt.Errorf("transport: rawsocket handshake: read reply: %w", err)
	}
	return parseServerReply(reply, ser.RawSocketID())
}

// serverHandshake runs the server side of the handshake on conn within
// timeout. It returns the chosen serializer and the client's receive limit.
func serverHandshake(conn net.Conn, sers []protocol.Serializer, maxLen int, timeout time.Duration) (protocol.Serializer, int, error) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	var hello [4]byte
	if _, err := io.ReadFull(conn, hello[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, 0, fmt.Errorf("transport: rawsocket handshake: client sent no handshake within %v", timeout)
		}
		return nil, 0, fmt.Errorf("transport: rawsocket handshake: read: %w", err)
	}
	id, clientMax, code, err := parseClientHello(hello)
	if err == nil {
		var ser protocol.Serializer
		for _, s := range sers {
			if s.RawSocketID() == id {
				ser = s
				break
			}
		}
		if ser != nil {
			reply := encodeServerReply(id, maxLen)
			if _, err := conn.Write(reply[:]); err != nil {
				return nil, 0, fmt.Errorf("transport: rawsocket handshake: write reply: %w", err)
			}
			return ser, clientMax, nil
		}
		code = RawSocketSerializerUnsupported
		err = fmt.Errorf("transport: rawsocket handshake: client asked for serializer %d; supported: %s", id, rawSocketIDs(sers))
	}
	if code != 0 {
		reply := encodeServerError(code)
		_, _ = conn.Write(reply[:])
	}
	return nil, 0, err
}

func rawSocketIDs(sers []protocol.Serializer) string {
	var b strings.Builder
	for i, s := range sers {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d (%s)", s.RawSocketID(), s.Name())
	}
	return b.String()
}
