package session_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// acceptServed is what the router side saw for one connection.
type acceptServed struct {
	j   *session.Joined
	err error
}

// acceptServe runs Accept on p and reports its outcome; once joined, it
// answers the client's GOODBYE, reports that (nil error) or why the session
// ended otherwise, and closes.
func acceptServe(ctx context.Context, p transport.Peer, cfg session.AcceptConfig, out chan<- acceptServed) {
	j, err := session.Accept(ctx, p, cfg)
	out <- acceptServed{j, err}
	if err != nil {
		return
	}
	defer p.Close()
	for {
		m, err := p.Recv(ctx)
		if err != nil {
			out <- acceptServed{err: err}
			return
		}
		if _, ok := m.(*protocol.Goodbye); ok {
			err := p.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
			out <- acceptServed{err: err}
			return
		}
	}
}

var (
	acceptJoinKey   = ed25519.NewKeyFromSeed([]byte("0123456789abcdef0123456789abcdef"))
	acceptJoinOther = ed25519.NewKeyFromSeed([]byte("fedcba9876543210fedcba9876543210"))
)

func acceptJoinConfig() session.AcceptConfig {
	pub := hex.EncodeToString(acceptJoinKey.Public().(ed25519.PublicKey))
	return session.AcceptConfig{
		Realms: func(r string) bool { return r == "realm1" },
		Authenticators: []auth.Authenticator{
			auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
				if req.AuthID == "alice" && ticket == "al1ce-ticket" {
					return &auth.Identity{AuthRole: "frontend", AuthProvider: "dynamic", AuthExtra: protocol.Dict{"cache_id": "abc"}}, nil
				}
				return nil, &auth.Denied{Reason: "com.izaber.wamp.error.permissiondenied", Message: "Permission Denied"}
			}),
			auth.CRAAuthenticator(func(ctx context.Context, req *auth.Request) (*auth.CRAUser, error) {
				switch req.AuthID {
				case "bob":
					return &auth.CRAUser{Secret: "b0b-secret", Identity: auth.Identity{AuthRole: "backend"}}, nil
				case "carol":
					return &auth.CRAUser{Salt: "salt123", Iterations: 1000, KeyLen: 32,
						Key: auth.DeriveCRAKey("car0l-secret", "salt123", 1000, 32), Identity: auth.Identity{AuthRole: "backend"}}, nil
				}
				return nil, nil
			}),
			auth.CryptosignAuthenticator(func(ctx context.Context, req *auth.Request, pubkeyHex string) (*auth.Identity, error) {
				if pubkeyHex == pub {
					return &auth.Identity{AuthID: "device-1", AuthRole: "trust"}, nil
				}
				return nil, nil
			}),
			auth.AnonymousAuthenticator("public"),
		},
		Agent: "accept-join-test",
	}
}

type acceptJoinCase struct {
	name   string
	realm  string
	authid string
	auth   []auth.ClientMethod
	role   string // welcomed role; "" when refused
	method string
	abort  string // ABORT reason the client must get
	msg    string // and its message, when set
}

var acceptJoinCases = []acceptJoinCase{
	{name: "anonymous", realm: "realm1", role: "public", method: "anonymous"},
	{name: "ticket", realm: "realm1", authid: "alice", auth: []auth.ClientMethod{auth.Ticket("al1ce-ticket")}, role: "frontend", method: "ticket"},
	{name: "ticket wrong", realm: "realm1", authid: "alice", auth: []auth.ClientMethod{auth.Ticket("guess")},
		abort: "com.izaber.wamp.error.permissiondenied", msg: "Permission Denied"},
	{name: "wampcra", realm: "realm1", authid: "bob", auth: []auth.ClientMethod{auth.WAMPCRA("b0b-secret")}, role: "backend", method: "wampcra"},
	{name: "wampcra wrong", realm: "realm1", authid: "bob", auth: []auth.ClientMethod{auth.WAMPCRA("guess")}, abort: "wamp.error.not_authorized"},
	{name: "wampcra salted", realm: "realm1", authid: "carol", auth: []auth.ClientMethod{auth.WAMPCRA("car0l-secret")}, role: "backend", method: "wampcra"},
	{name: "wampcra salted wrong", realm: "realm1", authid: "carol", auth: []auth.ClientMethod{auth.WAMPCRA("b0b-secret")}, abort: "wamp.error.not_authorized"},
	{name: "cryptosign", realm: "realm1", auth: []auth.ClientMethod{auth.Cryptosign(acceptJoinKey)}, role: "trust", method: "cryptosign"},
	{name: "cryptosign unknown key", realm: "realm1", auth: []auth.ClientMethod{auth.Cryptosign(acceptJoinOther)}, abort: "wamp.error.not_authorized"},
	{name: "first offered wins", realm: "realm1", authid: "bob", auth: []auth.ClientMethod{auth.WAMPCRA("b0b-secret"), auth.Ticket("x")}, role: "backend", method: "wampcra"},
	{name: "unknown realm", realm: "realm2", abort: "wamp.error.no_such_realm"},
}

func (tc acceptJoinCase) run(t *testing.T, ctx context.Context, p transport.Peer, served <-chan acceptServed) {
	t.Helper()
	s, err := session.Join(ctx, p, session.Config{Realm: tc.realm, AuthID: tc.authid, Auth: tc.auth})
	r := <-served
	if tc.abort != "" {
		var ab *session.AbortError
		if !errors.As(err, &ab) {
			t.Fatalf("Join: %v, want ABORT %s", err, tc.abort)
		}
		if ab.Reason != tc.abort || (tc.msg != "" && ab.Message != tc.msg) {
			t.Errorf("ABORT %q %q, want %q %q", ab.Reason, ab.Message, tc.abort, tc.msg)
		}
		var d *auth.Denied
		if !errors.As(r.err, &d) || d.Reason != tc.abort {
			t.Errorf("Accept: %v, want a denial %s", r.err, tc.abort)
		}
		return
	}
	if err != nil {
		t.Fatalf("Join: %v (Accept: %v)", err, r.err)
	}
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	info := s.Info()
	id := r.j.Identity
	if info.Session != r.j.Session || info.Realm != tc.realm || info.AuthID != id.AuthID || info.AuthRole != tc.role ||
		id.AuthRole != tc.role || info.AuthMethod != tc.method || info.AuthProvider != id.AuthProvider {
		t.Errorf("client sees %+v, router welcomed %d %+v", info, r.j.Session, id)
	}
	if tc.authid != "" && info.AuthID != tc.authid {
		t.Errorf("authid %q, want %q", info.AuthID, tc.authid)
	}
	if info.Details["agent"] != "accept-join-test" {
		t.Errorf("agent %v", info.Details["agent"])
	}
	closeErr := s.Close(ctx)
	if end := <-served; end.err != nil {
		t.Errorf("router side: no clean GOODBYE exchange: %v (client Close: %v)", end.err, closeErr)
	}
	select {
	case <-s.Done():
	default:
		t.Error("session not done after Close")
	}
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
}

// Join against Accept over loopback RawSocket, for every serializer and
// auth method.
func TestAcceptJoinRawSocket(t *testing.T) {
	for _, ser := range []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR} {
		t.Run(ser.Name(), func(t *testing.T) {
			checkLeaks(t)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			l, err := transport.ListenRawSocket(ctx, "tcp", "127.0.0.1:0", transport.ServerOptions{Serializers: []protocol.Serializer{ser}})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			served := make(chan acceptServed, 1)
			cfg := acceptJoinConfig()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					p, err := l.Accept(ctx)
					if err != nil {
						return
					}
					acceptServe(ctx, p, cfg, served)
				}
			}()
			for _, tc := range acceptJoinCases {
				t.Run(tc.name, func(t *testing.T) {
					p, err := transport.Dial(ctx, "tcp://"+l.Addr().String(), transport.DialOptions{Serializers: []protocol.Serializer{ser}})
					if err != nil {
						t.Fatal(err)
					}
					tc.run(t, ctx, p, served)
				})
			}
			l.Close()
			<-done
		})
	}
}

// The same over a loopback WebSocket server.
func TestAcceptJoinWebSocket(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	served := make(chan acceptServed, 1)
	cfg := acceptJoinConfig()
	srv := httptest.NewServer(transport.WebSocketHandler(transport.ServerOptions{}, func(p transport.Peer) {
		acceptServe(ctx, p, cfg, served)
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, tc := range acceptJoinCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := transport.Dial(ctx, url, transport.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.run(t, ctx, p, served)
		})
	}
}
