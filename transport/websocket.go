package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// wsPeer is a Peer over a WebSocket connection.
//
// coder/websocket runs the opening handshake; from then on the frames are
// ours, read from and written to the socket (RFC 6455 5): data messages
// each in one frame queued in the outbox (coalesced with other messages,
// written without blocking), pings answered, the close handshake run, and
// reads resumable when the Recv context interrupts them (wsFrameReader).
type wsPeer struct {
	core
	wc      *wsConn
	fr      wsFrameReader
	text    bool // messages travel in text frames (else binary)
	opcode  byte // of our data frames: 1 text, 2 binary
	client  bool
	pingSeq uint64

	// A fragmented message being received (owned by the reader).
	frag    bool
	fragOp  byte
	fragMsg []byte

	// Guarded by sendMu.
	keys      []byte // masking keys (client)
	keyPos    int
	closeSent bool
}

// wsStatusError is a terminal error that also picks the close status sent
// to the peer.
type wsStatusError struct {
	status websocket.StatusCode
	err    error
}

func (e *wsStatusError) Error() string { return e.err.Error() }
func (e *wsStatusError) Unwrap() error { return e.err }

// newWSPeer makes the peer of a WebSocket whose handshake ws has just
// completed, reading through wc over socket conn (deadlines, close); out
// writes to w. ws is done with: coder/websocket keeps no goroutine, and
// its Close touches nothing of ours (wc.Close does nothing).
func newWSPeer(ws *websocket.Conn, wc *wsConn, conn net.Conn, w interface{ Write([]byte) (int, error) }, ser protocol.Serializer, lim limits, client bool) *wsPeer {
	if ws != nil { // nil in tests
		_ = ws.CloseNow()
	}
	p := wc.p
	p.client = client
	p.init("websocket", p, conn, ser, lim, lim.maxSize, lim.maxSize, w)
	p.text, p.opcode = ser.TextFrames(), wsBinary
	if p.text {
		p.opcode = wsText
	}
	p.fr = wsFrameReader{r: wsSource{p}, lr: wc.lr, masked: !client}
	if lim.pingInterval > 0 {
		p.StartPing()
	}
	return p
}

// shutdown sends a close frame for a local close, a protocol error or a
// drop (graceful), unless one was sent already.
func (p *wsPeer) shutdown(cause error, graceful bool) {
	if !graceful {
		return
	}
	status := websocket.StatusCode(-1)
	reason := ""
	var se *wsStatusError
	var tooBig *MessageTooBigError
	var drop *dropError
	switch {
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
		return
	}
	// The reply is not awaited: the connection's reads have stopped.
	p.sendClose(status, reason)
}

// RemoteAddr is the address of the other end (see Peer).
func (p *wsPeer) RemoteAddr() net.Addr { return p.conn.RemoteAddr() }

// push queues one message as a single data frame. The caller holds sendMu.
func (p *wsPeer) push(b []byte, copyIt bool) error {
	p.pushFrame(p.opcode, b, copyIt)
	return nil
}

// pushFrame queues one frame (the caller holds sendMu): a server's payload
// by reference unless copyIt, a client's copied and masked with a key of
// its own (RFC 6455 5.3).
func (p *wsPeer) pushFrame(op byte, b []byte, copyIt bool) {
	var hdr [14]byte
	hdr[0] = 0x80 | op // FIN
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
		o.copyLocked(hdr[:n])
		o.addLocked(b, copyIt)
		o.endLocked()
		o.mu.Unlock()
		return
	}
	hdr[1] |= 0x80
	key := p.maskKey()
	binary.LittleEndian.PutUint32(hdr[n:], key)
	n += 4
	o.mu.Lock()
	o.copyLocked(hdr[:n])
	o.addMaskedLocked(b, key)
	o.endLocked()
	o.mu.Unlock()
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

// sendControl queues a control frame (a pong) and writes it; not when the
// outbox is full (a peer that pings without reading gets no pongs rather
// than our memory).
func (p *wsPeer) sendControl(op byte, payload []byte) {
	if p.out.queued.Load() > sendBuffer {
		return
	}
	p.sendMu.Lock()
	if !p.closeSent {
		p.pushFrame(op, payload, true)
	}
	p.sendMu.Unlock()
	p.out.flush()
}

// sendClose queues a close frame with status and reason (cut to fit the
// 125 octets of a control frame) and writes it, unless one was sent.
func (p *wsPeer) sendClose(status websocket.StatusCode, reason string) {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	payload := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(status))
	payload = append(payload, reason...)
	p.sendMu.Lock()
	if !p.closeSent {
		p.closeSent = true
		p.pushFrame(wsClose, payload, true)
	}
	p.sendMu.Unlock()
	p.out.flush()
}

// queuePing queues a ping frame between two messages. The caller holds
// sendMu.
func (p *wsPeer) queuePing() int64 {
	p.pingSeq++
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], p.pingSeq)
	if !p.closeSent {
		p.pushFrame(wsPing, payload[:], true)
	}
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.enq
}

// readMessage reads frames until a data message is complete, answering
// pings and the peer's close frame on the way. Its state (the frame, a
// fragmented message) survives an interrupted read.
func (p *wsPeer) readMessage() ([]byte, error) {
	f := &p.fr
	for {
		f.limit = p.currentRecvLimit() - len(p.fragMsg)
		op, fin, payload, err := f.next()
		if err != nil {
			var tooBig *MessageTooBigError
			if errors.As(err, &tooBig) && p.frag {
				tooBig.Size += len(p.fragMsg)
				tooBig.Limit += len(p.fragMsg)
			}
			return nil, err
		}
		switch op {
		case wsPing:
			p.sendControl(wsPong, payload)
		case wsPong:
			// Keep-alive only needs to see bytes arrive.
		case wsClose:
			return nil, p.closedByPeer(payload)
		case wsText, wsBinary:
			if p.frag {
				return nil, wsProtocolError("a new message began inside a fragmented one")
			}
			if (op == wsText) != p.text {
				return nil, &wsStatusError{
					status: websocket.StatusUnsupportedData,
					err: fmt.Errorf("transport: websocket: received a %s message but %s needs %s messages",
						frameName(op == wsText), p.ser.Subprotocol(), frameName(p.text)),
				}
			}
			if fin {
				return payload, nil // recycled once decoded
			}
			p.frag, p.fragOp = true, op
			p.fragMsg = append(p.fragMsg[:0], payload...)
			f.recycle()
		case wsContinuation:
			if !p.frag {
				return nil, wsProtocolError("continuation frame outside a fragmented message")
			}
			p.fragMsg = append(p.fragMsg, payload...)
			f.recycle()
			if fin {
				m := p.fragMsg
				p.frag, p.fragMsg = false, nil
				return m, nil
			}
		}
	}
}

// closedByPeer answers the peer's close frame with one of ours (echoing
// its status, RFC 6455 5.5.1) and returns the error that ends the
// connection.
func (p *wsPeer) closedByPeer(payload []byte) error {
	status, reason := websocket.StatusNoStatusRcvd, ""
	if len(payload) == 1 {
		return wsProtocolError("close frame with a 1-octet payload")
	}
	if len(payload) >= 2 {
		status = websocket.StatusCode(binary.BigEndian.Uint16(payload))
		reason = string(payload[2:])
		if !validCloseStatus(status) {
			return wsProtocolError(fmt.Sprintf("close frame with invalid status %d", int(status)))
		}
		if !utf8.ValidString(reason) {
			return &wsStatusError{status: websocket.StatusInvalidFramePayloadData,
				err: errors.New("transport: websocket: close reason is not UTF-8")}
		}
	}
	reply := status
	if reply == websocket.StatusNoStatusRcvd {
		reply = websocket.StatusNormalClosure
	}
	p.sendClose(reply, "")
	if status == websocket.StatusNormalClosure || status == websocket.StatusGoingAway {
		return fmt.Errorf("%w by peer (websocket status %d %q)", ErrClosed, int(status), reason)
	}
	return fmt.Errorf("transport: websocket closed by peer with status %d (%s) %q", int(status), status, reason)
}

// validCloseStatus reports whether a peer may send status in a close frame
// (RFC 6455 7.4, and the IANA registry's 1012-1014).
func validCloseStatus(s websocket.StatusCode) bool {
	switch {
	case s >= 1000 && s <= 1003, s >= 1007 && s <= 1014:
		return true
	case s >= 3000 && s <= 4999:
		return true
	}
	return false
}

func (p *wsPeer) recycle() { p.fr.recycle() }

func (p *wsPeer) buffered() bool { return p.wc.lr.buffered() > 0 || p.fr.hn > 0 || p.frag }

func (p *wsPeer) setRecvLimit(int) {} // read per frame from core

func frameName(text bool) string {
	if text {
		return "text"
	}
	return "binary"
}

// wsSource is what the frame reader reads: the buffered socket, with
// reads the Recv context may interrupt.
type wsSource struct{ p *wsPeer }

func (s wsSource) Read(b []byte) (int, error) {
	c := &s.p.core
	if c.closing.Load() {
		return 0, net.ErrClosed
	}
	lr := s.p.wc.lr
	if lr.buffered() == 0 && c.intr.fired.Load() {
		return 0, errInterrupted
	}
	n, err := lr.Read(b)
	if c.intr.interrupted(err) {
		return n, errInterrupted
	}
	return n, err
}

// wsConn is the connection coder/websocket runs the handshake on: the
// hijacked socket on the server side, the response body of the upgrade on
// the client's. Afterwards the peer reads from lr, the socket's buffer;
// coder/websocket neither reads nor writes.
type wsConn struct {
	net.Conn // server side: the hijacked socket (addresses)
	p        *wsPeer
	lr       *lazyReader
}

func (w *wsConn) Read(b []byte) (int, error) { return w.lr.Read(b) }

// Write refuses: nothing is written through coder/websocket.
func (w *wsConn) Write([]byte) (int, error) {
	return 0, errors.New("transport: websocket: unexpected write through the handshake's connection")
}

// Close does nothing: the peer closes the socket once the outbox is
// written.
func (w *wsConn) Close() error { return nil }

// dialWebSocket dials a ws:// or wss:// URL.
//
// The HTTP transport dials through us, so that the peer holds the socket
// itself (deadlines, non-blocking writes); the response body of the
// upgrade, which coder/websocket reads and writes, is replaced by a wsConn.
func dialWebSocket(ctx context.Context, u string, o *DialOptions, lim limits) (Peer, error) {
	var mu sync.Mutex
	var raw net.Conn // the socket, or the TLS connection when we did TLS
	tlsByUs := false
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := o.netDial(ctx, network, addr)
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
			c, err := o.netDial(ctx, network, addr)
			if err == nil {
				c, err = tlsClient(ctx, c, addr, tc)
			}
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
		h.lim.refusals.Info("transport: websocket client offered no supported subprotocol", "remote", r.RemoteAddr, "offered", logsafe.Any(offered))
		http.Error(w, "no supported WAMP subprotocol offered; supported: "+strings.Join(sup, ", "), http.StatusBadRequest)
		return
	}
	slot, ok := h.addrs.acquire(r.RemoteAddr)
	if !ok {
		h.lim.refusals.Info("transport: websocket connection refused: too many from this address", "remote", r.RemoteAddr, "limit", h.addrs.String())
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
		h.lim.refusals.Info("transport: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
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
	// Small buffers: coder/websocket only runs the handshake on them.
	return h.wc, bufio.NewReadWriter(bufio.NewReaderSize(h.wc, 16), bufio.NewWriterSize(h.wc, 16)), nil
}
