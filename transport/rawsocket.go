package transport

import (
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

// frameReader reads RawSocket frames. A read error leaves its state
// intact, so that a read interrupted by the Recv context resumes where it
// stopped; every other error is final for the connection.
type frameReader struct {
	r     io.Reader
	limit int // largest payload accepted
	// lr, if set, is the buffer under r: a payload it holds whole is
	// returned in place, without a copy.
	lr *lazyReader

	hdr     [4]byte
	hn      int // header octets read
	typ     byte
	size    int // payload size, once the header is complete
	payload []byte
	pooled  *[]byte // payload's buffer, from msgBufs, until recycle
}

// recycle gives back the pooled buffer of the last payload returned, which
// must not be used any more.
func (f *frameReader) recycle() {
	if f.pooled != nil && f.payload == nil {
		msgBufs.Put(f.pooled)
		f.pooled = nil
	}
}

// next reads one frame.
func (f *frameReader) next() (typ byte, payload []byte, err error) {
	for f.hn < 4 {
		n, err := f.r.Read(f.hdr[f.hn:])
		f.hn += n
		if err != nil && f.hn < 4 {
			switch {
			case errors.Is(err, errInterrupted):
				return 0, nil, err
			case f.hn == 0 && errors.Is(err, io.EOF):
				return 0, nil, errClosedByPeer
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return 0, nil, fmt.Errorf("transport: rawsocket: connection closed mid-frame (got %d of 4 header octets): %w", f.hn, io.ErrUnexpectedEOF)
			}
			return 0, nil, fmt.Errorf("transport: rawsocket read: %w", err)
		}
		if f.hn == 4 {
			typ, size, err := parseFrameHeader(f.hdr)
			if err != nil {
				return 0, nil, err
			}
			// Refused before anything is allocated for it.
			if size > f.limit {
				return 0, nil, &MessageTooBigError{Size: size, Limit: f.limit, Received: true}
			}
			f.typ, f.size, f.payload = typ, size, nil
			if f.lr != nil && f.lr.buffered() >= size {
				f.hn = 0
				return typ, f.lr.take(size), nil
			}
		}
	}
	// Grow the buffer as bytes arrive, so that a peer announcing a large
	// frame and sending nothing cannot make us allocate the whole of it.
	const step = 64 << 10
	if f.payload == nil {
		if f.size <= msgBufSize {
			f.pooled = msgBufs.Get().(*[]byte)
			f.payload = (*f.pooled)[:0]
		} else {
			f.payload = make([]byte, 0, min(f.size, step))
		}
	}
	for len(f.payload) < f.size {
		if len(f.payload) == cap(f.payload) {
			f.payload = slices.Grow(f.payload, min(f.size-len(f.payload), cap(f.payload)))
		}
		n, err := f.r.Read(f.payload[len(f.payload):min(cap(f.payload), f.size)])
		f.payload = f.payload[:len(f.payload)+n]
		if err != nil && len(f.payload) < f.size {
			switch {
			case errors.Is(err, errInterrupted):
				return 0, nil, err
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return 0, nil, fmt.Errorf("transport: rawsocket: connection closed mid-frame (got %d of %d payload octets): %w", len(f.payload), f.size, io.ErrUnexpectedEOF)
			}
			return 0, nil, fmt.Errorf("transport: rawsocket read: %w", err)
		}
	}
	typ, payload = f.typ, f.payload
	f.hn, f.payload = 0, nil
	return typ, payload, nil
}

// rawSocketPeer is a Peer over a RawSocket connection (TCP, TLS or Unix).
type rawSocketPeer struct {
	core
	lr      *lazyReader
	fr      frameReader
	pingSeq uint64
}

func newRawSocketPeer(conn net.Conn, ser protocol.Serializer, lim limits, sendLimit int, ping bool, slot *addrSlot) *rawSocketPeer {
	recvLimit := min(lim.maxSize, rawSocketMaxLen)
	p := &rawSocketPeer{}
	p.slot = slot
	p.init("rawsocket", p, conn, ser, lim, min(sendLimit, lim.maxSize), recvLimit, conn)
	p.lr = newLazyReader(countingReader{r: conn, c: &p.core})
	p.fr = frameReader{r: rawSocketSource{p}, lr: p.lr}
	if ping {
		p.StartPing()
	}
	return p
}

// RemoteAddr is the address of the other end (see Peer).
func (p *rawSocketPeer) RemoteAddr() net.Addr { return p.conn.RemoteAddr() }

// rawSocketSource is what the frame reader reads: the buffered socket,
// with reads the Recv context may interrupt.
type rawSocketSource struct{ p *rawSocketPeer }

func (s rawSocketSource) Read(b []byte) (int, error) {
	p := s.p
	if p.closing.Load() {
		return 0, net.ErrClosed
	}
	if p.lr.buffered() == 0 && p.intr.fired.Load() {
		return 0, errInterrupted
	}
	n, err := p.lr.Read(b)
	if p.intr.interrupted(err) {
		return n, errInterrupted
	}
	return n, err
}

func (p *rawSocketPeer) readMessage() ([]byte, error) {
	for {
		p.fr.limit = p.currentRecvLimit()
		typ, payload, err := p.fr.next()
		if err != nil {
			return nil, err
		}
		switch typ {
		case frameMessage:
			return payload, nil
		case framePing:
			// Answer at once, echoing the payload (copied: it is the
			// reader's buffer); not when the outbox is full (a peer
			// that pings without reading gets no pongs rather than our
			// memory).
			if p.out.queued.Load() > sendBuffer {
				p.fr.recycle()
				continue
			}
			p.sendMu.Lock()
			p.pushFrame(framePong, payload, true)
			p.sendMu.Unlock()
			p.fr.recycle()
			p.out.flush()
		case framePong:
			// Keep-alive only needs to see bytes arrive.
		}
	}
}

func (p *rawSocketPeer) push(b []byte, copyIt bool) error {
	p.pushFrame(frameMessage, b, copyIt)
	return nil
}

// pushFrame queues one frame: its header copied, its payload copied if
// copyIt, else referenced.
func (p *rawSocketPeer) pushFrame(typ byte, b []byte, copyIt bool) {
	h := encodeFrameHeader(typ, len(b))
	o := p.out
	o.mu.Lock()
	o.copyLocked(h[:])
	o.addLocked(b, copyIt)
	o.endLocked()
	o.mu.Unlock()
}

func (p *rawSocketPeer) queuePing() int64 {
	p.pingSeq++
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], p.pingSeq)
	p.pushFrame(framePing, payload[:], true)
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.enq
}

func (p *rawSocketPeer) recycle() { p.fr.recycle() }

func (p *rawSocketPeer) buffered() bool { return p.lr.buffered() > 0 || p.fr.hn > 0 }

func (p *rawSocketPeer) setRecvLimit(int) {} // read per frame from core

func (p *rawSocketPeer) shutdown(error, bool) {}

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
