package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// limitedPeer refuses to send CALLs with more than max arguments, like a
// transport refusing an oversized message, and keeps the connection open.
type limitedPeer struct {
	transport.Peer
	max int
}

func (p limitedPeer) Send(ctx context.Context, m protocol.Message) error {
	if c, ok := m.(*protocol.Call); ok && len(c.Args) > p.max {
		return &transport.MessageTooBigError{Size: 1000 * len(c.Args), Limit: 1000 * p.max}
	}
	return p.Peer.Send(ctx, m)
}

func TestSendFailureKeepsSession(t *testing.T) {
	checkLeaks(t)
	a, b := transport.Pipe(nil)
	r := &fakeRouter{t: t, p: b}
	defer b.Close()
	ch := async(func() (*session.Session, error) {
		return session.Join(context.Background(), limitedPeer{a, 2}, session.Config{Realm: "realm1"})
	})
	expect[*protocol.Hello](r)
	r.send(welcome(1))
	s, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Call(context.Background(), "x", protocol.List{1, 2, 3}, nil)
	var tooBig *transport.MessageTooBigError
	if !errors.As(err, &tooBig) || tooBig.Limit != 2000 {
		t.Fatalf("err = %v", err)
	}
	call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", protocol.List{1}, nil) })
	c := expect[*protocol.Call](r)
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}})
	if _, err := wait(t, call); err != nil {
		t.Fatal(err)
	}
	closeWithGoodbye(t, s, r, "wamp.close.goodbye_and_out")
}

func TestEventHandlerPanicIsRecovered(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	got := make(chan *session.Event, 4)
	subscribe(t, s, r, "t", 1, func(ev *session.Event) {
		if ev.Arg(0) == "panic" {
			panic("handler bug")
		}
		got <- ev
	})
	r.send(&protocol.Event{Subscription: 1, Publication: 1, Details: protocol.Dict{}, Args: protocol.List{"panic"}})
	r.send(&protocol.Event{Subscription: 1, Publication: 2, Details: protocol.Dict{}, Args: protocol.List{"ok"}})
	if ev := recvEvents(t, got, 1)[0]; ev.Publication != 2 {
		t.Fatalf("event %+v", ev)
	}
}

func TestSharedSubscriptionRevoked(t *testing.T) {
	checkLeaks(t)
	got := make(chan *session.Subscription, 4)
	s, r := join(t, session.Config{OnUnsubscribed: func(sub *session.Subscription, reason string) { got <- sub }})
	a := subscribe(t, s, r, "t", 3, func(*session.Event) {})
	b := subscribe(t, s, r, "t", 3, func(*session.Event) {})
	r.send(&protocol.Unsubscribed{Request: 0, Details: protocol.Dict{"subscription": int64(3)}})
	seen := map[*session.Subscription]bool{}
	for range 2 {
		select {
		case sub := <-got:
			seen[sub] = true
		case <-time.After(waitLong):
			t.Fatal("OnUnsubscribed not called twice")
		}
	}
	if !seen[a] || !seen[b] {
		t.Fatal("not every local subscription was reported")
	}
	// Revocation of an unknown id is harmless.
	r.send(&protocol.Unsubscribed{Request: 0, Details: protocol.Dict{"subscription": int64(99)}})
	r.send(&protocol.Unregistered{Request: 0, Details: protocol.Dict{"registration": int64(99)}})
	r.noMessage(20 * time.Millisecond)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestCancelModes(t *testing.T) {
	for _, mode := range []string{"skip", "kill", "killnowait"} {
		t.Run(mode, func(t *testing.T) {
			checkLeaks(t)
			s, r := join(t, session.Config{})
			ctx, cancel := context.WithCancel(context.Background())
			call := async(func() (*session.Result, error) {
				return s.Call(ctx, "x", nil, nil, session.CancelMode(mode))
			})
			c := expect[*protocol.Call](r)
			cancel()
			if _, err := wait(t, call); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if cn := expect[*protocol.Cancel](r); cn.Request != c.Request || cn.Options["mode"] != mode {
				t.Fatalf("CANCEL %+v", cn)
			}
			// With kill the callee's late result may still come: ignored.
			r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}})
			r.noMessage(10 * time.Millisecond)
			if s.Err() != nil {
				t.Fatal(s.Err())
			}
		})
	}
}

func TestCallCancelledDuringProgress(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	call := async(func() (*session.Result, error) {
		return s.Call(ctx, "x", nil, nil, session.ReceiveProgress(func(*session.Result) {
			n++
			if n == 2 {
				cancel()
			}
		}))
	})
	c := expect[*protocol.Call](r)
	for i := range 2 {
		r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{"progress": true}, Args: protocol.List{int64(i)}})
	}
	if _, err := wait(t, call); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	expect[*protocol.Cancel](r)
	// More progress and the final result after the cancel are ignored.
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{"progress": true}})
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}})
	r.noMessage(10 * time.Millisecond)
	if n != 2 || s.Err() != nil {
		t.Fatalf("n = %d, err = %v", n, s.Err())
	}
}

func TestHandlerErrorWithoutURI(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	register(t, s, r, "p", 1, func(context.Context, *session.Invocation) (*session.Result, error) {
		return nil, &session.Error{Args: protocol.List{"no uri"}}
	})
	r.send(&protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}})
	if e := expect[*protocol.Error](r); e.URI != session.URIRuntimeError || e.Args[0] != "no uri" {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestSubscribeTimeoutUndoesLateSubscription(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	sub := async(func() (*session.Subscription, error) {
		return s.Subscribe(context.Background(), "t", func(*session.Event) {}, session.Timeout(20*time.Millisecond))
	})
	m := expect[*protocol.Subscribe](r)
	if _, err := wait(t, sub); !errors.Is(err, session.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	r.send(&protocol.Subscribed{Request: m.Request, Subscription: 8})
	u := expect[*protocol.Unsubscribe](r)
	if u.Subscription != 8 {
		t.Fatalf("UNSUBSCRIBE %+v", u)
	}
	r.send(&protocol.Unsubscribed{Request: u.Request})
	r.send(&protocol.Event{Subscription: 8, Publication: 1, Details: protocol.Dict{}})
	r.noMessage(10 * time.Millisecond)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

// stuckPeer never completes a Send until its context ends.
type stuckPeer struct{ transport.Peer }

func (p stuckPeer) Send(ctx context.Context, m protocol.Message) error {
	if _, ok := m.(*protocol.Goodbye); ok {
		<-ctx.Done()
		return ctx.Err()
	}
	return p.Peer.Send(ctx, m)
}

func TestCloseBoundedWhenTransportIsStuck(t *testing.T) {
	checkLeaks(t)
	a, b := transport.Pipe(nil)
	r := &fakeRouter{t: t, p: b}
	defer b.Close()
	ch := async(func() (*session.Session, error) {
		return session.Join(context.Background(), stuckPeer{a}, session.Config{Realm: "realm1"})
	})
	expect[*protocol.Hello](r)
	r.send(welcome(1))
	s, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	<-s.Done()
}

// garbage stands for a frame that arrived intact but does not decode.
type garbage struct{}

func (garbage) Code() protocol.Code { return 999 }

// decodingPeer turns a received garbage value into the error a network
// transport returns for an undecodable message (the connection stays open).
type decodingPeer struct{ transport.Peer }

func (p decodingPeer) Recv(ctx context.Context) (protocol.Message, error) {
	m, err := p.Peer.Recv(ctx)
	if _, ok := m.(garbage); ok {
		return nil, fmt.Errorf("transport: received json message (3 bytes) does not decode: %w", protocol.ErrInvalidMessage)
	}
	return m, err
}

func TestUndecodableMessage(t *testing.T) {
	for _, during := range []string{"join", "session", "closing"} {
		t.Run(during, func(t *testing.T) {
			checkLeaks(t)
			a, b := transport.Pipe(nil)
			r := &fakeRouter{t: t, p: b}
			defer b.Close()
			ch := async(func() (*session.Session, error) {
				return session.Join(context.Background(), decodingPeer{a}, session.Config{Realm: "realm1"})
			})
			expect[*protocol.Hello](r)
			if during == "join" {
				r.send(garbage{})
				msgs := r.recvClosed()
				if len(msgs) != 1 || msgs[0].(*protocol.Abort).Reason != session.URIProtocolViolation {
					t.Fatalf("got %v", msgs)
				}
				if _, err := wait(t, ch); !errors.Is(err, session.ErrProtocolViolation) || !errors.Is(err, protocol.ErrInvalidMessage) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			r.send(welcome(1))
			s, err := wait(t, ch)
			if err != nil {
				t.Fatal(err)
			}
			if during == "closing" {
				closed := async(func() (struct{}, error) { return struct{}{}, s.Close(context.Background()) })
				expect[*protocol.Goodbye](r)
				r.send(garbage{}) // ignored while waiting for the GOODBYE reply
				r.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.normal"})
				if _, err := wait(t, closed); err != nil {
					t.Fatal(err)
				}
				return
			}
			r.send(garbage{})
			msgs := r.recvClosed()
			if len(msgs) != 1 || msgs[0].(*protocol.Abort).Reason != session.URIProtocolViolation {
				t.Fatalf("got %v", msgs)
			}
			<-s.Done()
			if !errors.Is(s.Err(), session.ErrProtocolViolation) || !errors.Is(s.Err(), protocol.ErrInvalidMessage) {
				t.Fatalf("Err() = %v", s.Err())
			}
		})
	}
}

func TestProgressAfterReturnOrInterrupt(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	kept := make(chan *session.Invocation, 1)
	interrupted := make(chan error, 1)
	waiting := make(chan struct{})
	register(t, s, r, "p", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		if inv.Arg(0) == "wait" {
			close(waiting)
			<-ctx.Done()
			interrupted <- inv.Progress(context.Background(), nil, nil)
			return nil, ctx.Err()
		}
		kept <- inv
		return nil, nil
	})
	r.send(&protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{"receive_progress": true}})
	expect[*protocol.Yield](r)
	inv := <-kept
	if err := inv.Progress(context.Background(), protocol.List{"late"}, nil); err == nil {
		t.Error("Progress after the final YIELD succeeded")
	}
	r.send(&protocol.Invocation{Request: 2, Registration: 1, Details: protocol.Dict{"receive_progress": true}, Args: protocol.List{"wait"}})
	<-waiting // an INTERRUPT before the handler starts means it never runs
	r.send(&protocol.Interrupt{Request: 2, Options: protocol.Dict{"mode": "kill"}})
	if err := <-interrupted; !errors.Is(err, context.Canceled) {
		t.Errorf("Progress after INTERRUPT: %v", err)
	}
	if e := expect[*protocol.Error](r); e.Request != 2 || e.URI != session.URICanceled {
		t.Fatalf("ERROR %+v", e)
	}
	r.noMessage(10 * time.Millisecond) // no late progressive YIELD
}
