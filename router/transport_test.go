package router_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Real loopback sockets: WebSocket, RawSocket TCP and RawSocket Unix, each
// with every serializer.

func dialJoin(t *testing.T, url string, ser protocol.Serializer, maxSize int) *session.Session {
	t.Helper()
	return dialJoinCfg(t, url, ser, maxSize, session.Config{})
}

// dialJoinCfg is dialJoin with a session configuration (the realm defaults
// to testRealm).
func dialJoinCfg(t *testing.T, url string, ser protocol.Serializer, maxSize int, cfg session.Config) *session.Session {
	t.Helper()
	ctx := ctxT(t)
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}, MaxMessageSize: maxSize})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return joinPeer(t, ctx, p, url, cfg)
}

// joinPeer joins a session over p, dialled to url, with cfg (the realm
// defaults to testRealm); it closes when the test ends.
func joinPeer(t *testing.T, ctx context.Context, p transport.Peer, url string, cfg session.Config) *session.Session {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	s, err := session.Join(ctx, p, cfg)
	if err != nil {
		t.Fatalf("join %s: %v", url, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

type endpoints struct{ ws, tcp, unix string }

func serveAll(t *testing.T, cfg router.Config) (*router.Router, endpoints) {
	t.Helper()
	checkLeaks(t)
	if len(cfg.Realms) == 0 {
		cfg.Realms = []router.RealmConfig{{Name: testRealm}}
	}
	r, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	hs := httptest.NewServer(mux)
	ctx := ctxT(t)
	tcp, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "wamp.sock")
	unix, err := r.ListenRawSocket(ctx, "unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- r.ServeRawSocket(tcp) }()
	go func() { served <- r.ServeRawSocket(unix) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		for i := 0; i < 2; i++ {
			// ErrClosed: the test was over before ServeRawSocket started.
			if err := <-served; err != nil && !errors.Is(err, router.ErrClosed) {
				t.Errorf("ServeRawSocket: %v", err)
			}
		}
		hs.Close()
	})
	return r, endpoints{
		ws:   "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws",
		tcp:  "tcp://" + tcp.Addr().String(),
		unix: "unix://" + sock,
	}
}

func TestTransportsAndSerializers(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	callee := dialJoin(t, ep.tcp, protocol.CBOR, 0)
	if _, err := callee.Register(ctx, "t.echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{ep.ws, ep.tcp, ep.unix} {
		for _, ser := range serializers {
			t.Run(fmt.Sprintf("%s/%s", strings.SplitN(url, ":", 2)[0], ser.Name()), func(t *testing.T) {
				s := dialJoin(t, url, ser, 0)
				args := protocol.List{"text", int64(-7), 2.5, []byte{0, 1, 2}, protocol.List{true, nil}}
				res, err := s.Call(ctx, "t.echo", args, protocol.Dict{"k": "v"})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(res.Args) != fmt.Sprint(args) || res.Kwargs["k"] != "v" {
					t.Fatalf("echo %v %v", res.Args, res.Kwargs)
				}
			})
		}
	}
}

func TestOversizedMessageRefused(t *testing.T) {
	const limit = 4096
	_, ep := serveAll(t, router.Config{MaxMessageSize: limit})
	ctx := ctxT(t)
	callee := dialJoin(t, ep.tcp, protocol.JSON, 1<<20)
	if _, err := callee.Register(ctx, "t.echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	}); err != nil {
		t.Fatal(err)
	}
	bystander := dialJoin(t, ep.ws, protocol.JSON, 0)
	// WebSocket: the router reads the frame, refuses it and aborts the
	// session (the connection is closed).
	big := dialJoin(t, ep.ws, protocol.JSON, 1<<20) // the client allows what the router refuses
	if _, err := big.Call(ctx, "t.echo", protocol.List{strings.Repeat("x", 2*limit)}, nil); err == nil {
		t.Fatal("oversized call succeeded")
	}
	select {
	case <-big.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session not ended after an oversized message")
	}
	var ae *session.AbortError
	if !errors.As(big.Err(), &ae) && !errors.Is(big.Err(), session.ErrConnectionLost) {
		t.Fatalf("session ended with %v", big.Err())
	}
	// RawSocket: the router announced its limit in the handshake, so the
	// client refuses to send and the session lives on.
	rs := dialJoin(t, ep.tcp, protocol.JSON, 1<<20)
	_, err := rs.Call(ctx, "t.echo", protocol.List{strings.Repeat("x", 2*limit)}, nil)
	var tb *transport.MessageTooBigError
	if !errors.As(err, &tb) || tb.Limit != limit {
		t.Fatalf("rawsocket oversized call: %v", err)
	}
	// others are unaffected
	for _, s := range []*session.Session{bystander, rs} {
		if res, err := s.Call(ctx, "t.echo", protocol.List{"small"}, nil); err != nil || res.Arg(0) != "small" {
			t.Fatalf("after oversized message: %v %v", res, err)
		}
	}
	// A RESULT bigger than what the caller accepts (it announced 1 KiB in
	// the RawSocket handshake) fails that call only.
	if _, err := callee.Register(ctx, "t.grow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{strings.Repeat("y", 2000)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	small := dialJoin(t, ep.tcp, protocol.JSON, 1024)
	_, err = small.Call(ctx, "t.grow", nil, nil)
	var we *session.Error
	if !errors.As(err, &we) || we.URI != "wamp.error.payload_size_exceeded" {
		t.Fatalf("too big result: %v", err)
	}
	if res, err := small.Call(ctx, "t.echo", protocol.List{"ok"}, nil); err != nil || res.Arg(0) != "ok" {
		t.Fatalf("after too big result: %v %v", res, err)
	}
}

// A client sending bytes that are not a WAMP message gets ABORT
// wamp.error.protocol_violation; other sessions carry on.
func TestGarbageFrameAborts(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	bystander := dialJoin(t, ep.tcp, protocol.MsgPack, 0)
	if _, err := bystander.Register(ctx, "t.ok", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"ok"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, frame := range []string{`[999, 1]`, `not json`, `[48, "x", {}, "a.b"]`, `[]`} {
		t.Run(frame, func(t *testing.T) {
			ws, _, err := websocket.Dial(ctx, ep.ws, &websocket.DialOptions{Subprotocols: []string{"wamp.2.json"}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			send := func(s string) {
				if err := ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			read := func() protocol.Message {
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				m, err := protocol.JSON.Unmarshal(b)
				if err != nil {
					t.Fatalf("decode %s: %v", b, err)
				}
				return m
			}
			send(`[1, "realm1", {"roles": {"caller": {}}}]`)
			if _, ok := read().(*protocol.Welcome); !ok {
				t.Fatal("no WELCOME")
			}
			send(frame)
			a, ok := read().(*protocol.Abort)
			if !ok || a.Reason != "wamp.error.protocol_violation" {
				t.Fatalf("got %+v, want ABORT wamp.error.protocol_violation", a)
			}
			if _, _, err := ws.Read(ctx); err == nil {
				t.Fatal("connection still open after ABORT")
			}
		})
	}
	caller := dialJoin(t, ep.ws, protocol.CBOR, 0)
	if res, err := caller.Call(ctx, "t.ok", nil, nil); err != nil || res.Arg(0) != "ok" {
		t.Fatalf("after violations: %v %v", res, err)
	}
}

// A RawSocket client announcing the smallest maximum message length (512
// bytes) cannot receive a WELCOME that lists the router's roles and a
// large authextra: it is told so, not "authentication failed". A client
// whose own HELLO is over its maximum (ours: its roles alone take more)
// fails before sending it, saying so.
func TestRawSocketMaxLengthTooSmallForWelcome(t *testing.T) {
	checkLeaks(t)
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: testRealm, Authenticators: []auth.Authenticator{
		auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			return &auth.Identity{AuthID: req.AuthID, AuthRole: "user", AuthExtra: protocol.Dict{"motd": strings.Repeat("m", 300)}}, nil
		}),
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	ln, err := r.ListenRawSocket(ctx, "unix", filepath.Join(t.TempDir(), "wamp.sock"))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.ServeRawSocket(ln) }()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Close(cctx)
		<-served
	})
	url := "unix://" + ln.Addr().String()
	for _, ser := range serializers {
		p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}, MaxMessageSize: 512})
		if err != nil {
			t.Fatalf("dial %s: %v", ser.Name(), err)
		}
		_, err = session.Join(ctx, p, session.Config{Realm: testRealm, AuthID: "u", Auth: []auth.ClientMethod{auth.Ticket("t")}})
		var ae *session.AbortError
		var big *transport.MessageTooBigError
		switch {
		case errors.As(err, &ae):
			if ae.Reason != protocol.URIPayloadSizeExceeded || !strings.Contains(ae.Message, "WELCOME of") ||
				!strings.Contains(ae.Message, "maximum message length of 512 bytes the client announced") {
				t.Errorf("%s: %v, want ABORT %s naming WELCOME and the 512-byte maximum", ser.Name(), err, protocol.URIPayloadSizeExceeded)
			}
		case errors.As(err, &big) && strings.Contains(err.Error(), "sending HELLO: it is over the maximum message length of 512 bytes; a WAMP session needs a larger maximum"):
			// Our own HELLO, which lists the client's roles, is over 512
			// bytes: refused locally, saying so.
		default:
			t.Errorf("%s: %v, want ABORT %s", ser.Name(), err, protocol.URIPayloadSizeExceeded)
		}
	}
	// A foreign client with a small HELLO gets the ABORT over JSON too.
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{protocol.JSON}, MaxMessageSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hello := &protocol.Hello{Realm: testRealm, Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}},
		"authid": "u", "authmethods": protocol.List{"ticket"}}}
	if err := p.Send(ctx, hello); err != nil {
		t.Fatal(err)
	}
	if m, err := p.Recv(ctx); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*protocol.Challenge); !ok {
		t.Fatalf("got %v, want CHALLENGE", m)
	}
	if err := p.Send(ctx, &protocol.Authenticate{Signature: "t", Extra: protocol.Dict{}}); err != nil {
		t.Fatal(err)
	}
	m, err := p.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ab, ok := m.(*protocol.Abort)
	if msg, _ := ab.Details["message"].(string); !ok || ab.Reason != protocol.URIPayloadSizeExceeded || !strings.Contains(msg, "WELCOME of") {
		t.Errorf("got %v, want ABORT %s naming WELCOME", m, protocol.URIPayloadSizeExceeded)
	}
}
