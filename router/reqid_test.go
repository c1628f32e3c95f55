package router_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// seqPeer is the router's end of a connection; it checks that the request
// IDs the client sends go 1, 2, 3... (spec basic/building_blocks.md).
type seqPeer struct {
	transport.Peer
	mu   sync.Mutex
	last protocol.ID
	bad  []string
}

func (p *seqPeer) Recv(ctx context.Context) (protocol.Message, error) {
	m, err := p.Peer.Recv(ctx)
	var id protocol.ID
	switch m := m.(type) {
	case *protocol.Call:
		id = m.Request
	case *protocol.Publish:
		id = m.Request
	case *protocol.Subscribe:
		id = m.Request
	case *protocol.Unsubscribe:
		id = m.Request
	case *protocol.Register:
		id = m.Request
	case *protocol.Unregister:
		id = m.Request
	}
	if id != 0 {
		p.mu.Lock()
		if id != p.last+1 && len(p.bad) < 10 {
			p.bad = append(p.bad, fmt.Sprintf("%s %d after %d", m.Code(), id, p.last))
		}
		p.last = id
		p.mu.Unlock()
	}
	return m, err
}

// Our client sends its request IDs in sequence whatever happens: requests
// from many goroutines at once, requests whose context ends before they
// are queued, a request that fails to encode. Before, IDs were taken
// before the wait for the connection, so they could reach the router out
// of order or not at all (a gap).
func TestClientRequestIDsInSequence(t *testing.T) {
	r := newRouter(t)
	callee := join(t, r, session.Config{})
	ctx := ctxT(t)
	if _, err := callee.Register(ctx, "com.echo", echo); err != nil {
		t.Fatal(err)
	}
	a, b := transport.Pipe(protocol.JSON)
	sp := &seqPeer{Peer: b}
	go r.ServePeer(context.Background(), sp)
	s, err := session.Join(ctx, a, session.Config{Realm: testRealm})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)

	// A request that cannot be encoded takes no ID.
	if err := s.Publish(ctx, "com.t", nil, nil, session.WithOption("acknowledge", 1)); err == nil {
		t.Fatal("a wrongly typed option was sent")
	}
	if _, err := s.Call(ctx, "com.echo", nil, nil); err != nil {
		t.Fatalf("Call after a request that failed to encode: %v", err)
	}

	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 100 {
				cctx := ctx
				if i%4 == g%4 {
					// Some contexts end while the request waits.
					var cancel context.CancelFunc
					cctx, cancel = context.WithTimeout(ctx, time.Duration(i%7)*time.Microsecond)
					defer cancel()
				}
				var err error
				switch i % 5 {
				case 0, 1:
					_, err = s.Call(cctx, "com.echo", protocol.List{strings.Repeat("x", i*50)}, nil)
				case 2:
					err = s.Publish(cctx, "com.t", nil, nil, session.Acknowledge(true))
				case 3:
					err = s.Publish(cctx, "com.t", protocol.List{i}, nil)
				case 4:
					var sub *session.Subscription
					if sub, err = s.Subscribe(cctx, fmt.Sprintf("com.t%d", g), func(*session.Event) {}); err == nil {
						err = s.Unsubscribe(ctx, sub)
					}
				}
				if err != nil && cctx == ctx {
					t.Errorf("goroutine %d request %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := s.Call(ctx, "com.echo", nil, nil); err != nil {
		t.Fatalf("session not usable afterwards: %v", err)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.bad) > 0 {
		t.Errorf("request IDs out of sequence on the wire: %v", sp.bad)
	}
}

// The router enforces the sequence (MUST, basic/building_blocks.md) with
// an ABORT that says what it expected and how to turn the check off;
// clients that identify as swampyer (random request IDs) are exempt, and
// Config.AnyRequestIDs turns the check off for everyone. A CALL that
// continues a progressive call invocation repeats its ID.
func TestRouterRequestIDSequence(t *testing.T) {
	hello := func(agent string) protocol.Dict {
		d := protocol.Dict{"roles": rawRoles["roles"]}
		if agent != "" {
			d["agent"] = agent
		}
		return d
	}
	dial := func(t *testing.T, tcp string, agent string) *rsConn {
		c := dialRS(t, strings.TrimPrefix(tcp, "tcp://"), 0)
		if err := c.write(&protocol.Hello{Realm: testRealm, Details: hello(agent)}); err != nil {
			t.Fatal(err)
		}
		c.expectMsg(protocol.CodeWelcome)
		return c
	}
	t.Run("enforced", func(t *testing.T) {
		_, ep := serveAll(t, router.Config{})
		for _, tt := range []struct {
			name string
			msgs []string
			want string
		}{
			{"first", []string{`[48, 5, {}, "wamp.session.count"]`}, "expected 1"},
			{"gap", []string{`[48, 1, {}, "wamp.session.count"]`, `[48, 3, {}, "wamp.session.count"]`}, "expected 2"},
			{"reuse", []string{`[48, 1, {}, "wamp.session.count"]`, `[32, 1, {}, "com.t"]`}, "expected 2"},
			{"reuse by a call", []string{`[48, 1, {}, "wamp.session.count"]`, `[48, 1, {}, "wamp.session.count"]`}, "expected 2"},
		} {
			c := dial(t, ep.tcp, "autobahn-python-25.6.1")
			for i, m := range tt.msgs {
				c.writeRaw(m)
				if i < len(tt.msgs)-1 {
					c.expectMsg(protocol.CodeResult)
				}
			}
			a := c.expectMsg(protocol.CodeAbort).(*protocol.Abort)
			msg, _ := a.Details["message"].(string)
			if a.Reason != protocol.URIProtocolViolation || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "AnyRequestIDs") {
				t.Errorf("%s: ABORT %v, want protocol_violation saying %q and how to configure the router", tt.name, protocol.ToList(a), tt.want)
			}
		}
		// swampyer's random IDs are accepted.
		c := dial(t, ep.tcp, "python-swampyer-1.20221117-Linux-CPython3.11 me@host:/x.py")
		for i, id := range []int{7777777, 12, 90071992547409, 12} {
			c.writeRaw(fmt.Sprintf(`[48, %d, {}, "wamp.session.count"]`, id))
			if res := c.expectMsg(protocol.CodeResult).(*protocol.Result); res.Request != protocol.ID(id) {
				t.Fatalf("swampyer request %d: RESULT %v", i, protocol.ToList(res))
			}
		}
	})
	t.Run("AnyRequestIDs", func(t *testing.T) {
		_, ep := serveAll(t, router.Config{AnyRequestIDs: true})
		c := dial(t, ep.tcp, "")
		for _, id := range []int{5, 3, 3, 1 << 53} {
			c.writeRaw(fmt.Sprintf(`[48, %d, {}, "wamp.session.count"]`, id))
			c.expectMsg(protocol.CodeResult)
		}
	})
}
