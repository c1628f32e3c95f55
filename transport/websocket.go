package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// wsPeer is a Peer over a WebSocket connection.
//
// coder/websocket frames and unframes messages; it reads and writes
// through a wsConn of ours, which makes its writes land in the outbox
// (coalesced with other messages, written without blocking) and its reads
// interruptible at message boundaries.
type wsPeer struct {
	core
	ws      *websocket.Conn
	wc      *wsConn
	msgType websocket.MessageType
	opcode  byte // of msgType's data frames: 1 text, 2 binary
	client  bool
	pingSeq uint64
	keys    []byte // masking keys (client), guarded by sendMu
	keyPos  int
	pooled  *[]byte // the buffer of the message read last, until recycle
}

// wsStatusError is a terminal error that also picks the close status sent
// to the peer.
type wsStatusError struct {
	status websocket.StatusCode
	err    error
}

func (e *wsStatusError) Error() string { return e.err.Error() }
func (e *wsStatusError) Unwrap() error { return e.err }

// newWSPeer makes the peer of a WebSocket whose I/O goes through wc, over
// socket conn (deadlines, close); out writes to w.
func newWSPeer(ws *websocket.Conn, wc *wsConn, conn net.Conn, w interface{ Write([]byte) (int, error) }, ser protocol.Serializer, lim limits, client bool) *wsPeer {
	p := wc.p
	p.ws = ws
	p.client = client
	p.init("websocket", p, conn, ser, lim, lim.maxSize, lim.maxSize, w)
	p.msgType, p.opcode = websocket.MessageBinary, 2
	if ser.TextFrames() {
		p.msgType, p.opcode = websocket.MessageText, 1
	}
	ws.SetReadLimit(int64(p.currentRecvLimit()))
	if lim.pingInterval > 0 {
		p.StartPing()
	}
	return p
}

// shutdown closes the WebSocket: with a close frame for a local close, a
// protocol error or a drop, at once otherwise.
func (p *wsPeer) shutdown(cause error, graceful bool) {
	status := websocket.StatusCode(-1)
	reason := ""
	var se *wsStatusError
	var tooBig *MessageTooBigError
	var drop *dropError
	switch {
	case !graceful:
	case cause == ErrClosed:
		status = websocket.StatusNormalClosure
	case errors.As(cause, &se):
		status, reason = se.status, se.err.Error()
	case errors.As(cause, &tooBig) && tooBig.Received:
		status = websocket.StatusMessageTooBig
	case errors.As(cause, &drop):
		status, reason = websocket.StatusPolicyViolation, drop.Error()
	}
	if status < 0 {
		_ = p.ws.CloseNow()
		return
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	// The close frame goes to the outbox; the reply is not awaited (the
	// connection's reads have stopped).
	_ = p.ws.Close(status, reason)
}

// RemoteAddr is the address of the other end (see Peer).
func (p *wsPeer) RemoteAddr() net.Addr { return p.conn.RemoteAddr() }

// push queues one message as a single WebSocket data frame (RFC 6455
// 5.2), which we frame ourselves: coder/websocket's writer would take two
// locks of its own and copy the message through its buffer. A server's
// payload is queued by reference, a client's copied and masked with a key
// of its own (5.3). The caller holds sendMu.
func (p *wsPeer) push(b []byte) error {
	var hdr [14]byte
	hdr[0] = 0x80 | p.opcode // FIN
	n := 2
	switch l := len(b); {
	case l <= 125:
		hdr[1] = byte(l)
	case l <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	o := p.out
	if !p.client {
		o.mu.Lock()
		o.addLocked(hdr[:n], true)
		o.addLocked(b, false)
		o.endLocked()
		o.mu.Unlock()
		return nil
	}
	hdr[1] |= 0x80
	key := p.maskKey()
	binary.LittleEndian.PutUint32(hdr[n:], key)
	n += 4
	o.mu.Lock()
	o.addLocked(hdr[:n], true)
	o.addMaskedLocked(b, key)
	o.endLocked()
	o.mu.Unlock()
	return nil
}

// maskKey returns a fresh masking key for a client frame, from
// crypto/rand as RFC 6455 10.3 asks, read 64 keys at a time. The caller
// holds sendMu.
func (p *wsPeer) maskKey() uint32 {
	if p.keyPos == len(p.keys) {
		if p.keys == nil {
			p.keys = make([]byte, 256)
		}
		_, _ = rand.Read(p.keys)
		p.keyPos = 0
	}
	k := binary.LittleEndian.Uint32(p.keys[p.keyPos:])
	p.keyPos += 4
	return k
}

// queuePing queues a ping frame of our own making, between two messages
// (the caller holds sendMu; coder/websocket writes its own control frames
// in one piece).
func (p *wsPeer) queuePing() int64 {
	p.pingSeq++
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], p.pingSeq)
	o := p.out
	if p.client {
		var hdr [6]byte
		hdr[0], hdr[1] = 0x89, 0x80|byte(len(payload))
		key := p.maskKey()
		binary.LittleEndian.PutUint32(hdr[2:], key)
		o.mu.Lock()
		defer o.mu.Unlock()
		o.addLocked(hdr[:], true)
		o.addMaskedLocked(payload[:], key)
	} else {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.addLocked([]byte{0x89, byte(len(payload))}, true)
		o.addLocked(payload[:], true)
	}
	o.endLocked()
	return o.enq
}

func (p *wsPeer) readMessage() ([]byte, error) {
	typ, r, err := p.ws.Reader(context.Background())
	if err != nil {
		if errors.Is(err, errInterrupted) {
			return nil, errInterrupted
		}
		return nil, p.readError(err)
	}
	if typ != p.msgType {
		return nil, &wsStatusError{
			status: websocket.StatusUnsupportedData,
			err: fmt.Errorf("transport: websocket: received a %s message but %s needs %s messages",
				frameName(typ), p.ser.Subprotocol(), frameName(p.msgType)),
		}
	}
	// A message in one frame is read at its exact size, with no read
	// for io.EOF: coder/websocket is done with it once its payload is.
	size := int64(-1)
	if t := &p.wc.tr; len(t.msgs) > 0 {
		size = t.msgs[0]
		t.msgs = append(t.msgs[:0], t.msgs[1:]...)
	}
	if size >= 0 {
		if limit := p.currentRecvLimit(); size > int64(limit) {
			return nil, &MessageTooBigError{Size: int(min(size, 1<<62)), Limit: limit, Received: true}
		}
		var b []byte
		if size <= msgBufSize {
			p.pooled = msgBufs.Get().(*[]byte)
			b = (*p.pooled)[:size]
		} else {
			b = make([]byte, size)
		}
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, p.readError(err)
		}
		return b, nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, p.readError(err)
	}
	return b, nil
}

func (p *wsPeer) recycle() {
	if p.pooled != nil {
		msgBufs.Put(p.pooled)
		p.pooled = nil
	}
}

func (p *wsPeer) buffered() bool { return p.wc.lr.buffered() > 0 || !p.wc.tr.boundary() }

func (p *wsPeer) setRecvLimit(n int) { p.ws.SetReadLimit(int64(n)) }

func frameName(t websocket.MessageType) string {
	if t == websocket.MessageText {
		return "text"
	}
	return "binary"
}

// readError turns a coder/websocket read error into ours.
func (p *wsPeer) readError(err error) error {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return &MessageTooBigError{Limit: p.currentRecvLimit(), Received: true}
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway {
			return fmt.Errorf("%w by peer (websocket status %d %q)", ErrClosed, int(ce.Code), ce.Reason)
		}
		return fmt.Errorf("transport: websocket closed by peer with status %d (%s) %q", int(ce.Code), ce.Code, ce.Reason)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("transport: websocket: connection dropped by peer without a close frame: %w", err)
	}
	return fmt.Errorf("transport: websocket read: %w", err)
}

// wsConn is the connection coder/websocket reads from and writes to.
//
// Reads come from the socket through a lazyReader, and a frameTracker
// follows the frames they carry, so that a read can tell whether it starts
// a new message: only such a read may be interrupted by the Recv context
// (coder/websocket then returns the error with nothing consumed, and the
// next Reader call starts afresh); a read inside a message waits for its
// bytes regardless. Writes are copied into the outbox.
//
// Owned by the peer: reads by the Recv goroutine, writes under the
// outbox's lock.
type wsConn struct {
	net.Conn // server side: the hijacked socket (addresses)
	p        *wsPeer
	lr       *lazyReader
	tr       frameTracker
}

func (w *wsConn) Read(b []byte) (int, error) {
	c := &w.p.core
	for {
		if c.closing.Load() {
			return 0, net.ErrClosed
		}
		boundary := w.tr.boundary() && w.lr.buffered() == 0
		if boundary && c.intr.fired.Load() {
			return 0, errInterrupted
		}
		n, err := w.lr.Read(b)
		w.tr.feed(b[:n])
		if c.intr.interrupted(err) {
			if boundary && n == 0 {
				return 0, errInterrupted
			}
			// Inside a message: the Recv context does not apply.
			_ = c.conn.SetReadDeadline(time.Time{})
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Write queues a copy of b. coder/websocket writes only control frames
// (pong, close: data frames are ours, see push), each in one Write, since
// its buffer holds the largest (wsWriteBuffer): each Write is a frame, and
// a message end.
func (w *wsConn) Write(b []byte) (int, error) {
	o := w.p.out
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return 0, net.ErrClosed
	}
	o.addLocked(b, true)
	o.endLocked()
	o.mu.Unlock()
	o.flush()
	return len(b), nil
}

// wsWriteBuffer is the size of coder/websocket's write buffer on the
// server side, which holds any control frame whole (2 octets of header and
// at most 125 of payload), so that coder/websocket writes each in one
// Write (the client side's is coder/websocket's own, 4 KiB).
const wsWriteBuffer = 256

// Close does nothing: the peer closes the socket once the outbox is
// written.
func (w *wsConn) Close() error { return nil }

// frameTracker follows the WebSocket frames in a byte stream.
type frameTracker struct {
	hdr       [14]byte
	hn        int    // header octets seen
	need      int    // header length (2 until known)
	left      uint64 // payload octets left in the current frame
	inPayload bool
	frag      bool // inside a fragmented data message
	// msgs are the messages whose first frame header went by and that
	// readMessage has not started yet: the size of each one that is a
	// single frame, or -1.
	msgs []int64
}

// boundary reports whether the stream so far ends between two messages.
func (t *frameTracker) boundary() bool { return t.hn == 0 && !t.inPayload && !t.frag }

func (t *frameTracker) feed(p []byte) {
	for len(p) > 0 {
		if t.inPayload {
			k := min(uint64(len(p)), t.left)
			t.left -= k
			p = p[k:]
			if t.left == 0 {
				t.inPayload = false
			}
			continue
		}
		t.hdr[t.hn] = p[0]
		t.hn++
		p = p[1:]
		if t.hn == 2 {
			t.need = 2
			switch t.hdr[1] & 0x7F {
			case 126:
				t.need += 2
			case 127:
				t.need += 8
			}
			if t.hdr[1]&0x80 != 0 {
				t.need += 4
			}
		}
		if t.hn >= 2 && t.hn == t.need {
			var n uint64
			switch t.hdr[1] & 0x7F {
			case 126:
				n = uint64(binary.BigEndian.Uint16(t.hdr[2:4]))
			case 127:
				n = binary.BigEndian.Uint64(t.hdr[2:10])
			default:
				n = uint64(t.hdr[1] & 0x7F)
			}
			fin := t.hdr[0]&0x80 != 0
			switch op := t.hdr[0] & 0x0F; op {
			case 1, 2:
				t.frag = !fin
				size := int64(-1)
				if fin && n <= 1<<62 {
					size = int64(n)
				}
				t.msgs = append(t.msgs, size)
			case 0:
				if fin {
					t.frag = false
				}
			}
			t.hn = 0
			t.left = n
			t.inPayload = n > 0
		}
	}
}

// dialWebSocket dials a ws:// or wss:// URL.
//
// The HTTP transport dials through us, so that the peer holds the socket
// itself (deadlines, non-blocking writes); the response body of the
// upgrade, which coder/websocket reads and writes, is replaced by a wsConn.
func dialWebSocket(ctx context.Context, u string, o *DialOptions, lim limits) (Peer, error) {
	var mu sync.Mutex
	var raw net.Conn // the socket, or the TLS connection when we did TLS
	tlsByUs := false
	var d net.Dialer
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			raw = c
			mu.Unlock()
			return c, nil
		},
		DisableKeepAlives: true,
	}
	if strings.HasPrefix(strings.ToLower(u), "wss:") {
		tc, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			td := tls.Dialer{NetDialer: &d, Config: tc}
			c, err := td.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			raw, tlsByUs = c, true
			mu.Unlock()
			return c, nil
		}
	}
	defer tr.CloseIdleConnections()

	p := &wsPeer{}
	wc := &wsConn{p: p}
	p.wc = wc
	var body io.ReadWriteCloser
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			return resp, err
		}
		rwc, ok := resp.Body.(io.ReadWriteCloser)
		if !ok {
			return resp, nil
		}
		body = rwc
		wc.lr = newLazyReader(countingReader{r: rwc, c: &p.core})
		resp.Body = wc
		return resp, nil
	})

	header := o.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	header.Set("User-Agent", ua)
	offered := make([]string, len(lim.serializers))
	for i, s := range lim.serializers {
		offered[i] = s.Subprotocol()
	}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: rt},
		HTTPHeader:   header,
		Subprotocols: offered,
	})
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			msg := ""
			if resp.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
				msg = strings.TrimSpace(string(b))
			}
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Body: msg}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transport: websocket dial: %w (%v)", context.Cause(ctx), err)
		}
		return nil, fmt.Errorf("transport: websocket dial: %w", err)
	}
	mu.Lock()
	rc, byUs := raw, tlsByUs
	mu.Unlock()
	if rc == nil || body == nil || wc.lr == nil { // cannot happen: the transport dials through us
		_ = ws.CloseNow()
		if body != nil {
			_ = body.Close()
		}
		return nil, errors.New("transport: websocket dial: no underlying connection")
	}
	sp := ws.Subprotocol()
	var ser protocol.Serializer
	for _, s := range lim.serializers {
		if s.Subprotocol() == sp {
			ser = s
			break
		}
	}
	if ser == nil {
		_ = ws.CloseNow()
		_ = body.Close()
		if sp == "" {
			return nil, fmt.Errorf("transport: websocket handshake: server picked no subprotocol (offered %s)", strings.Join(offered, ", "))
		}
		return nil, fmt.Errorf("transport: websocket handshake: server picked subprotocol %q, which we did not offer (offered %s)", sp, strings.Join(offered, ", "))
	}
	// Writes go to the socket we dialed when it carries the stream as is
	// (no proxy doing TLS in between); else through the response body.
	var w interface{ Write([]byte) (int, error) } = body
	secure := strings.HasPrefix(strings.ToLower(u), "wss:")
	if !secure || byUs {
		w = rc
	}
	lim.log.Debug("transport: websocket connected", "subprotocol", sp)
	return newWSPeer(ws, wc, rc, w, ser, lim, true), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// WebSocketHandler returns an http.Handler that upgrades WAMP WebSocket
// connections and passes each new peer to accept, on the request's
// goroutine. accept may keep the peer as long as it likes, returning at once
// or when done with it; the caller owns the peer and must Close it.
//
// The subprotocol is the first of the client's offered ones that is among
// opts.Serializers; a client offering none gets 400 Bad Request.
func WebSocketHandler(opts ServerOptions, accept func(Peer)) http.Handler {
	lim, err := serverLimits(opts)
	return &wsHandler{lim: lim, err: err, origins: append([]string(nil), opts.OriginPatterns...), accept: accept, addrs: opts.AddressLimit}
}

type wsHandler struct {
	lim     limits
	err     error // bad options: every request fails with 500
	origins []string
	accept  func(Peer)
	addrs   *AddressLimit
}

func (h *wsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.err != nil {
		h.lim.log.Error("transport: websocket handler misconfigured", "err", h.err)
		http.Error(w, "WAMP endpoint misconfigured", http.StatusInternalServerError)
		return
	}
	var ser protocol.Serializer
	var offered []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			offered = append(offered, tok)
			if ser != nil {
				continue
			}
			for _, s := range h.lim.serializers {
				if s.Subprotocol() == tok {
					ser = s
					break
				}
			}
		}
	}
	if ser == nil {
		var sup []string
		for _, s := range h.lim.serializers {
			sup = append(sup, s.Subprotocol())
		}
		h.lim.log.Info("transport: websocket client offered no supported subprotocol", "remote", r.RemoteAddr, "offered", offered)
		http.Error(w, "no supported WAMP subprotocol offered; supported: "+strings.Join(sup, ", "), http.StatusBadRequest)
		return
	}
	slot, ok := h.addrs.acquire(r.RemoteAddr)
	if !ok {
		h.lim.log.Info("transport: websocket connection refused: too many from this address", "remote", r.RemoteAddr, "limit", h.addrs.String())
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many connections from your address", http.StatusServiceUnavailable)
		return
	}
	p := &wsPeer{}
	hw := &hijackRecorder{ResponseWriter: w, p: p}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{ser.Subprotocol()},
		OriginPatterns: h.origins,
	})
	if err != nil {
		slot.release()
		h.lim.log.Info("transport: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	if hw.wc == nil { // cannot happen: Accept hijacks through hw
		_ = ws.CloseNow()
		slot.release()
		return
	}
	h.lim.log.Debug("transport: websocket accepted", "remote", r.RemoteAddr, "subprotocol", ser.Subprotocol())
	p.slot = slot
	h.accept(newWSPeer(ws, hw.wc, hw.raw, hw.raw, ser, h.lim, false))
}

// hijackRecorder hands coder/websocket a wsConn over the hijacked socket,
// with the bytes net/http had already read in front.
type hijackRecorder struct {
	http.ResponseWriter
	p   *wsPeer
	raw net.Conn
	wc  *wsConn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http has flushed the response head before hijacking.
	if err := brw.Writer.Flush(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	var src io.Reader = c
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), c)
	}
	h.raw = c
	h.wc = &wsConn{Conn: c, p: h.p}
	h.p.wc = h.wc
	h.wc.lr = newLazyReader(countingReader{r: src, c: &h.p.core})
	// Small buffers: the real buffering is the wsConn's, whose buffer an
	// idle connection does not hold.
	return h.wc, bufio.NewReadWriter(bufio.NewReaderSize(h.wc, 16), bufio.NewWriterSize(h.wc, wsWriteBuffer)), nil
}
