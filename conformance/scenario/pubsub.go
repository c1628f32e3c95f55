package scenario

import (
	"fmt"
	"sync"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// expectSentinel requires the next message to be the EVENT of sub carrying
// args, after which nothing else is due: used with a sentinel publication
// to show that an earlier one was not delivered (events from one publisher
// reach one subscriber in order).
func (s *Session) expectSentinel(sub protocol.ID, what string) {
	ev := s.ExpectEvent(sub)
	if len(ev.Args) != 1 || ev.Args[0] != "sentinel" {
		s.t.Fatalf("%s: got EVENT %s before the sentinel", what, describe(ev))
	}
}

// shiftSubscribed makes the nth SUBSCRIBED the double sees (over all
// connections) carry another subscription ID.
func shiftSubscribed(nth int) fault.Breaker {
	var mu sync.Mutex
	n := 0
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		s, ok := m.(*protocol.Subscribed)
		if !ok {
			return nil, false
		}
		mu.Lock()
		n++
		hit := n == nth
		mu.Unlock()
		if !hit {
			return nil, false
		}
		s.Subscription++
		return s, true
	})
}

// duplicateEvents delivers every EVENT twice.
func duplicateEvents() fault.Breaker {
	return fault.RewriteFlow(fault.ToClient, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
		if _, ok := m.(*protocol.Event); !ok {
			return nil, false
		}
		f.Inject(fault.ToClient, m)
		return m, true
	})
}

func pubsubScenarios() []*Scenario {
	return []*Scenario{
		{
			ID:      "pubsub.subscribe",
			Title:   "SUBSCRIBE is answered with SUBSCRIBED carrying the SUBSCRIBE's request ID and a subscription ID",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Subscribe(t.URI("t"), nil)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Subscribed); ok {
					r.Request += 100
					return r, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.subscribe.again",
			Title:   "SUBSCRIBE to a topic the session is subscribed to is answered with the existing subscription ID",
			Section: secSubscribing, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				a := s.Subscribe(t.URI("t"), nil)
				b := s.Subscribe(t.URI("t"), nil)
				if a != b {
					t.Fatalf("the second SUBSCRIBE got subscription %d, the first %d", b, a)
				}
			},
			Breaker: shiftSubscribed(2),
		},
		{
			ID:      "pubsub.subscribe.again-once",
			Title:   "A session that subscribed to a topic twice receives each event once",
			Section: secSubscribing, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				s.Subscribe(t.URI("t"), nil)
				sentinel := s.Subscribe(t.URI("sentinel"), nil)
				p.PublishAck(t.URI("t"), nil, protocol.List{"once"}, nil)
				p.PublishAck(t.URI("sentinel"), nil, protocol.List{"sentinel"}, nil)
				s.ExpectEvent(sub)
				s.expectSentinel(sentinel, "an event of a twice subscribed topic")
			},
			Breaker: duplicateEvents(),
		},
		{
			ID:      "pubsub.subscribe.shared-id",
			Title:   "Subscribers of the same topic share one subscription ID (the broker may assign IDs per topic)",
			Section: secSubscribing, Level: MAY,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				x := a.Subscribe(t.URI("t"), nil)
				y := b.Subscribe(t.URI("t"), nil)
				if x != y {
					t.Fatalf("two sessions subscribed to one topic got subscriptions %d and %d", x, y)
				}
			},
			Breaker: shiftSubscribed(2),
		},
		{
			ID:      "pubsub.publish",
			Title:   "A publication reaches a subscriber as EVENT with its subscription ID, a publication ID, Details, and the arguments unchanged",
			Section: secPublishing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				p.Publish(t.URI("t"), nil, richArgs, richKwargs)
				ev := s.ExpectEvent(sub)
				samePayload(t, "EVENT", richArgs, ev.Args, richKwargs, ev.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if ev, ok := m.(*protocol.Event); ok {
					ev.Kwargs = protocol.Dict{"changed": true}
					return ev, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.publish.no-payload",
			Title:   "A publication without arguments reaches subscribers as an EVENT without arguments",
			Section: secPublishing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				p.Publish(t.URI("t"), nil, nil, nil)
				ev := s.ExpectEvent(sub)
				samePayload(t, "EVENT", nil, ev.Args, nil, ev.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if ev, ok := m.(*protocol.Event); ok {
					ev.Args = protocol.List{nil}
					return ev, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.publish.unacknowledged",
			Title:   "A PUBLISH without acknowledge gets no reply",
			Section: secPublishing, Level: MUST,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.Publish(t.URI("t"), nil, protocol.List{"fire and forget"}, nil)
				p.Sync("after an unacknowledged PUBLISH")
			},
			Breaker: fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if pub, ok := m.(*protocol.Publish); ok && pub.Options["acknowledge"] != true {
					f.Inject(fault.ToClient, &protocol.Published{Request: pub.Request, Publication: 99})
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.publish.acknowledged",
			Title:   "A PUBLISH with acknowledge is answered with PUBLISHED (its request ID) whose publication ID is the one subscribers see",
			Section: secPublishing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				pub := p.PublishAck(t.URI("t"), nil, protocol.List{"acknowledged"}, nil)
				ev := s.ExpectEvent(sub)
				if ev.Publication != pub {
					t.Fatalf("PUBLISHED says publication %d, the EVENT says %d", pub, ev.Publication)
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if p, ok := m.(*protocol.Published); ok {
					p.Publication++
					return p, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.publish.random-ids",
			Title:   "Publication ids are drawn at random from [1, 2^53] (three publications never all get ids below 2^40)",
			Section: secIDs, Level: MUST,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				var ids []protocol.ID
				for range 3 {
					id := p.PublishAck(t.URI("t"), nil, nil, nil)
					ids = append(ids, id)
					if id >= 1<<40 {
						return
					}
				}
				t.Fatalf("publication ids %v are all below 2^40: not drawn uniformly from [1, 2^53]", ids)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if p, ok := m.(*protocol.Published); ok {
					p.Publication %= 1 << 30
					return p, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.publish.publisher-excluded",
			Title:   "The publisher of an event does not receive it, even when subscribed to the topic",
			Section: secPublishing, Level: MUST,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.Subscribe(t.URI("t"), nil)
				p.PublishAck(t.URI("t"), nil, protocol.List{"mine"}, nil)
				p.Sync("after publishing to a topic it subscribes")
			},
			Breaker: fault.Rewrite(fault.ToRouter, func(m protocol.Message) (protocol.Message, bool) {
				if p, ok := m.(*protocol.Publish); ok {
					p.Options["exclude_me"] = false
					return p, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.unsubscribe",
			Title:   "UNSUBSCRIBE is answered with UNSUBSCRIBED; no more events come for the subscription",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				sentinel := s.Subscribe(t.URI("sentinel"), nil)
				s.Unsubscribe(sub)
				p.PublishAck(t.URI("t"), nil, protocol.List{"after unsubscribe"}, nil)
				p.PublishAck(t.URI("sentinel"), nil, protocol.List{"sentinel"}, nil)
				s.expectSentinel(sentinel, "after UNSUBSCRIBE")
			},
			Breaker: fakeReply(fault.Is[*protocol.Unsubscribe], func(m protocol.Message) protocol.Message {
				return &protocol.Unsubscribed{Request: m.(*protocol.Unsubscribe).Request}
			}),
		},
		{
			ID:      "pubsub.unsubscribe.unknown",
			Title:   "UNSUBSCRIBE of a subscription that does not exist is refused with ERROR wamp.error.no_such_subscription",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				req := s.NextID()
				s.Send(&protocol.Unsubscribe{Request: req, Subscription: 1234567})
				s.ExpectError(protocol.CodeUnsubscribe, req, "wamp.error.no_such_subscription")
			},
			Breaker: rewriteError(protocol.CodeUnsubscribe, "wamp.error.invalid_argument"),
		},
		{
			ID:      "pubsub.unsubscribe.twice",
			Title:   "A second UNSUBSCRIBE of the same subscription is refused with ERROR wamp.error.no_such_subscription",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				s.Unsubscribe(sub)
				req := s.NextID()
				s.Send(&protocol.Unsubscribe{Request: req, Subscription: sub})
				s.ExpectError(protocol.CodeUnsubscribe, req, "wamp.error.no_such_subscription")
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeUnsubscribe {
					return &protocol.Unsubscribed{Request: e.Request}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.unsubscribe.others-stay",
			Title:   "When one subscriber unsubscribes, the others of the topic keep receiving events",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sa := a.Subscribe(t.URI("t"), nil)
				sb := b.Subscribe(t.URI("t"), nil)
				a.Unsubscribe(sa)
				p.PublishAck(t.URI("t"), nil, protocol.List{"still subscribed"}, nil)
				b.ExpectEvent(sb)
			},
			Breaker: func() fault.Breaker {
				var mu sync.Mutex
				gone := false
				return fault.Messages(func() fault.MessageRule {
					return func(_ *fault.Flow, dir fault.Dir, m protocol.Message) bool {
						mu.Lock()
						defer mu.Unlock()
						switch m.(type) {
						case *protocol.Unsubscribe:
							gone = true
						case *protocol.Event:
							return !gone
						}
						return true
					}
				})
			}(),
		},
		{
			ID:      "pubsub.unsubscribe.foreign",
			Title:   "A session cannot end another session's subscription: ERROR wamp.error.no_such_subscription, events keep coming",
			Section: secSubscribing, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				sub := a.Subscribe(t.URI("t"), nil)
				req := b.NextID()
				b.Send(&protocol.Unsubscribe{Request: req, Subscription: sub})
				b.ExpectError(protocol.CodeUnsubscribe, req, "wamp.error.no_such_subscription")
				b.PublishAck(t.URI("t"), nil, protocol.List{"still there"}, nil)
				a.ExpectEvent(sub)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeUnsubscribe {
					return &protocol.Unsubscribed{Request: e.Request}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.ordering",
			Title:   "Events from one publisher reach one subscriber in publication order, across topics",
			Section: secOrdering, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				s1 := s.Subscribe(t.URI("t1"), nil)
				s2 := s.Subscribe(t.URI("t2"), nil)
				for i := range 10 {
					topic := t.URI("t1")
					if i%2 == 1 {
						topic = t.URI("t2")
					}
					p.Publish(topic, nil, protocol.List{int64(i)}, nil)
				}
				for i := range 10 {
					ev := expect(s, fmt.Sprintf("EVENT %d of 10", i+1), func(m *protocol.Event) bool { return true })
					want := s1
					if i%2 == 1 {
						want = s2
					}
					if ev.Subscription != want || len(ev.Args) != 1 || !sameValue(ev.Args[0], int64(i)) {
						t.Fatalf("event %d is %s, want publication %d (subscription %d)", i+1, describe(ev), i, want)
					}
				}
			},
			Breaker: holdFirst(fault.Is[*protocol.Event]),
		},
	}
}
