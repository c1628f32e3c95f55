package router_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/memnet"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// memEndpoints are a router's WebSocket and RawSocket listeners in memory
// (serveMem), for tests in a synctest bubble.
type memEndpoints struct{ ws, rs *memnet.Listener }

// serveMem serves a router over WebSocket and RawSocket on in-memory
// listeners; the test must run in a synctest bubble (or not care about
// time), and clients connect with join and rawSocket.
func serveMem(t *testing.T, cfg router.Config) (*router.Router, memEndpoints) {
	t.Helper()
	if len(cfg.Realms) == 0 {
		cfg.Realms = []router.RealmConfig{{Name: testRealm}}
	}
	r, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep := memEndpoints{ws: memnet.Listen(), rs: memnet.Listen()}
	hs := &http.Server{Handler: r.WebSocketHandler()}
	go hs.Serve(ep.ws)
	rl, err := r.RawSocketListener(ep.rs)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.ServeRawSocket(rl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-served
		hs.Close()
	})
	return r, ep
}

// join opens a session over WebSocket ("ws") or RawSocket ("tcp").
func (ep memEndpoints) join(t *testing.T, scheme string, ser protocol.Serializer) *session.Session {
	t.Helper()
	url, l := "ws://memnet/", ep.ws
	if scheme == "tcp" {
		url, l = "tcp://memnet:1", ep.rs
	}
	ctx := t.Context()
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}, NetDial: l.Dial})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return joinPeer(t, ctx, p, url, session.Config{})
}

// rawSocket connects a hand-driven RawSocket JSON client.
func (ep memEndpoints) rawSocket(t *testing.T) *rsConn {
	t.Helper()
	c, err := ep.rs.Dial(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return newRSConn(t, c)
}
