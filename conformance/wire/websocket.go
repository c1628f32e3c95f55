package wire

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

// wsReadLimit bounds a received WebSocket message. Generous: the scenarios
// about message size need to see what the router really sends.
const wsReadLimit = 64 << 20

// wsLink is the WebSocket half of a Conn.
type wsLink struct {
	ws   *websocket.Conn
	raw  func() // hard close of the socket
	once sync.Once
}

func (l *wsLink) read() (*Frame, error) {
	typ, r, err := l.ws.Reader(context.Background())
	if err != nil {
		return nil, wsClosed(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, wsClosed(err)
	}
	return &Frame{Payload: b, Text: typ == websocket.MessageText}, nil
}

func wsClosed(err error) *ClosedError {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &ClosedError{ByPeer: true, Status: int(ce.Code), Reason: ce.Reason}
	}
	return &ClosedError{ByPeer: true, Status: -1, Err: err}
}

func (l *wsLink) write(ctx context.Context, f *Frame) error {
	if f.Type != FrameMessage {
		return fmt.Errorf("frame type %d is RawSocket only", f.Type)
	}
	typ := websocket.MessageBinary
	if f.Text {
		typ = websocket.MessageText
	}
	// coder/websocket closes the connection when the write's context ends;
	// that is acceptable here (the scenario has failed by then).
	return l.ws.Write(ctx, typ, f.Payload)
}

func (l *wsLink) close() {
	l.once.Do(func() {
		l.raw()
		l.ws.CloseNow()
	})
}

func (l *wsLink) closeWith(status int, reason string) {
	done := make(chan struct{})
	go func() {
		l.ws.Close(websocket.StatusCode(status), reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	l.close()
}

func dialWebSocket(ctx context.Context, ep Endpoint, o *Options) (*Conn, error) {
	offered := o.Subprotocols
	if offered == nil && o.Serializer != nil {
		offered = []string{o.Serializer.Subprotocol()}
	}
	var mu sync.Mutex
	var raw net.Conn
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			mu.Lock()
			raw = c
			mu.Unlock()
			return c, err
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	note := func(format string, args ...any) {
		if o.Observer != nil {
			o.Observer(Event{Time: time.Now(), Dir: Note, Text: fmt.Sprintf(format, args...)})
		}
	}
	note("websocket handshake to %s offering subprotocols %q", ep.URL, offered)
	ws, resp, err := websocket.Dial(ctx, ep.URL, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		HTTPHeader:   o.Header,
		Subprotocols: offered,
	})
	if err != nil {
		he := &HandshakeError{Transport: WebSocket, Err: err}
		if resp != nil {
			if resp.StatusCode != http.StatusSwitchingProtocols {
				he.HTTPStatus = resp.StatusCode
			}
			he.Subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
		}
		note("%v", he)
		return nil, he
	}
	ws.SetReadLimit(wsReadLimit)
	sp := ws.Subprotocol()
	note("websocket connected, subprotocol %q", sp)
	ser, _ := protocol.SerializerBySubprotocol(sp)
	mu.Lock()
	rc := raw
	mu.Unlock()
	l := &wsLink{ws: ws, raw: func() {
		if rc != nil {
			rc.Close()
		}
	}}
	c := newConn(WebSocket, ser, l, o.Observer)
	c.subprotocol = sp
	c.start()
	return c, nil
}

// WebSocketHandler upgrades WebSocket connections and hands each to serve,
// on the request's goroutine. By default the subprotocol is the first of
// the client's offer that names a serializer of o.Serializers (400 Bad
// Request when there is none); o.Subprotocol can pick another, even one the
// client did not offer.
func WebSocketHandler(o AcceptOptions, serve func(*Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var offered []string
		for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
			for _, tok := range strings.Split(v, ",") {
				if tok = strings.TrimSpace(tok); tok != "" {
					offered = append(offered, tok)
				}
			}
		}
		var chosen string
		var tag any
		ok := false
		if o.Subprotocol != nil {
			chosen, ok, tag = o.Subprotocol(offered)
		} else {
		pick:
			for _, sp := range offered {
				for _, s := range o.serializers() {
					if s.Subprotocol() == sp {
						chosen, ok = sp, true
						break pick
					}
				}
			}
		}
		if !ok {
			closeTag(tag)
			http.Error(w, "no supported WAMP subprotocol offered", http.StatusBadRequest)
			return
		}
		if chosen != "" {
			w.Header().Set("Sec-WebSocket-Protocol", chosen)
		}
		var raw net.Conn
		hj := &hijacker{ResponseWriter: w, raw: &raw}
		ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			closeTag(tag)
			return
		}
		ws.SetReadLimit(wsReadLimit)
		ser, _ := protocol.SerializerBySubprotocol(chosen)
		rc := raw
		l := &wsLink{ws: ws, raw: func() {
			if rc != nil {
				rc.Close()
			}
		}}
		c := newConn(WebSocket, ser, l, o.Observer)
		c.subprotocol = chosen
		c.tag = tag
		c.start()
		serve(c)
	})
}

// hijacker remembers the hijacked connection for a hard close.
type hijacker struct {
	http.ResponseWriter
	raw *net.Conn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		*h.raw = c
	}
	return c, brw, err
}
