package client_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Trace sees every message of the handshake and of the session, in order
// per direction, with the ticket redacted; Stats counts them, and the
// bytes that moved on the socket.
func TestTraceAndStats(t *testing.T) {
	const secret = "s3cret-ticket"
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "realm1",
		Authenticators: []auth.Authenticator{auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			if ticket != secret {
				return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "bad ticket"}
			}
			return &auth.Identity{AuthRole: "user"}, nil
		})},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	defer srv.Close()
	defer r.Close(context.Background())

	var mu sync.Mutex
	var trace []string
	cfg := client.Config{
		URL:            "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		Session:        session.Config{Realm: "realm1", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket(secret)}},
		ConnectTimeout: 5 * time.Second,
		Trace: func(dir client.Direction, m protocol.Message) {
			mu.Lock()
			defer mu.Unlock()
			line := dir.String() + " " + m.Code().String()
			if a, ok := m.(*protocol.Authenticate); ok {
				line += " " + a.Signature
			}
			trace = append(trace, line)
		},
	}
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	if _, err := c.Register(ctx, "com.example.echo", echo); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "com.example.echo", protocol.List{"hi"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "com.example.nothing", nil, nil); err == nil {
		t.Fatal("call of a missing procedure succeeded")
	}

	mu.Lock()
	got := strings.Join(trace, "\n")
	mu.Unlock()
	for _, want := range []string{
		"sent HELLO", "received CHALLENGE", "sent AUTHENTICATE " + client.Redacted, "received WELCOME",
		"sent REGISTER", "received REGISTERED", "sent CALL", "received INVOCATION", "sent YIELD",
		"received RESULT", "received ERROR",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, secret) {
		t.Errorf("trace shows the ticket:\n%s", got)
	}
	st := c.Stats()
	if st.Calls != 2 || st.Invocations != 1 || st.Errors != 1 {
		t.Errorf("Stats = %+v, want 2 calls, 1 invocation, 1 error", st)
	}
	// HELLO, AUTHENTICATE, REGISTER, 2 CALL, YIELD; CHALLENGE, WELCOME,
	// REGISTERED, INVOCATION, RESULT, ERROR.
	if st.MessagesOut != 6 || st.MessagesIn != 6 {
		t.Errorf("Stats messages out/in = %d/%d, want 6/6", st.MessagesOut, st.MessagesIn)
	}
	if st.BytesIn < 100 || st.BytesOut < 100 {
		t.Errorf("Stats bytes in/out = %d/%d, want the socket's traffic", st.BytesIn, st.BytesOut)
	}
}
