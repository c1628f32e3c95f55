package router

import (
	"context"
	"sync"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// welcomeWatch is the router's end of a connection: when the router sends
// WELCOME, it records whether the new session was in its realm already.
type welcomeWatch struct {
	transport.Peer
	rl *Realm

	mu       sync.Mutex
	welcomed bool
	attached bool
}

func (w *welcomeWatch) Send(ctx context.Context, m protocol.Message) error {
	if wm, ok := m.(*protocol.Welcome); ok {
		w.mu.Lock()
		w.welcomed, w.attached = true, w.rl.session(wm.Session) != nil
		w.mu.Unlock()
	}
	return w.Peer.Send(ctx, m)
}

// A session is in its realm (wamp.session.list, get, kill) before its
// WELCOME leaves the router: a client that has its session id can be
// found by everyone. The router used to send WELCOME first, so another
// session's wamp.session.list issued right then could miss it.
func TestAttachedBeforeWelcome(t *testing.T) {
	r := newTestRouter(t, Config{})
	for range 20 {
		a, b := transport.Pipe(protocol.JSON)
		w := &welcomeWatch{Peer: b, rl: r.Realm("realm1")}
		go r.ServePeer(context.Background(), w)
		ctx := t.Context()
		s, err := session.Join(ctx, a, session.Config{Realm: "realm1"})
		if err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		welcomed, attached := w.welcomed, w.attached
		w.mu.Unlock()
		if !welcomed || !attached {
			t.Fatalf("WELCOME sent %v, session in the realm at that moment %v; want both", welcomed, attached)
		}
		s.Close(ctx)
	}
}
