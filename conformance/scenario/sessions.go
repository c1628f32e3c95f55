package scenario

import (
	"fmt"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// sessionScenarios: opening and closing sessions (basic/sessions.md) and
// the protocol errors of basic/building_blocks.md.
func sessionScenarios() []*Scenario {
	out := []*Scenario{
		{
			ID:      "session.welcome",
			Title:   "HELLO is answered with WELCOME: a session id in [1, 2^53] and Details.roles announcing broker and/or dealer, each a dict whose features are booleans",
			Section: secWelcome, Level: MUST,
			Run: func(t *T) {
				c := t.Dial()
				hello, method := t.hello(JoinOptions{})
				c.Send(hello)
				var w *protocol.Welcome
				for w == nil {
					switch m := c.Next("WELCOME").(type) {
					case *protocol.Welcome:
						w = m
					case *protocol.Challenge:
						a, err := method.Respond(t.ctx, m)
						if err != nil {
							t.Fatalf("cannot answer the CHALLENGE: %v", err)
						}
						c.Send(a)
					default:
						t.Fatalf("HELLO answered with %s, want WELCOME", describe(m))
					}
				}
				checkRoles(t, w.Details)
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) {
				w.Details["roles"] = protocol.Dict{"broker": protocol.Dict{"features": protocol.Dict{"publisher_exclusion": "yes"}}}
			}),
		},
		{
			ID:      "session.welcome.distinct-ids",
			Title:   "Concurrent sessions get distinct session ids",
			Section: secIDs, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				if a.ID == b.ID {
					t.Fatalf("two sessions got the same session id %d", a.ID)
				}
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { w.Session = 4711 }),
		},
		{
			ID:      "session.welcome.random-ids",
			Title:   "Session ids are drawn at random from [1, 2^53] (three sessions never all get ids below 2^40)",
			Section: secIDs, Level: MUST,
			Run: func(t *T) {
				var ids []protocol.ID
				for range 3 {
					s := t.Join(JoinOptions{})
					ids = append(ids, s.ID)
					if s.ID >= 1<<40 {
						return
					}
				}
				t.Fatalf("session ids %v are all below 2^40: not drawn uniformly from [1, 2^53] (chance of that: 2^-39)", ids)
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { w.Session %= 1 << 30 }),
		},
		{
			ID:      "session.hello.second",
			Title:   "A second HELLO in an established session is a protocol violation: ABORT wamp.error.protocol_violation",
			Section: secHello, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				hello, _ := t.hello(JoinOptions{})
				s.Send(hello)
				s.Violation("a second HELLO")
			},
			Breaker: dropAfterFirst(fault.Is[*protocol.Hello]),
		},
		{
			ID:      "session.hello.unknown-attributes",
			Title:   "Unknown HELLO.Details attributes and unknown features are ignored: the session opens",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				roles := Roles()
				roles["caller"].(protocol.Dict)["features"].(protocol.Dict)["x_conformance_unknown_feature"] = true
				s := t.Join(JoinOptions{Roles: roles, Details: protocol.Dict{"_conformance_unknown": protocol.Dict{"a": int64(1)}}})
				s.Sync("after joining")
			},
			Breaker: abortHello(func(h *protocol.Hello) bool { return h.Details["_conformance_unknown"] != nil }),
		},
		{
			ID:      "session.hello.invalid-realm",
			Title:   "HELLO with a realm that is no valid URI is refused with ABORT wamp.error.invalid_uri",
			Section: secBasicURIs, Level: MUST,
			Run: func(t *T) {
				c := t.Dial()
				hello, _ := t.hello(JoinOptions{})
				c.SendList(int64(protocol.CodeHello), "conformance..bad realm", hello.Details)
				c.ExpectAbort("HELLO for realm \"conformance..bad realm\"", "wamp.error.invalid_uri")
			},
			Breaker: rewriteAbortReason("wamp.error.no_such_realm"),
		},
		{
			ID:      "session.hello.no-such-realm",
			Title:   "HELLO for a realm the router does not serve gets WELCOME (a router may create realms) or ABORT wamp.error.no_such_realm",
			Section: secWelcome, Level: SHOULD,
			Run: func(t *T) {
				c := t.Dial()
				realm := "conformance.norealm.r" + randomToken()
				hello, method := t.hello(JoinOptions{Realm: realm})
				c.Send(hello)
				for {
					switch m := c.Next("WELCOME or ABORT").(type) {
					case *protocol.Welcome:
						return
					case *protocol.Challenge:
						a, err := method.Respond(t.ctx, m)
						if err != nil {
							t.Fatalf("cannot answer the CHALLENGE: %v", err)
						}
						c.Send(a)
					case *protocol.Abort:
						if m.Reason != "wamp.error.no_such_realm" {
							t.Fatalf("HELLO for realm %q refused with ABORT %q, want wamp.error.no_such_realm", realm, m.Reason)
						}
						return
					default:
						t.Fatalf("HELLO for realm %q answered with %s", realm, describe(m))
					}
				}
			},
			Breaker: rewriteAbortReason("wamp.error.not_authorized"),
		},
		{
			ID:      "session.goodbye.reply",
			Title:   "A client's GOODBYE is answered with GOODBYE",
			Section: secGoodbye, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Leave()
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if _, ok := m.(*protocol.Goodbye); ok {
					return &protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.close.normal"}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "session.goodbye.reason",
			Title:   "The GOODBYE reply has reason wamp.close.goodbye_and_out",
			Section: secGoodbye, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				g := s.Leave()
				if g.Reason != "wamp.close.goodbye_and_out" {
					t.Fatalf("GOODBYE reply reason %q, want wamp.close.goodbye_and_out", g.Reason)
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if g, ok := m.(*protocol.Goodbye); ok {
					g.Reason = "wamp.close.normal"
					return g, true
				}
				return nil, false
			}),
		},
		{
			ID:      "session.goodbye.disposes",
			Title:   "A session closed with GOODBYE loses its registrations: another session can register the procedure at once",
			Section: secGoodbye, Level: MUST,
			Feature: "",
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				proc := t.URI("p")
				a.Register(proc, nil)
				a.Leave()
				b := t.Join(JoinOptions{})
				b.Register(proc, nil)
			},
			Breaker: swallowGoodbye(),
		},
		{
			ID:      "session.abort.client",
			Title:   "A client's ABORT ends its session without a reply; its registrations are gone",
			Section: secAbort, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				proc := t.URI("p")
				a.Register(proc, nil)
				a.Send(&protocol.Abort{Details: protocol.Dict{"message": "conformance test"}, Reason: "wamp.close.system_shutdown"})
				if f := a.Quiet(); f != nil {
					t.Fatalf("the router answered the ABORT: %s", a.Describe(f))
				}
				// Nothing tells B when the router has handled A's ABORT
				// (it has no reply), so B may find the procedure still
				// taken for a while: it tries again, for a bounded time.
				b := t.Join(JoinOptions{})
				registerSoon(b, proc, quietTime)
			},
			Breaker: fault.Drop(fault.ToRouter, fault.Is[*protocol.Abort]),
		},
	}
	return out
}

// checkRoles checks WELCOME.Details.roles.
func checkRoles(t *T, details protocol.Dict) {
	roles, ok := details["roles"].(protocol.Dict)
	if !ok {
		t.Fatalf("WELCOME.Details.roles is %s, want a dict", typeOf(details["roles"]))
	}
	n := 0
	for name, v := range roles {
		if name != "broker" && name != "dealer" {
			continue
		}
		n++
		r, ok := v.(protocol.Dict)
		if !ok {
			t.Fatalf("WELCOME.Details.roles.%s is %s, want a dict", name, typeOf(v))
		}
		if f, present := r["features"]; present {
			fs, ok := f.(protocol.Dict)
			if !ok {
				t.Fatalf("WELCOME.Details.roles.%s.features is %s, want a dict", name, typeOf(f))
			}
			for k, b := range fs {
				if _, ok := b.(bool); !ok {
					t.Fatalf("WELCOME.Details.roles.%s.features.%s is %s, want a bool", name, k, typeOf(b))
				}
			}
		}
	}
	if n == 0 {
		t.Fatalf("WELCOME.Details.roles announces neither broker nor dealer: %v", roles)
	}
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case int64, uint64:
		return "an integer"
	case float64:
		return "a float"
	case protocol.Dict:
		return "a dict"
	case protocol.List:
		return "a list"
	case []byte:
		return "binary"
	}
	return fmt.Sprintf("%T", v)
}

// dropAfterFirst drops every client message match accepts after the
// first one, on each connection (a router that ignores repeats).
func dropAfterFirst(match func(protocol.Message) bool) fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		seen := false
		return func(_ *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			if dir != fault.ToRouter || !match(m) {
				return true
			}
			if seen {
				return false
			}
			seen = true
			return true
		}
	})
}

// abortHello answers HELLOs that match with ABORT instead of passing them
// on (a router that rejects what it should accept).
func abortHello(match func(*protocol.Hello) bool) fault.Breaker {
	return fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
		h, ok := m.(*protocol.Hello)
		if !ok || !match(h) {
			return nil, false
		}
		f.Inject(fault.ToClient, &protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.error.protocol_violation"})
		return nil, true
	})
}

// rewriteAbortReason changes the reason of every ABORT the router sends.
func rewriteAbortReason(reason string) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if a, ok := m.(*protocol.Abort); ok {
			a.Reason = reason
			return a, true
		}
		return nil, false
	})
}

// swallowGoodbye answers a client's GOODBYE itself and never tells the
// router: the session lives on.
func swallowGoodbye() fault.Breaker {
	return fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
		if _, ok := m.(*protocol.Goodbye); !ok {
			return nil, false
		}
		f.Inject(fault.ToClient, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
		return nil, true
	})
}
