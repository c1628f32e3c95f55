package transport

import (
	"bufio"
	"context"
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
type wsPeer struct {
	*core
	ws      *websocket.Conn
	raw     net.Conn // the underlying socket, for a hard close
	msgType websocket.MessageType
}

// wsStatusError is a terminal error that also picks the close status sent
// to the peer.
type wsStatusError struct {
	status websocket.StatusCode
	err    error
}

func (e *wsStatusError) Error() string { return e.err.Error() }
func (e *wsStatusError) Unwrap() error { return e.err }

func newWSPeer(ws *websocket.Conn, raw net.Conn, tr *traffic, ser protocol.Serializer, lim limits) *wsPeer {
	ws.SetReadLimit(int64(lim.maxSize))
	p := &wsPeer{
		core:    newCore(ser, lim, lim.maxSize, lim.maxSize, tr),
		ws:      ws,
		raw:     raw,
		msgType: websocket.MessageBinary,
	}
	if ser.TextFrames() {
		p.msgType = websocket.MessageText
	}
	p.closeTransport = p.closeWS
	go p.readLoop()
	if lim.pingInterval > 0 {
		p.pingKind = "websocket"
		go p.keepAlive("websocket", p.ping)
	} else {
		close(p.pingDone)
	}
	return p
}

// closeWS closes the WebSocket: with a close handshake bounded by
// closeGrace for a local close or a protocol error, at once otherwise.
func (p *wsPeer) closeWS(cause error) {
	status := websocket.StatusCode(-1)
	reason := ""
	var se *wsStatusError
	var tooBig *MessageTooBigError
	switch {
	case cause == ErrClosed:
		status = websocket.StatusNormalClosure
	case errors.As(cause, &se):
		status, reason = se.status, se.err.Error()
	case errors.As(cause, &tooBig) && tooBig.Received:
		status = websocket.StatusMessageTooBig
	}
	if status < 0 {
		_ = p.raw.Close()
		_ = p.ws.CloseNow()
		return
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	done := make(chan struct{})
	go func() {
		_ = p.ws.Close(status, reason)
		close(done)
	}()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = p.raw.Close()
		<-done
	}
}

// RemoteAddr is the address of the other end (see Peer).
func (p *wsPeer) RemoteAddr() net.Addr { return p.raw.RemoteAddr() }

func (p *wsPeer) Send(ctx context.Context, m protocol.Message) error {
	// The socket gets the connection's own context (never ending) so that
	// only core.write decides when an expired ctx closes the connection.
	return p.send(ctx, m, func(b []byte) error { return p.ws.Write(context.Background(), p.msgType, b) })
}

func (p *wsPeer) readLoop() {
	defer close(p.readDone)
	for {
		typ, r, err := p.ws.Reader(context.Background())
		if err != nil {
			p.fail(p.readError(err))
			return
		}
		if typ != p.msgType {
			p.fail(&wsStatusError{
				status: websocket.StatusUnsupportedData,
				err: fmt.Errorf("transport: websocket: received a %s message but %s needs %s messages",
					frameName(typ), p.ser.Subprotocol(), frameName(p.msgType)),
			})
			return
		}
		b, err := io.ReadAll(r)
		if err != nil {
			p.fail(p.readError(err))
			return
		}
		if !p.deliver(b) {
			return
		}
	}
}

func frameName(t websocket.MessageType) string {
	if t == websocket.MessageText {
		return "text"
	}
	return "binary"
}

// readError turns a coder/websocket read error into ours.
func (p *wsPeer) readError(err error) error {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return &MessageTooBigError{Limit: p.recvLimit, Received: true}
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

// ping holds the writer slot while it pings and waits for the pong (one
// round trip), so that a long Send is never mistaken for a missing pong.
func (p *wsPeer) ping(ctx context.Context) error {
	select {
	case p.wlock <- struct{}{}:
	case <-p.done:
		return p.closedErr()
	case <-ctx.Done():
		return errPingNotWritten
	}
	defer func() { <-p.wlock }()
	err := p.ws.Ping(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return errPongTimeout
	}
	return err
}

// dialWebSocket dials a ws:// or wss:// URL.
func dialWebSocket(ctx context.Context, u string, o *DialOptions, lim limits) (Peer, error) {
	var mu sync.Mutex
	var raw net.Conn
	counts := new(traffic)
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			raw = c
			mu.Unlock()
			return &countingConn{Conn: c, t: counts}, nil
		},
		DisableKeepAlives: true,
	}
	if strings.HasPrefix(strings.ToLower(u), "wss:") {
		tc, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	defer tr.CloseIdleConnections()

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
		HTTPClient:   &http.Client{Transport: tr},
		HTTPHeader:   header,
		Subprotocols: offered,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body := ""
			if resp.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
				body = strings.TrimSpace(string(b))
			}
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Body: body}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transport: websocket dial: %w (%v)", context.Cause(ctx), err)
		}
		return nil, fmt.Errorf("transport: websocket dial: %w", err)
	}
	mu.Lock()
	rc := raw
	mu.Unlock()
	sp := ws.Subprotocol()
	var ser protocol.Serializer
	for _, s := range lim.serializers {
		if s.Subprotocol() == sp {
			ser = s
			break
		}
	}
	if ser == nil {
		_ = ws.Close(websocket.StatusProtocolError, "no WAMP subprotocol")
		if sp == "" {
			return nil, fmt.Errorf("transport: websocket handshake: server picked no subprotocol (offered %s)", strings.Join(offered, ", "))
		}
		return nil, fmt.Errorf("transport: websocket handshake: server picked subprotocol %q, which we did not offer (offered %s)", sp, strings.Join(offered, ", "))
	}
	if rc == nil { // cannot happen: the transport dials through DialContext
		_ = ws.CloseNow()
		return nil, errors.New("transport: websocket dial: no underlying connection")
	}
	lim.log.Debug("transport: websocket connected", "subprotocol", sp)
	return newWSPeer(ws, rc, counts, ser, lim), nil
}

// WebSocketHandler returns an http.Handler that upgrades WAMP WebSocket
// connections and passes each new peer to accept, on the request's
// goroutine. accept may keep the peer as long as it likes, returning at once
// or when done with it; the caller owns the peer and must Close it.
//
// The subprotocol is the first of the client's offered ones that is among
// opts.Serializers; a client offering none gets 400 Bad Request.
func WebSocketHandler(opts ServerOptions, accept func(Peer)) http.Handler {
	lim, err := resolveLimits(opts.Serializers, opts.MaxMessageSize, opts.PingInterval, opts.PongTimeout, false, opts.Logger)
	return &wsHandler{lim: lim, err: err, origins: append([]string(nil), opts.OriginPatterns...), accept: accept}
}

type wsHandler struct {
	lim     limits
	err     error // bad options: every request fails with 500
	origins []string
	accept  func(Peer)
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
	hw := &hijackRecorder{ResponseWriter: w, traffic: new(traffic)}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{ser.Subprotocol()},
		OriginPatterns: h.origins,
	})
	if err != nil {
		h.lim.log.Info("transport: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	if hw.raw == nil { // cannot happen: Accept hijacks through hw
		_ = ws.CloseNow()
		return
	}
	h.lim.log.Debug("transport: websocket accepted", "remote", r.RemoteAddr, "subprotocol", ser.Subprotocol())
	h.accept(newWSPeer(ws, hw.raw, hw.traffic, ser, h.lim))
}

// hijackRecorder hands coder/websocket a counting wrapper of the hijacked
// connection and remembers the raw connection for a hard close.
type hijackRecorder struct {
	http.ResponseWriter
	traffic *traffic
	raw     net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.raw = c
	cc := &countingConn{Conn: c, t: h.traffic}
	// Writes go through the counting wrapper too: a fresh writer (net/http
	// has flushed the response head before hijacking).
	if err := brw.Writer.Flush(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	brw = bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(cc, brw.Writer.Size()))
	return cc, brw, nil
}
