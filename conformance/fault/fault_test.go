package fault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestMain fails the run when goroutines the tests started outlive them.
func TestMain(m *testing.M) { leaktest.Main(m) }

// proxied starts our router and a proxy with b in front of it and returns
// the proxy's endpoint for transport.
func proxied(t *testing.T, b fault.Breaker, o fault.Options, transport string) wire.Endpoint {
	t.Helper()
	srv, err := testrouter.Start(testrouter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var eps []wire.Endpoint
	for _, u := range srv.URLs() {
		ep, err := wire.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	p, err := fault.Start(eps, b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ep, err := wire.ParseURL(p.URL(transport))
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

var hello = &protocol.Hello{Realm: testrouter.Realm, Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}}}}

// join opens a session through the proxy and returns the connection and
// the WELCOME.
func join(t *testing.T, ep wire.Endpoint) (*wire.Conn, *protocol.Welcome) {
	t.Helper()
	c, err := wire.Dial(ctx(t), ep, wire.Options{Serializer: protocol.JSON})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Send(ctx(t), hello); err != nil {
		t.Fatal(err)
	}
	f, err := c.Recv(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.Msg.(*protocol.Welcome)
	if !ok {
		t.Fatalf("want WELCOME, got %s", c.Describe(f))
	}
	return c, w
}

func TestProxyRelaysAndClaimsFeatures(t *testing.T) {
	for _, tr := range []string{wire.RawSocketTCP, wire.WebSocket, wire.RawSocketUnix} {
		t.Run(tr, func(t *testing.T) {
			ep := proxied(t, fault.Breaker{}, fault.Options{Features: []string{"dealer.x_conformance_feature"}}, tr)
			c, w := join(t, ep)
			roles := w.Details["roles"].(protocol.Dict)
			if roles["dealer"].(protocol.Dict)["features"].(protocol.Dict)["x_conformance_feature"] != true {
				t.Fatalf("the claimed feature is missing: %v", roles)
			}
			// A call of a missing procedure goes through the router and back.
			c.Send(ctx(t), &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "conformance.missing"})
			f, err := c.Recv(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := f.Msg.(*protocol.Error); !ok || e.URI != "wamp.error.no_such_procedure" {
				t.Fatalf("got %s", c.Describe(f))
			}
		})
	}
}

func TestRulesRewriteDropAndInject(t *testing.T) {
	b := fault.Chain(
		fault.Drop(fault.ToRouter, func(m protocol.Message) bool {
			c, ok := m.(*protocol.Call)
			return ok && c.Procedure == "conformance.dropped"
		}),
		fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
			if e, ok := m.(*protocol.Error); ok {
				// INTERRUPT mode skip does not encode with protocol: the
				// double sends it in list form.
				return &protocol.Interrupt{Request: e.Request, Options: protocol.Dict{"mode": "skip"}}, true
			}
			return nil, false
		}),
	)
	ep := proxied(t, b, fault.Options{}, wire.RawSocketTCP)
	c, _ := join(t, ep)
	// The router never sees the dropped CALL, so the next one has its
	// request ID (the router checks that IDs go 1, 2, 3...).
	c.Send(ctx(t), &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "conformance.dropped"})
	c.Send(ctx(t), &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "conformance.missing"})
	f, err := c.Recv(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := wire.DecodeGeneric(protocol.JSON, f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	l := v.([]any)
	if l[0] != int64(protocol.CodeInterrupt) || l[1] != int64(1) {
		t.Fatalf("want the INTERRUPT made from the ERROR for the second call (the first dropped), got %s", c.Describe(f))
	}
}

func TestHandshakeHooks(t *testing.T) {
	ep := proxied(t, fault.Breaker{RawSocketReply: func(req [4]byte, up func([4]byte) []byte) []byte {
		if req[1]&0x0F == 15 {
			return []byte{0x7F, 0xFF, 0, 0} // accept what the router refuses
		}
		return up(req)
	}}, fault.Options{}, wire.RawSocketTCP)
	c, err := wire.Dial(ctx(t), ep, wire.Options{Handshake: []byte{0x7F, 0xFF, 0, 0}})
	if err != nil {
		t.Fatalf("the made-up success reply was not delivered: %v", err)
	}
	c.Close()
	// The router itself refuses serializer 15.
	_, err = wire.Dial(ctx(t), ep, wire.Options{Handshake: []byte{0x7F, 0xFE, 0, 0}})
	var he *wire.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("want a refusal from the router, got %v", err)
	}

	ws := proxied(t, fault.Breaker{Subprotocol: func(offered []string, routers string, ok bool) (string, bool) {
		return "", true // accept without any subprotocol
	}}, fault.Options{}, wire.WebSocket)
	c, err = wire.Dial(ctx(t), ws, wire.Options{Subprotocols: []string{"wamp.2.x_unknown"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "" {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
}

func TestKeepClientOpen(t *testing.T) {
	ep := proxied(t, fault.Breaker{KeepClientOpen: true}, fault.Options{}, wire.RawSocketTCP)
	c, _ := join(t, ep)
	c.Send(ctx(t), &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"})
	if f, err := c.Recv(ctx(t)); err != nil || !fault.Is[*protocol.Goodbye](f.Msg) {
		t.Fatalf("want the GOODBYE reply, got %v %v", f, err)
	}
	// The router closes its side; the client's stays open.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the client's connection ended: %v", err)
	}
}
