package session_test

import (
	"bytes"
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

var loopKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))

func loopAuthenticators() []auth.Authenticator {
	pub := hex.EncodeToString(loopKey.Public().(ed25519.PublicKey))
	return []auth.Authenticator{
		auth.TicketAuthenticator(func(_ context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			if req.AuthID == "tom" && ticket == "t1cket" {
				return &auth.Identity{AuthID: "tom", AuthRole: "user"}, nil
			}
			return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "bad ticket"}
		}),
		auth.CRAAuthenticator(func(_ context.Context, req *auth.Request) (*auth.CRAUser, error) {
			if req.AuthID != "cara" {
				return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "unknown user"}
			}
			return &auth.CRAUser{Secret: "L3L1YUE8Txlw", Salt: "salt123", Iterations: 1000, KeyLen: 32,
				Identity: auth.Identity{AuthID: "cara", AuthRole: "user"}}, nil
		}),
		auth.CryptosignAuthenticator(func(_ context.Context, req *auth.Request, pubkey string) (*auth.Identity, error) {
			if pubkey != pub {
				return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "unknown key"}
			}
			return &auth.Identity{AuthID: "cris", AuthRole: "user"}, nil
		}),
		auth.AnonymousAuthenticator("guest"),
	}
}

// loopbackRouter serves a miniRouter on a RawSocket listener and a
// WebSocket server on 127.0.0.1; it returns the two URLs.
func loopbackRouter(t *testing.T) (rawURL, wsURL string) {
	t.Helper()
	mr := newMiniRouter()
	acfg := session.AcceptConfig{Authenticators: loopAuthenticators()}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := transport.ListenRawSocket(ctx, "tcp", "127.0.0.1:0", transport.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mr.wg.Add(1)
	go func() {
		defer mr.wg.Done()
		for {
			p, err := l.Accept(ctx)
			if err != nil {
				return
			}
			mr.wg.Add(1)
			go func() {
				defer mr.wg.Done()
				mr.servePeer(ctx, p, acfg)
			}()
		}
	}()
	srv := httptest.NewServer(transport.WebSocketHandler(transport.ServerOptions{}, func(p transport.Peer) {
		mr.servePeer(ctx, p, acfg)
	}))
	t.Cleanup(func() {
		cancel()
		l.Close()
		srv.CloseClientConnections()
		srv.Close()
		mr.close()
	})
	return "tcp://" + l.Addr().String(), "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestLoopbackAuthMethods(t *testing.T) {
	checkLeaks(t)
	rawURL, wsURL := loopbackRouter(t)
	methods := []struct {
		name       string
		authid     string
		auth       []auth.ClientMethod
		wantMethod string
		wantID     string
	}{
		{"anonymous", "", nil, "anonymous", ""},
		{"ticket", "tom", []auth.ClientMethod{auth.Ticket("t1cket")}, "ticket", "tom"},
		{"wampcra salted", "cara", []auth.ClientMethod{auth.WAMPCRA("L3L1YUE8Txlw")}, "wampcra", "cara"},
		{"cryptosign", "cris", []auth.ClientMethod{auth.Cryptosign(loopKey)}, "cryptosign", "cris"},
	}
	serializers := []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}
	for _, url := range []string{rawURL, wsURL} {
		for _, ser := range serializers {
			for _, m := range methods {
				name := strings.SplitN(url, ":", 2)[0] + "/" + ser.Name() + "/" + m.name
				t.Run(name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					peer, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}})
					if err != nil {
						t.Fatal(err)
					}
					s, err := session.Join(ctx, peer, session.Config{Realm: "realm1", AuthID: m.authid, Auth: m.auth})
					if err != nil {
						t.Fatal(err)
					}
					info := s.Info()
					if info.AuthMethod != m.wantMethod || (m.wantID != "" && info.AuthID != m.wantID) {
						t.Errorf("Info = %+v", info)
					}
					// A round trip through the router to this same session.
					_, err = s.Register(ctx, "loop.echo", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
						return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
					})
					if err != nil {
						t.Fatal(err)
					}
					res, err := s.Call(ctx, "loop.echo", protocol.List{"a", int64(7), []byte{1, 2}}, protocol.Dict{"k": true})
					if err != nil {
						t.Fatal(err)
					}
					if res.Arg(0) != "a" || res.Arg(1) != int64(7) || !bytes.Equal(res.Arg(2).([]byte), []byte{1, 2}) || res.Kwargs["k"] != true {
						t.Errorf("result %+v", res)
					}
					if err := s.Close(ctx); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

func TestLoopbackBadCredentials(t *testing.T) {
	checkLeaks(t)
	rawURL, _ := loopbackRouter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	peer, err := transport.Dial(ctx, rawURL, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = session.Join(ctx, peer, session.Config{Realm: "realm1", AuthID: "tom", Auth: []auth.ClientMethod{auth.Ticket("wrong-secret")}})
	var ae *session.AbortError
	if !errors.As(err, &ae) || !errors.Is(err, session.ErrNotAuthorized) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("secret in error: %v", err)
	}
}
