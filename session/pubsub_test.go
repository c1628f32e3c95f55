package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func subscribe(t *testing.T, s *session.Session, r *fakeRouter, topic string, subID protocol.ID, h session.EventHandler, opts ...session.Option) *session.Subscription {
	t.Helper()
	ch := async(func() (*session.Subscription, error) { return s.Subscribe(context.Background(), topic, h, opts...) })
	m := expect[*protocol.Subscribe](r)
	if m.Topic != topic {
		t.Fatalf("SUBSCRIBE %+v", m)
	}
	r.send(&protocol.Subscribed{Request: m.Request, Subscription: subID})
	sub, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != subID || sub.Topic != topic {
		t.Fatalf("subscription %+v", sub)
	}
	return sub
}

func recvEvents(t *testing.T, ch <-chan *session.Event, n int) []*session.Event {
	t.Helper()
	var got []*session.Event
	for range n {
		select {
		case ev := <-ch:
			got = append(got, ev)
		case <-time.After(waitLong):
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
	return got
}

func TestSubscribeEventsInOrder(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	evs := make(chan *session.Event, 100)
	ch := async(func() (*session.Subscription, error) {
		return s.Subscribe(context.Background(), "com.t.", func(ev *session.Event) { evs <- ev }, session.Match("prefix"))
	})
	m := expect[*protocol.Subscribe](r)
	if d := cmp.Diff(protocol.Dict{"match": "prefix"}, m.Options); d != "" {
		t.Errorf("options: %s", d)
	}
	r.send(&protocol.Subscribed{Request: m.Request, Subscription: 9})
	// EVENT right after SUBSCRIBED must find the subscription.
	for i := range 50 {
		r.send(&protocol.Event{Subscription: 9, Publication: protocol.ID(1000 + i), Details: protocol.Dict{"topic": "com.t.x"},
			Args: protocol.List{int64(i)}})
	}
	if _, err := wait(t, ch); err != nil {
		t.Fatal(err)
	}
	for i, ev := range recvEvents(t, evs, 50) {
		if ev.Arg(0) != int64(i) || ev.Topic != "com.t.x" || ev.Subscription != 9 || ev.Publication != protocol.ID(1000+i) {
			t.Fatalf("event %d = %+v", i, ev)
		}
	}
	// Events for unknown subscriptions are ignored.
	r.send(&protocol.Event{Subscription: 12345, Publication: 1, Details: protocol.Dict{}})
	r.send(&protocol.Event{Subscription: 9, Publication: 2, Details: protocol.Dict{}})
	if ev := recvEvents(t, evs, 1)[0]; ev.Publication != 2 || ev.Topic != "com.t." {
		t.Fatalf("event %+v", ev)
	}
}

func TestSharedSubscriptionID(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	a, b := make(chan *session.Event, 10), make(chan *session.Event, 10)
	subA := subscribe(t, s, r, "t", 5, func(ev *session.Event) { a <- ev })
	subB := subscribe(t, s, r, "t", 5, func(ev *session.Event) { b <- ev })
	r.send(&protocol.Event{Subscription: 5, Publication: 1, Details: protocol.Dict{}, Args: protocol.List{"x"}})
	recvEvents(t, a, 1)
	recvEvents(t, b, 1)
	// Unsubscribing one local subscription keeps the router subscription.
	if err := s.Unsubscribe(context.Background(), subA); err != nil {
		t.Fatal(err)
	}
	r.send(&protocol.Event{Subscription: 5, Publication: 2, Details: protocol.Dict{}})
	if ev := recvEvents(t, b, 1)[0]; ev.Publication != 2 {
		t.Fatalf("event %+v", ev)
	}
	select {
	case ev := <-a:
		t.Fatalf("unsubscribed handler got %+v", ev)
	case <-time.After(20 * time.Millisecond):
	}
	if err := s.Unsubscribe(context.Background(), subA); !errors.Is(err, session.ErrNoSuchSubscription) {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	// The last one sends UNSUBSCRIBE.
	ch := async(func() (struct{}, error) { return struct{}{}, s.Unsubscribe(context.Background(), subB) })
	u := expect[*protocol.Unsubscribe](r)
	if u.Subscription != 5 {
		t.Fatalf("UNSUBSCRIBE %+v", u)
	}
	// An event racing with UNSUBSCRIBE is ignored.
	r.send(&protocol.Event{Subscription: 5, Publication: 3, Details: protocol.Dict{}})
	r.send(&protocol.Unsubscribed{Request: u.Request})
	if _, err := wait(t, ch); err != nil {
		t.Fatal(err)
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestSlowSubscriberDropsAndDoesNotStall(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{EventQueueSize: 2})
	block := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(block) }) }
	t.Cleanup(unblock)
	slowGot := make(chan *session.Event, 10)
	fast := make(chan *session.Event, 100)
	slow := subscribe(t, s, r, "slow", 1, func(ev *session.Event) {
		slowGot <- ev
		<-block
	})
	subscribe(t, s, r, "fast", 2, func(ev *session.Event) { fast <- ev })
	r.send(&protocol.Event{Subscription: 1, Publication: 1, Details: protocol.Dict{}})
	recvEvents(t, slowGot, 1) // the handler is now blocked on event 1
	for i := 2; i <= 6; i++ {
		r.send(&protocol.Event{Subscription: 1, Publication: protocol.ID(i), Details: protocol.Dict{}})
	}
	// The reader and the other subscription keep going.
	for i := range 20 {
		r.send(&protocol.Event{Subscription: 2, Publication: protocol.ID(100 + i), Details: protocol.Dict{}})
		recvEvents(t, fast, 1)
	}
	// Events 2 and 3 were queued, 4..6 dropped.
	if d := slow.Dropped(); d != 3 {
		t.Errorf("Dropped() = %d, want 3", d)
	}
	unblock()
	for i, ev := range recvEvents(t, slowGot, 2) {
		if ev.Publication != protocol.ID(i+2) {
			t.Errorf("slow event %d = %d", i, ev.Publication)
		}
	}
}

func TestSubscriptionRevoked(t *testing.T) {
	checkLeaks(t)
	got := make(chan string, 2)
	s, r := join(t, session.Config{OnUnsubscribed: func(sub *session.Subscription, reason string) {
		got <- sub.Topic + " " + reason
	}})
	sub := subscribe(t, s, r, "t", 4, func(*session.Event) {})
	r.send(&protocol.Unsubscribed{Request: 0, Details: protocol.Dict{"subscription": int64(4), "reason": "wamp.error.revoked"}})
	select {
	case v := <-got:
		if v != "t wamp.error.revoked" {
			t.Errorf("OnUnsubscribed(%s)", v)
		}
	case <-time.After(waitLong):
		t.Fatal("OnUnsubscribed not called")
	}
	if err := s.Unsubscribe(context.Background(), sub); !errors.Is(err, session.ErrNoSuchSubscription) {
		t.Errorf("Unsubscribe after revocation: %v", err)
	}
}

func TestSubscribeError(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ch := async(func() (*session.Subscription, error) {
		return s.Subscribe(context.Background(), "wamp.secret", func(*session.Event) {})
	})
	m := expect[*protocol.Subscribe](r)
	r.send(&protocol.Error{RequestType: protocol.CodeSubscribe, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.not_authorized"})
	if _, err := wait(t, ch); !errors.Is(err, session.ErrNotAuthorized) {
		t.Fatalf("err = %v", err)
	}
}

func TestPublish(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx := context.Background()
	// Fire and forget: returns without any reply.
	if err := s.Publish(ctx, "t", protocol.List{"a"}, protocol.Dict{"b": int64(1)}, session.ExcludeMe(false),
		session.Eligible(1, 2), session.Exclude(3), session.DiscloseMe()); err != nil {
		t.Fatal(err)
	}
	p := expect[*protocol.Publish](r)
	want := protocol.Dict{"exclude_me": false, "eligible": protocol.List{int64(1), int64(2)}, "exclude": protocol.List{int64(3)}, "disclose_me": true}
	if d := cmp.Diff(want, p.Options); d != "" {
		t.Errorf("options: %s", d)
	}
	if p.Args[0] != "a" || p.Kwargs["b"] != int64(1) {
		t.Errorf("PUBLISH %+v", p)
	}
	// Acknowledged: waits for PUBLISHED.
	ch := async(func() (struct{}, error) { return struct{}{}, s.Publish(ctx, "t", nil, nil, session.Acknowledge(true)) })
	p = expect[*protocol.Publish](r)
	if p.Options["acknowledge"] != true {
		t.Fatalf("options %+v", p.Options)
	}
	select {
	case <-ch:
		t.Fatal("acknowledged Publish returned before PUBLISHED")
	case <-time.After(20 * time.Millisecond):
	}
	r.send(&protocol.Published{Request: p.Request, Publication: 77})
	if _, err := wait(t, ch); err != nil {
		t.Fatal(err)
	}
	// Acknowledged: ERROR.
	ch = async(func() (struct{}, error) { return struct{}{}, s.Publish(ctx, "t", nil, nil, session.Acknowledge(true)) })
	p = expect[*protocol.Publish](r)
	r.send(&protocol.Error{RequestType: protocol.CodePublish, Request: p.Request, Details: protocol.Dict{}, URI: "wamp.error.not_authorized"})
	if _, err := wait(t, ch); !errors.Is(err, session.ErrNotAuthorized) {
		t.Fatalf("err = %v", err)
	}
	// Acknowledge(false) after Acknowledge(true) turns it off.
	if err := s.Publish(ctx, "t", nil, nil, session.Acknowledge(true), session.Acknowledge(false)); err != nil {
		t.Fatal(err)
	}
	if p = expect[*protocol.Publish](r); len(p.Options) != 0 {
		t.Fatalf("options %+v", p.Options)
	}
}
