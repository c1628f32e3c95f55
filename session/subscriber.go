package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Subscribe subscribes h to topic and waits for SUBSCRIBED. Events are
// delivered in order on the subscription's own goroutine through a queue of
// Config.EventQueueSize events; when it is full new events are dropped
// (logged, counted by Subscription.Dropped). An ERROR reply is returned as
// *Error.
func (s *Session) Subscribe(ctx context.Context, topic string, h EventHandler, opts ...Option) (*Subscription, error) {
	st, err := buildSettings(kindSubscribe, opts)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("session: subscribe: nil handler")
	}
	if topic == "" {
		return nil, errors.New("session: subscribe: empty topic URI")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: subscribe %s: %w", topic, err)
	}
	wire := wireOptions(st.wire)
	p := newPending(protocol.CodeSubscribe)
	p.sub = &Subscription{
		Topic:   topic,
		Options: cloneDict(wire),
		handler: h,
		queue:   make(chan *Event, s.cfg.EventQueueSize),
		stop:    make(chan struct{}),
	}
	id, err := s.newRequest(p)
	if err != nil {
		return nil, err
	}
	if err := s.send(ctx, &protocol.Subscribe{Request: id, Options: wire, Topic: topic}); err != nil {
		s.dropPending(id)
		return nil, err
	}
	if err := s.awaitSimple(ctx, id, p, st, "subscribe", topic); err != nil {
		return nil, err
	}
	return p.sub, nil
}

// Unsubscribe ends a subscription: its handler receives no further event
// (queued events are discarded). When it was the last local subscription on
// its router subscription id, UNSUBSCRIBE is sent and Unsubscribe waits for
// UNSUBSCRIBED. A subscription that is not active gives ErrNoSuchSubscription.
func (s *Session) Unsubscribe(ctx context.Context, sub *Subscription) error {
	if sub == nil {
		return errors.New("session: unsubscribe: nil subscription")
	}
	s.mu.Lock()
	if s.state != stateEstablished {
		err := s.err
		s.mu.Unlock()
		if err == nil {
			err = ErrSessionClosed
		}
		return err
	}
	group := s.subs[sub.ID]
	idx := -1
	for i, l := range group {
		if l == sub {
			idx = i
			break
		}
	}
	if idx < 0 {
		s.mu.Unlock()
		return &Error{URI: URINoSuchSubscription, Args: protocol.List{"subscription to " + sub.Topic + " is not active"}}
	}
	s.stopSubLocked(sub)
	group = append(group[:idx:idx], group[idx+1:]...)
	if len(group) > 0 {
		s.subs[sub.ID] = group
		s.mu.Unlock()
		return nil
	}
	delete(s.subs, sub.ID)
	p := newPending(protocol.CodeUnsubscribe)
	id, err := s.newRequestLocked(p)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.send(ctx, &protocol.Unsubscribe{Request: id, Subscription: sub.ID}); err != nil {
		s.dropPending(id)
		return err
	}
	return s.awaitSimple(ctx, id, p, &reqSettings{}, "unsubscribe", sub.Topic)
}

// stopSubLocked ends a local subscription's goroutine; s.mu must be held.
func (s *Session) stopSubLocked(sub *Subscription) {
	if !sub.stopped {
		sub.stopped = true
		close(sub.stop)
	}
}

func (s *Session) onEvent(m *protocol.Event) error {
	if !validID(m.Subscription) || !validID(m.Publication) {
		return newProtocolError("EVENT with invalid ids (subscription %d, publication %d)", m.Subscription, m.Publication)
	}
	topic, _ := m.Details["topic"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	group := s.subs[m.Subscription]
	if len(group) == 0 {
		// Unknown or just unsubscribed: ignore (it races with UNSUBSCRIBE).
		return nil
	}
	for _, sub := range group {
		t := topic
		if t == "" {
			t = sub.Topic
		}
		ev := &Event{Topic: t, Args: m.Args, Kwargs: m.Kwargs, Details: m.Details, Subscription: m.Subscription, Publication: m.Publication}
		select {
		case sub.queue <- ev:
		default:
			n := sub.dropped.Add(1)
			s.log.Warn("event queue full; event dropped", "topic", sub.Topic, "subscription", sub.ID, "dropped", n)
		}
	}
	return nil
}

// runSubscription delivers a subscription's events in order until it stops.
func (s *Session) runSubscription(sub *Subscription) {
	for {
		select {
		case <-sub.stop:
			return
		case ev := <-sub.queue:
			select {
			case <-sub.stop:
				return
			default:
			}
			s.deliver(sub, ev)
		}
	}
}

func (s *Session) deliver(sub *Subscription, ev *Event) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("event handler panicked", "topic", sub.Topic, "panic", r)
		}
	}()
	sub.handler(ev)
}
