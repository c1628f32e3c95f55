package scenario

import (
	"slices"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// audience is a publisher and subscribers of t.URI("t") plus a sentinel
// topic t.URI("sentinel") every subscriber also holds.
type audience struct {
	pub       *Session
	subs      []*Session
	subIDs    []protocol.ID
	sentinels []protocol.ID
}

// newAudience joins a publisher and n subscribers (with the auth names
// given, "" for the default).
func newAudience(t *T, auths ...string) *audience {
	a := &audience{pub: t.Join(JoinOptions{})}
	for _, auth := range auths {
		s := t.Join(JoinOptions{Auth: auth})
		a.subs = append(a.subs, s)
		a.subIDs = append(a.subIDs, s.Subscribe(t.URI("t"), nil))
		a.sentinels = append(a.sentinels, s.Subscribe(t.URI("sentinel"), nil))
	}
	return a
}

// publish publishes to t.URI("t") with opts (acknowledged), then the
// sentinel, and checks that exactly the subscribers want got the event.
func (a *audience) publish(t *T, opts protocol.Dict, want ...int) {
	a.pub.PublishAck(t.URI("t"), opts, protocol.List{"payload"}, nil)
	a.pub.PublishAck(t.URI("sentinel"), nil, protocol.List{"sentinel"}, nil)
	for i, s := range a.subs {
		if slices.Contains(want, i) {
			ev := s.ExpectEvent(a.subIDs[i])
			if len(ev.Args) != 1 || ev.Args[0] != "payload" {
				t.Fatalf("subscriber %d got %s", i, describe(ev))
			}
		}
		s.expectSentinel(a.sentinels[i], "a subscriber that must not receive the publication")
	}
}

func authString(s *Session, key string) string {
	v, _ := s.Welcome.Details[key].(string)
	return v
}

func advancedPubSubScenarios() []*Scenario {
	const (
		bw   = "broker.subscriber_blackwhite_listing"
		excl = "broker.publisher_exclusion"
		pid  = "broker.publisher_identification"
		pat  = "broker.pattern_based_subscription"
		ret  = "broker.event_retention"
		rev  = "broker.subscription_revocation"
	)
	stripPub := func(key string) fault.Breaker { return setOption(isPublish, key, nil) }
	// listedByIdentity is the rule of PUBLISH.Options.<key>, a list of
	// authids or authroles (attr): only subscriber want of two (the first
	// joined with ticket, the second with second) receives the event when
	// the list names the first one's attr.
	listedByIdentity := func(id, title, key, attr, second string, want int) *Scenario {
		needs := []string{"ticket"}
		if second != "" {
			needs = append(needs, second)
		}
		return &Scenario{
			ID: id, Title: title,
			Section: secBlackWhite, Level: MUST, Feature: bw, Needs: needs,
			Run: func(t *T) {
				a := newAudience(t, "ticket", second)
				if authString(a.subs[0], attr) == authString(a.subs[1], attr) {
					t.Skipf("both subscribers have %s %q", attr, authString(a.subs[0], attr))
				}
				a.publish(t, protocol.Dict{key: protocol.List{authString(a.subs[0], attr)}}, want)
			},
			Breaker: stripPub(key),
		}
	}
	return []*Scenario{
		{
			ID:      "pubsub.exclusion.exclude-me-false",
			Title:   "With PUBLISH.Options.exclude_me false a subscribed publisher receives its own event",
			Section: secPubExclusion, Level: MUST, Feature: excl,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				sub := p.Subscribe(t.URI("t"), nil)
				req := p.Publish(t.URI("t"), protocol.Dict{"exclude_me": false, "acknowledge": true}, protocol.List{"mine"}, nil)
				// PUBLISHED and the EVENT may come in either order.
				var published, event bool
				for !published || !event {
					switch m := p.Next("PUBLISHED and the EVENT").(type) {
					case *protocol.Published:
						published = published || m.Request == req
					case *protocol.Event:
						event = event || m.Subscription == sub
					default:
						t.Fatalf("waiting for PUBLISHED and the publisher's own EVENT, got %s", describe(m))
					}
				}
			},
			Breaker: setOption(isPublish, "exclude_me", true),
		},
		{
			ID:      "pubsub.exclusion.exclude-me-true",
			Title:   "With PUBLISH.Options.exclude_me true a subscribed publisher does not receive its own event",
			Section: secPubExclusion, Level: MUST, Feature: excl,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.Subscribe(t.URI("t"), nil)
				p.PublishAck(t.URI("t"), protocol.Dict{"exclude_me": true}, protocol.List{"mine"}, nil)
				p.Sync("after publishing with exclude_me true")
			},
			Breaker: setOption(isPublish, "exclude_me", false),
		},
		{
			ID:      "pubsub.bw.exclude",
			Title:   "PUBLISH.Options.exclude (session ids) keeps the event from those subscribers only",
			Section: secBlackWhite, Level: MUST, Feature: bw,
			Run: func(t *T) {
				a := newAudience(t, "", "")
				a.publish(t, protocol.Dict{"exclude": protocol.List{a.subs[0].ID}}, 1)
			},
			Breaker: stripPub("exclude"),
		},
		{
			ID:      "pubsub.bw.eligible",
			Title:   "PUBLISH.Options.eligible (session ids) delivers the event to those subscribers only",
			Section: secBlackWhite, Level: MUST, Feature: bw,
			Run: func(t *T) {
				a := newAudience(t, "", "")
				a.publish(t, protocol.Dict{"eligible": protocol.List{a.subs[0].ID}}, 0)
			},
			Breaker: stripPub("eligible"),
		},
		listedByIdentity("pubsub.bw.exclude-authid",
			"PUBLISH.Options.exclude_authid keeps the event from subscribers with those authids",
			"exclude_authid", "authid", "", 1),
		listedByIdentity("pubsub.bw.eligible-authid",
			"PUBLISH.Options.eligible_authid delivers the event to subscribers with those authids only",
			"eligible_authid", "authid", "", 0),
		listedByIdentity("pubsub.bw.exclude-authrole",
			"PUBLISH.Options.exclude_authrole keeps the event from subscribers with those authroles",
			"exclude_authrole", "authrole", "anonymous", 1),
		listedByIdentity("pubsub.bw.eligible-authrole",
			"PUBLISH.Options.eligible_authrole delivers the event to subscribers with those authroles only",
			"eligible_authrole", "authrole", "anonymous", 0),
		{
			ID:      "pubsub.bw.both",
			Title:   "eligible and exclude together: only subscribers eligible and not excluded receive the event (spec example)",
			Section: secBlackWhite, Level: MUST, Feature: bw,
			Run: func(t *T) {
				a := newAudience(t, "", "", "")
				a.publish(t, protocol.Dict{"eligible": protocol.List{a.subs[0].ID, a.subs[1].ID}, "exclude": protocol.List{a.subs[0].ID}}, 1)
			},
			Breaker: stripPub("exclude"),
		},
		{
			ID:      "pubsub.bw.publisher-excluded",
			Title:   "A publisher listed as eligible still does not receive its own event (publisher exclusion applies on top)",
			Section: secBlackWhite, Level: MUST, Feature: bw,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.Subscribe(t.URI("t"), nil)
				p.PublishAck(t.URI("t"), protocol.Dict{"eligible": protocol.List{p.ID}}, protocol.List{"mine"}, nil)
				p.Sync("after publishing with itself eligible")
			},
			Breaker: setOption(isPublish, "exclude_me", false),
		},
		{
			ID:      "pubsub.publisher-id.disclose-me",
			Title:   "PUBLISH.Options.disclose_me puts the publisher's session id in EVENT.Details.publisher (or the broker refuses with ERROR)",
			Section: secPubID, Level: MUST, Feature: pid,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				req := p.Publish(t.URI("t"), protocol.Dict{"disclose_me": true, "acknowledge": true}, nil, nil)
				if e, ok := p.Next("PUBLISHED or ERROR").(*protocol.Error); ok && e.Request == req {
					return // refused: allowed
				}
				ev := s.ExpectEvent(sub)
				if !sameValue(ev.Details["publisher"], int64(p.ID)) {
					t.Fatalf("EVENT.Details.publisher is %v, want the publisher's session id %d", ev.Details["publisher"], p.ID)
				}
			},
			Breaker: stripDetail(isEvent, "publisher"),
		},
		{
			ID:      "pubsub.publisher-id.authid",
			Title:   "A disclosed publisher's publisher_authid and publisher_authrole, when given, are the publisher's",
			Section: secPubID, Level: SHOULD, Feature: pid,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				p.Publish(t.URI("t"), protocol.Dict{"disclose_me": true}, nil, nil)
				ev := s.ExpectEvent(sub)
				for _, k := range []string{"authid", "authrole"} {
					if v, ok := ev.Details["publisher_"+k]; ok && v != p.Welcome.Details[k] {
						t.Fatalf("EVENT.Details.publisher_%s is %v, the publisher's %s is %v", k, v, k, p.Welcome.Details[k])
					}
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if ev, ok := m.(*protocol.Event); ok {
					ev.Details["publisher_authrole"] = "someone-else"
					return ev, true
				}
				return nil, false
			}),
		},
		{
			ID:      "pubsub.pattern.prefix",
			Title:   "A prefix subscription receives events of topics it prefixes (by string), with the topic in EVENT.Details.topic",
			Section: secPatternSub, Level: MUST, Feature: pat,
			Run: func(t *T) {
				patternEvents(t, "topic.emergency", "prefix",
					[]string{"topic.emergency.11", "topic.emergency-low", "topic.emergency.category.severe", "topic.emergency"},
					[]string{"topic.emerge"}, "a topic the prefix does not match (topic.emerge)")
			},
			Breaker: stripDetail(isEvent, "topic"),
		},
		{
			ID:      "pubsub.pattern.wildcard",
			Title:   "A wildcard subscription receives events of topics matching it component by component, and no others",
			Section: secPatternSub, Level: MUST, Feature: pat,
			Run: func(t *T) {
				patternEvents(t, "myapp..userevent", "wildcard",
					[]string{"myapp.foo.userevent", "myapp.bar.userevent"},
					[]string{"myapp.foo.userevent.bar", "myapp.foo.user", "myapp2.foo.userevent"}, "topics the wildcard does not match")
			},
			Breaker: stripDetail(isEvent, "topic"),
		},
		{
			ID:      "pubsub.pattern.every-match",
			Title:   "An event matching several subscriptions of a session (exact, prefix, wildcard) is delivered once per subscription, with one publication id",
			Section: secPatternSub, Level: MUST, Feature: pat,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				ids := []protocol.ID{
					s.Subscribe(t.URI("a.b.c"), nil),
					s.Subscribe(t.URI("a.b"), protocol.Dict{"match": "prefix"}),
					s.Subscribe(t.URI("a..c"), protocol.Dict{"match": "wildcard"}),
				}
				pub := p.PublishAck(t.URI("a.b.c"), nil, nil, nil)
				var got []protocol.ID
				for range 3 {
					ev := expect(s, "3 EVENTs", func(m *protocol.Event) bool { return true })
					if ev.Publication != pub {
						t.Fatalf("EVENT for publication %d, want %d", ev.Publication, pub)
					}
					got = append(got, ev.Subscription)
				}
				for _, id := range ids {
					if !slices.Contains(got, id) {
						t.Fatalf("events came for subscriptions %v, want one each for %v", got, ids)
					}
				}
			},
			Breaker: fault.Messages(func() fault.MessageRule {
				seen := map[protocol.ID]bool{}
				return func(_ *fault.Flow, dir fault.Dir, m protocol.Message) bool {
					ev, ok := m.(*protocol.Event)
					if !ok {
						return true
					}
					if seen[ev.Publication] {
						return false
					}
					seen[ev.Publication] = true
					return true
				}
			}),
		},
		{
			ID:      "pubsub.pattern.shared-id",
			Title:   "All subscribers of the same subscription (topic and match policy) get the same subscription id",
			Section: secPatternSub, Level: MUST, Feature: pat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				x := a.Subscribe(t.URI("shared"), protocol.Dict{"match": "prefix"})
				y := b.Subscribe(t.URI("shared"), protocol.Dict{"match": "prefix"})
				if x != y {
					t.Fatalf("two subscribers of the same prefix subscription got ids %d and %d", x, y)
				}
			},
			Breaker: shiftSubscribed(2),
		},
		{
			ID:      "pubsub.pattern.distinct-policies",
			Title:   "An exact and a prefix subscription of the same URI are different subscriptions with different ids",
			Section: secPatternSub, Level: MUST, Feature: pat,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				x := s.Subscribe(t.URI("both"), nil)
				y := s.Subscribe(t.URI("both"), protocol.Dict{"match": "prefix"})
				if x == y {
					t.Fatalf("exact and prefix subscriptions of one URI got the same id %d", x)
				}
			},
			Breaker: fault.Messages(func() fault.MessageRule {
				var first protocol.ID
				return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
					if s, ok := m.(*protocol.Subscribed); ok {
						if first == 0 {
							first = s.Subscription
						} else {
							s.Subscription = first
							f.Inject(fault.ToClient, s)
							return false
						}
					}
					return true
				}
			}),
		},
		{
			ID:      "pubsub.retention",
			Title:   "A subscriber asking for get_retained receives the topic's retained event, with EVENT.Details.retained true",
			Section: secRetention, Level: MUST, Feature: ret,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true}, protocol.List{"retained"}, nil)
				if ev := expectRetained(t, "retained"); ev.Details["retained"] != true {
					t.Fatalf("the retained event has no Details.retained true: %s", describe(ev))
				}
			},
			Breaker: stripDetail(isEvent, "retained"),
		},
		{
			ID:      "pubsub.retention.most-recent",
			Title:   "Only the most recent retained event is delivered to a new subscriber",
			Section: secRetention, Level: MUST, Feature: ret,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true}, protocol.List{"old"}, nil)
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true}, protocol.List{"new"}, nil)
				expectRetained(t, "new")
			},
			Breaker: setRetain("new", false),
		},
		{
			ID:      "pubsub.retention.opt-in",
			Title:   "A subscriber that does not ask for get_retained gets no retained event",
			Section: secRetention, Level: MUST, Feature: ret,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true}, protocol.List{"retained"}, nil)
				s := t.Join(JoinOptions{})
				s.Subscribe(t.URI("t"), nil)
				s.Sync("after subscribing without get_retained")
			},
			Breaker: injectRetained(true),
		},
		{
			ID:      "pubsub.retention.not-retained",
			Title:   "A publication without retain does not replace the retained event",
			Section: secRetention, Level: MUST, Feature: ret,
			Run: func(t *T) {
				p := t.Join(JoinOptions{})
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true}, protocol.List{"retained"}, nil)
				p.PublishAck(t.URI("t"), nil, protocol.List{"passing"}, nil)
				expectRetained(t, "retained")
			},
			Breaker: setRetain("passing", true),
		},
		{
			ID:      "pubsub.retention.eligible",
			Title:   "A retained event is not sent to a subscriber that would not have been eligible for it",
			Section: secRetention, Level: MUST, Feature: ret,
			Run: func(t *T) {
				if !t.Announced(bw) {
					t.Skipf("the router does not announce subscriber_blackwhite_listing")
				}
				other := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				p.PublishAck(t.URI("t"), protocol.Dict{"retain": true, "eligible": protocol.List{other.ID}}, protocol.List{"for other only"}, nil)
				s := t.Join(JoinOptions{})
				s.Subscribe(t.URI("t"), protocol.Dict{"get_retained": true})
				s.Sync("after subscribing to a topic whose retained event it is not eligible for")
			},
			Breaker: injectRetained(false),
		},
		{
			ID:      "pubsub.revocation",
			Title:   "A revoked subscription is announced to a subscriber supporting subscription_revocation as UNSUBSCRIBED with request 0 and Details.subscription",
			Section: secSubRevocation, Level: MUST, Feature: rev,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				admin := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				removeSubscriber(t, admin, sub, s.ID)
				u := expect(s, "UNSUBSCRIBED (revocation)", func(m *protocol.Unsubscribed) bool { return true })
				if u.Request != 0 || !sameValue(u.Details["subscription"], int64(sub)) {
					t.Fatalf("revocation is %s, want UNSUBSCRIBED with request 0 and Details.subscription %d", describe(u), sub)
				}
			},
			Breaker: fault.Chain(fakeRemoveSubscriber(), fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if u, ok := m.(*protocol.Unsubscribed); ok && u.Request == 0 {
					u.Details["subscription"] = int64(1)
					return u, true
				}
				return nil, false
			})),
		},
		{
			ID:      "pubsub.revocation.unannounced",
			Title:   "A subscriber without subscription_revocation is not sent UNSUBSCRIBED when its subscription is revoked",
			Section: secSubRevocation, Level: MUST, Feature: rev,
			Run: func(t *T) {
				s := t.Join(JoinOptions{Roles: Roles("subscriber.subscription_revocation")})
				admin := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				removeSubscriber(t, admin, sub, s.ID)
				s.Sync("after the revocation of its subscription")
			},
			Breaker: fault.Chain(fakeRemoveSubscriber(), revokeBeforeNextPublish()),
		},
	}
}

// patternEvents subscribes to pattern with match policy, publishes to
// each topic of match and others (then to a sentinel topic), and requires
// an EVENT for each of match, in order, with the topic in
// EVENT.Details.topic, and none for others (what names them).
func patternEvents(t *T, pattern, policy string, match, others []string, what string) {
	s := t.Join(JoinOptions{})
	p := t.Join(JoinOptions{})
	sub := s.Subscribe(t.URI(pattern), protocol.Dict{"match": policy})
	sentinel := s.Subscribe(t.URI("sentinel"), nil)
	for _, u := range append(slices.Clone(match), others...) {
		p.PublishAck(t.URI(u), nil, protocol.List{u}, nil)
	}
	p.PublishAck(t.URI("sentinel"), nil, protocol.List{"sentinel"}, nil)
	for _, u := range match {
		ev := s.ExpectEvent(sub)
		if ev.Details["topic"] != t.URI(u) {
			t.Fatalf("event for %s has Details.topic %v", u, ev.Details["topic"])
		}
	}
	s.expectSentinel(sentinel, what)
}

// expectRetained subscribes a new session to t.URI("t") with get_retained
// and requires the retained EVENT with the single argument want, which it
// returns.
func expectRetained(t *T, want string) *protocol.Event {
	s := t.Join(JoinOptions{})
	sub := s.Subscribe(t.URI("t"), protocol.Dict{"get_retained": true})
	ev := s.ExpectEvent(sub)
	samePayload(t, "retained EVENT", protocol.List{want}, ev.Args, nil, ev.Kwargs)
	return ev
}

// setRetain sets Options.retain of the PUBLISH whose single argument is arg.
func setRetain(arg string, retain bool) fault.Breaker {
	return setOption(func(m protocol.Message) bool {
		p, ok := m.(*protocol.Publish)
		return ok && len(p.Args) == 1 && p.Args[0] == arg
	}, "retain", retain)
}

// removeSubscriber revokes a subscription with the crossbar meta procedure
// wamp.subscription.remove_subscriber; the spec defines no way to make a
// broker revoke one, so a router without it skips the scenario.
func removeSubscriber(t *T, admin *Session, sub, session protocol.ID) {
	req := admin.Call("wamp.subscription.remove_subscriber", nil, protocol.List{sub, session}, nil)
	switch m := admin.Next("the answer to wamp.subscription.remove_subscriber").(type) {
	case *protocol.Result:
	case *protocol.Error:
		if m.URI == "wamp.error.no_such_procedure" {
			t.Skipf("no way to make the router revoke a subscription (wamp.subscription.remove_subscriber: %s)", m.URI)
		}
		t.Fatalf("wamp.subscription.remove_subscriber failed: %s", describe(m))
	default:
		t.Fatalf("waiting for the answer to CALL %d (wamp.subscription.remove_subscriber), got %s", req, describe(m))
	}
}

// injectRetained makes the double send a made-up retained EVENT right after
// every SUBSCRIBED for a SUBSCRIBE with get_retained (or for every
// SUBSCRIBE, with always): a broker that hands out retained events it must
// not.
func injectRetained(always bool) fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		asked := map[protocol.ID]bool{}
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Subscribe:
				asked[m.Request] = always || m.Options["get_retained"] == true
			case *protocol.Subscribed:
				if asked[m.Request] {
					f.Inject(fault.ToClient, m)
					f.Inject(fault.ToClient, &protocol.Event{Subscription: m.Subscription, Publication: 4242,
						Details: protocol.Dict{"retained": true}, Args: protocol.List{"retained"}})
					return false
				}
			}
			return true
		}
	})
}

// fakeRemoveSubscriber answers wamp.subscription.remove_subscriber itself
// (with RESULT) without telling the router.
func fakeRemoveSubscriber() fault.Breaker {
	return fakeReply(func(m protocol.Message) bool {
		c, ok := m.(*protocol.Call)
		return ok && c.Procedure == "wamp.subscription.remove_subscriber"
	}, func(m protocol.Message) protocol.Message {
		return &protocol.Result{Request: m.(*protocol.Call).Request, Details: protocol.Dict{}}
	})
}

// revokeBeforeNextPublish sends a subscriber an UNSUBSCRIBED revocation of
// its subscription before its next PUBLISH is passed on, whatever it
// announced.
func revokeBeforeNextPublish() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		var sub protocol.ID
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Subscribed:
				sub = m.Subscription
			case *protocol.Publish:
				if sub != 0 {
					f.Inject(fault.ToClient, &protocol.Unsubscribed{Request: 0, Details: protocol.Dict{"subscription": int64(sub)}})
					sub = 0
				}
			}
			return true
		}
	})
}
