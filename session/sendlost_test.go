package session_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// deafPeer is a peer whose writes start failing with transport.ErrClosed
// while its reads still block: the state between a connection dying and the
// session's reader noticing it.
type deafPeer struct {
	transport.Peer
	broken atomic.Bool
}

func (p *deafPeer) Send(ctx context.Context, m protocol.Message) error {
	if p.broken.Load() {
		return transport.ErrClosed
	}
	return p.Peer.Send(ctx, m)
}

// A request whose send fails because the transport is closed reports
// ErrConnectionLost at once, whether or not the reader has seen the loss.
func TestSendOnClosedTransportIsConnectionLost(t *testing.T) {
	checkLeaks(t)
	a, b := transport.Pipe(nil)
	p := &deafPeer{Peer: a}
	r := &fakeRouter{t: t, p: b}
	done := make(chan *session.Session, 1)
	go func() {
		s, err := session.Join(context.Background(), p, session.Config{Realm: "realm1"})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	expect[*protocol.Hello](r)
	r.send(welcome(7))
	s := <-done
	if s == nil {
		return
	}
	defer b.Close()

	p.broken.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Call(ctx, "com.example.x", nil, nil)
	if !errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("Call on a closed transport: got %v, want ErrConnectionLost", err)
	}
	if !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Call on a closed transport: %v does not keep the transport cause", err)
	}
	_, err = s.Register(ctx, "com.example.y", func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil })
	if !errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("Register on a closed transport: got %v, want ErrConnectionLost", err)
	}
	b.Close()
	s.Close(ctx)
}
