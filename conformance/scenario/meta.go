package scenario

import (
	"fmt"
	"slices"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// metaCall calls a meta procedure and returns the RESULT.
func (s *Session) metaCall(proc string, args protocol.List, kwargs protocol.Dict) *protocol.Result {
	req := s.Call(proc, nil, args, kwargs)
	m := s.Next("the RESULT of " + proc)
	switch m := m.(type) {
	case *protocol.Result:
		if m.Request == req {
			return m
		}
	case *protocol.Error:
		if m.Request == req {
			s.t.Fatalf("%s failed: %s", proc, describe(m))
		}
	}
	s.t.Fatalf("waiting for the RESULT of %s, got %s", proc, describe(m))
	return nil
}

// metaError calls a meta procedure that must fail with uri.
func (s *Session) metaError(proc string, args protocol.List, kwargs protocol.Dict, uri string) {
	req := s.Call(proc, nil, args, kwargs)
	s.ExpectError(protocol.CodeCall, req, uri)
}

// waitEvent waits for an EVENT of sub that match accepts, skipping others
// (meta events of sessions of other scenarios).
func (s *Session) waitEvent(sub protocol.ID, what string, match func(*protocol.Event) bool) *protocol.Event {
	deadline := time.Now().Add(s.t.Timeout())
	for time.Now().Before(deadline) {
		m := s.Next(what)
		ev, ok := m.(*protocol.Event)
		if !ok {
			s.t.Fatalf("waiting for %s, got %s", what, describe(m))
		}
		if ev.Subscription == sub && match(ev) {
			return ev
		}
	}
	s.t.Fatalf("no %s within %v", what, s.t.Timeout())
	return nil
}

// isCallOf matches CALLs of procedure proc.
func isCallOf(proc string) func(protocol.Message) bool {
	return func(m protocol.Message) bool {
		c, ok := m.(*protocol.Call)
		return ok && c.Procedure == proc
	}
}

// fakeResult answers CALLs of proc itself with a RESULT of args.
func fakeResult(proc string, args ...any) fault.Breaker {
	return fakeReply(isCallOf(proc), func(m protocol.Message) protocol.Message {
		return &protocol.Result{Request: m.(*protocol.Call).Request, Details: protocol.Dict{}, Args: args}
	})
}

// rewriteEvents changes the arguments of EVENTs.
func rewriteEvents(fn func(ev *protocol.Event)) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		ev, ok := m.(*protocol.Event)
		if !ok {
			return nil, false
		}
		fn(ev)
		return ev, true
	})
}

// rewriteGoodbye changes every GOODBYE the router sends.
func rewriteGoodbye(fn func(g *protocol.Goodbye)) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		g, ok := m.(*protocol.Goodbye)
		if !ok {
			return nil, false
		}
		fn(g)
		return g, true
	})
}

// expectKilled waits for the router's GOODBYE to a killed session and
// answers it.
func (s *Session) expectKilled(reason, message string) *protocol.Goodbye {
	g := expect(s, "GOODBYE (killed)", func(*protocol.Goodbye) bool { return true })
	if g.Reason != reason {
		s.t.Fatalf("the killed session got GOODBYE with reason %q, want %q", g.Reason, reason)
	}
	if message != "" && g.Details["message"] != message {
		s.t.Fatalf("the killed session got GOODBYE with Details.message %v, want %q", g.Details["message"], message)
	}
	s.TrySend(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
	return g
}

func idIn(v any, id protocol.ID) bool {
	l, _ := v.(protocol.List)
	for _, e := range l {
		if sameValue(e, int64(id)) {
			return true
		}
	}
	return false
}

func isISO8601(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05.999999Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

func sessionMetaScenarios() []*Scenario {
	const (
		events = "broker.session_meta_api"
		procs  = "dealer.session_meta_api"
	)
	nobody := "conformance_nobody_" + randomToken()
	return []*Scenario{
		{
			ID:      "meta.session.on-join",
			Title:   "wamp.session.on_join is published when a session joins: one dict with session, authid, authrole, authmethod, authprovider",
			Section: secSessionMeta, Level: MUST, Feature: events,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				sub := a.Subscribe("wamp.session.on_join", nil)
				b := t.Join(JoinOptions{})
				ev := a.waitEvent(sub, "wamp.session.on_join for the new session", func(ev *protocol.Event) bool {
					d, _ := arg(ev.Args, 0).(protocol.Dict)
					return d != nil && sameValue(d["session"], int64(b.ID))
				})
				d := ev.Args[0].(protocol.Dict)
				for _, k := range []string{"authid", "authrole", "authmethod", "authprovider"} {
					if d[k] != b.Welcome.Details[k] {
						t.Fatalf("on_join %s is %v, the session's WELCOME says %v", k, d[k], b.Welcome.Details[k])
					}
				}
			},
			Breaker: rewriteEvents(func(ev *protocol.Event) {
				if d, ok := arg(ev.Args, 0).(protocol.Dict); ok {
					delete(d, "authmethod")
				}
			}),
		},
		{
			ID:      "meta.session.on-leave",
			Title:   "wamp.session.on_leave is published when a session leaves, with the arguments session, authid and authrole",
			Section: secSessionMeta, Level: MUST, Feature: events,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				sub := a.Subscribe("wamp.session.on_leave", nil)
				b := t.Join(JoinOptions{})
				b.Leave()
				ev := a.waitEvent(sub, "wamp.session.on_leave for the session that left", func(ev *protocol.Event) bool {
					return len(ev.Args) > 0 && sameValue(ev.Args[0], int64(b.ID))
				})
				want := protocol.List{int64(b.ID), b.Welcome.Details["authid"], b.Welcome.Details["authrole"]}
				if !sameValue(want, ev.Args) {
					t.Fatalf("on_leave arguments are %s, want [session, authid, authrole] %s", describe(ev), wire.Format(want))
				}
			},
			Breaker: rewriteEvents(func(ev *protocol.Event) {
				if len(ev.Args) > 1 {
					ev.Args = ev.Args[:1]
				}
			}),
		},
		{
			ID:      "meta.session.count",
			Title:   "wamp.session.count counts the realm's sessions, and only those of the given authroles",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				t.Join(JoinOptions{}).Sync("to be sure the router has attached the session")
				if n, _ := arg(a.metaCall("wamp.session.count", nil, nil).Args, 0).(int64); n < 2 {
					t.Fatalf("wamp.session.count is %d with at least 2 sessions joined", n)
				}
				if n := arg(a.metaCall("wamp.session.count", protocol.List{protocol.List{nobody}}, nil).Args, 0); !sameValue(n, int64(0)) {
					t.Fatalf("wamp.session.count for an authrole nobody has is %v, want 0", n)
				}
			},
			Breaker: fakeResult("wamp.session.count", int64(1)),
		},
		{
			ID:      "meta.session.list",
			Title:   "wamp.session.list lists the realm's session ids, and only those of the given authroles",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				b.Sync("to be sure the router has attached the session")
				all := arg(a.metaCall("wamp.session.list", nil, nil).Args, 0)
				if !idIn(all, a.ID) || !idIn(all, b.ID) {
					t.Fatalf("wamp.session.list %v lacks %d or %d", all, a.ID, b.ID)
				}
				role := b.Welcome.Details["authrole"]
				if mine := arg(a.metaCall("wamp.session.list", protocol.List{protocol.List{role}}, nil).Args, 0); !idIn(mine, b.ID) {
					t.Fatalf("wamp.session.list for authrole %v lacks %d: %v", role, b.ID, mine)
				}
				if none := arg(a.metaCall("wamp.session.list", protocol.List{protocol.List{nobody}}, nil).Args, 0); !sameValue(none, protocol.List{}) {
					t.Fatalf("wamp.session.list for an authrole nobody has is %v, want []", none)
				}
			},
			Breaker: fakeResult("wamp.session.list", protocol.List{}),
		},
		{
			ID:      "meta.session.get",
			Title:   "wamp.session.get returns a session's details: session, authid, authrole, authmethod, authprovider",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				b.Sync("to be sure the router has attached the session")
				d, ok := arg(a.metaCall("wamp.session.get", protocol.List{b.ID}, nil).Args, 0).(protocol.Dict)
				if !ok {
					t.Fatalf("wamp.session.get did not return a dict")
				}
				if !sameValue(d["session"], int64(b.ID)) {
					t.Fatalf("wamp.session.get(%d) returned session %v", b.ID, d["session"])
				}
				for _, k := range []string{"authid", "authrole", "authmethod", "authprovider"} {
					if d[k] != b.Welcome.Details[k] {
						t.Fatalf("wamp.session.get %s is %v, the session's WELCOME says %v", k, d[k], b.Welcome.Details[k])
					}
				}
			},
			Breaker: fakeResult("wamp.session.get", protocol.Dict{"session": int64(1)}),
		},
		{
			ID:      "meta.session.get-unknown",
			Title:   "wamp.session.get of a session that does not exist fails with wamp.error.no_such_session",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				a.metaError("wamp.session.get", protocol.List{int64(4503599627370497)}, nil, "wamp.error.no_such_session")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "meta.session.kill",
			Title:   "wamp.session.kill ends another session with GOODBYE wamp.close.killed",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				b.Sync("to be sure the router has attached the session to kill")
				a.metaCall("wamp.session.kill", protocol.List{b.ID}, nil)
				b.expectKilled("wamp.close.killed", "")
			},
			Breaker: rewriteGoodbye(func(g *protocol.Goodbye) { g.Reason = "wamp.close.system_shutdown" }),
		},
		{
			ID:      "meta.session.kill-reason",
			Title:   "wamp.session.kill with reason and message sends them in the killed session's GOODBYE",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				b.Sync("to be sure the router has attached the session to kill")
				a.metaCall("wamp.session.kill", protocol.List{b.ID}, protocol.Dict{"reason": "conformance.close.test", "message": "bye now"})
				b.expectKilled("conformance.close.test", "bye now")
			},
			Breaker: rewriteGoodbye(func(g *protocol.Goodbye) { delete(g.Details, "message") }),
		},
		{
			ID:      "meta.session.kill-self",
			Title:   "wamp.session.kill of the caller's own session fails with wamp.error.no_such_session",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				a.metaError("wamp.session.kill", protocol.List{a.ID}, nil, "wamp.error.no_such_session")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "meta.session.kill-invalid-reason",
			Title:   "wamp.session.kill with a reason that is no valid URI fails with wamp.error.invalid_uri",
			Section: secSessionMeta, Level: MUST, Feature: procs,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				a.metaError("wamp.session.kill", protocol.List{b.ID}, protocol.Dict{"reason": "not a uri"}, "wamp.error.invalid_uri")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "meta.session.kill-by-authid",
			Title:   "wamp.session.kill_by_authid ends the sessions of an authid (not the caller's) and returns their ids",
			Section: secSessionMeta, Level: MUST, Feature: procs, Needs: []string{"ticket"}, Exclusive: true,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{Auth: "ticket"})
				if a.Welcome.Details["authid"] == b.Welcome.Details["authid"] {
					t.Skipf("the caller has the victim's authid")
				}
				b.Sync("to be sure the router has attached the session to kill")
				r := a.metaCall("wamp.session.kill_by_authid", protocol.List{b.Welcome.Details["authid"]}, nil)
				if !idIn(arg(r.Args, 0), b.ID) {
					t.Fatalf("kill_by_authid returned %v, which lacks the killed session %d", arg(r.Args, 0), b.ID)
				}
				b.expectKilled("wamp.close.killed", "")
			},
			Breaker: rewriteGoodbye(func(g *protocol.Goodbye) { g.Reason = "wamp.close.system_shutdown" }),
		},
		{
			ID:      "meta.session.kill-by-authrole",
			Title:   "wamp.session.kill_by_authrole ends the sessions of an authrole (not the caller's) and returns their number",
			Section: secSessionMeta, Level: MUST, Feature: procs, Needs: []string{"ticket", "anonymous"}, Exclusive: true,
			Run: func(t *T) {
				a := t.Join(JoinOptions{Auth: "anonymous"})
				b := t.Join(JoinOptions{Auth: "ticket"})
				role := b.Welcome.Details["authrole"]
				if a.Welcome.Details["authrole"] == role {
					t.Skipf("the caller has the victim's authrole")
				}
				b.Sync("to be sure the router has attached the session to kill")
				r := a.metaCall("wamp.session.kill_by_authrole", protocol.List{role}, nil)
				if n, _ := arg(r.Args, 0).(int64); n < 1 {
					t.Fatalf("kill_by_authrole returned %v, want the number of killed sessions (at least 1)", arg(r.Args, 0))
				}
				b.expectKilled("wamp.close.killed", "")
			},
			Breaker: rewriteGoodbye(func(g *protocol.Goodbye) { g.Reason = "wamp.close.system_shutdown" }),
		},
		{
			ID:      "meta.session.kill-all",
			Title:   "wamp.session.kill_all ends every other session of the realm and returns their number",
			Section: secSessionMeta, Level: MUST, Feature: procs, Exclusive: true,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				b.Sync("to be sure the router has attached the session to kill")
				r := a.metaCall("wamp.session.kill_all", nil, nil)
				if n, _ := arg(r.Args, 0).(int64); n < 1 {
					t.Fatalf("kill_all returned %v, want the number of killed sessions (at least 1)", arg(r.Args, 0))
				}
				b.expectKilled("wamp.close.killed", "")
				a.Sync("the caller of kill_all lives on")
			},
			Breaker: rewriteGoodbye(func(g *protocol.Goodbye) { g.Reason = "wamp.close.system_shutdown" }),
		},
	}
}

// metaKind is "registration" or "subscription": the two meta APIs mirror
// each other.
type metaKind struct {
	kind, feature string
	section       Section
	// make creates the object under uri with match in session s.
	make func(s *Session, uri, match string) protocol.ID
	// listMembers and countMembers are the member procedures.
	listMembers, countMembers string
	create, attach, detach    string // on_create, on_register/on_subscribe, on_unregister/on_unsubscribe
	noSuch                    string
	// remove detaches s from the object.
	remove func(s *Session, id protocol.ID)
}

var regMeta = metaKind{
	kind: "registration", feature: "dealer.registration_meta_api", section: secRegMeta,
	make: func(s *Session, uri, match string) protocol.ID {
		return s.Register(uri, matchOptions(match))
	},
	listMembers: "list_callees", countMembers: "count_callees",
	create: "on_create", attach: "on_register", detach: "on_unregister",
	noSuch: "wamp.error.no_such_registration",
	remove: func(s *Session, id protocol.ID) { s.Unregister(id) },
}

var subMeta = metaKind{
	kind: "subscription", feature: "broker.subscription_meta_api", section: secSubMeta,
	make: func(s *Session, uri, match string) protocol.ID {
		return s.Subscribe(uri, matchOptions(match))
	},
	listMembers: "list_subscribers", countMembers: "count_subscribers",
	create: "on_create", attach: "on_subscribe", detach: "on_unsubscribe",
	noSuch: "wamp.error.no_such_subscription",
	remove: func(s *Session, id protocol.ID) { s.Unsubscribe(id) },
}

// matchOptions are the options of a REGISTER or SUBSCRIBE with match
// policy match (none for exact, the default).
func matchOptions(match string) protocol.Dict {
	o := protocol.Dict{}
	if match != "exact" {
		o["match"] = match
	}
	return o
}

func (k metaKind) proc(name string) string { return "wamp." + k.kind + "." + name }

func (k metaKind) scenarios() []*Scenario {
	p := k.proc
	return []*Scenario{
		{
			ID:      "meta." + k.kind + ".list",
			Title:   fmt.Sprintf("%s lists %s ids by match policy (exact, prefix, wildcard)", p("list"), k.kind),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				ids := map[string]protocol.ID{
					"exact":    k.make(b, t.URI("x.exact"), "exact"),
					"prefix":   k.make(b, t.URI("x.prefix"), "prefix"),
					"wildcard": k.make(b, t.URI("x..wildcard"), "wildcard"),
				}
				d, ok := arg(b.metaCall(p("list"), nil, nil).Args, 0).(protocol.Dict)
				if !ok {
					t.Fatalf("%s did not return a dict", p("list"))
				}
				for match, id := range ids {
					if !idIn(d[match], id) {
						t.Fatalf("%s: %s list %v lacks %d", p("list"), match, d[match], id)
					}
				}
			},
			Breaker: fakeResult(p("list"), protocol.Dict{"exact": protocol.List{}, "prefix": protocol.List{}, "wildcard": protocol.List{}}),
		},
		{
			ID:      "meta." + k.kind + ".lookup",
			Title:   fmt.Sprintf("%s finds the %s of a URI and match policy, null when there is none", p("lookup"), k.kind),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				exact := k.make(b, t.URI("x"), "exact")
				prefix := k.make(b, t.URI("x"), "prefix")
				if got := arg(b.metaCall(p("lookup"), protocol.List{t.URI("x")}, nil).Args, 0); !sameValue(got, int64(exact)) {
					t.Fatalf("%s(%s) is %v, want %d", p("lookup"), t.URI("x"), got, exact)
				}
				if got := arg(b.metaCall(p("lookup"), protocol.List{t.URI("x"), protocol.Dict{"match": "prefix"}}, nil).Args, 0); !sameValue(got, int64(prefix)) {
					t.Fatalf("%s(%s, match prefix) is %v, want %d", p("lookup"), t.URI("x"), got, prefix)
				}
				if got := arg(b.metaCall(p("lookup"), protocol.List{t.URI("none")}, nil).Args, 0); got != nil {
					t.Fatalf("%s of a URI without %s is %v, want null", p("lookup"), k.kind, got)
				}
			},
			Breaker: fakeResult(p("lookup"), nil),
		},
		{
			ID:      "meta." + k.kind + ".match",
			Title:   fmt.Sprintf("%s finds the %s(s) matching a URI, null when none matches", p("match"), k.kind),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				prefix := k.make(b, t.URI("m"), "prefix")
				got := arg(b.metaCall(p("match"), protocol.List{t.URI("m.sub")}, nil).Args, 0)
				if !sameValue(got, int64(prefix)) && !idIn(got, prefix) {
					t.Fatalf("%s(%s) is %v, want %d", p("match"), t.URI("m.sub"), got, prefix)
				}
				if none := arg(b.metaCall(p("match"), protocol.List{t.URI("other")}, nil).Args, 0); none != nil && !sameValue(none, protocol.List{}) {
					t.Fatalf("%s of a URI nothing matches is %v, want null", p("match"), none)
				}
			},
			Breaker: fakeResult(p("match"), nil),
		},
		{
			ID:      "meta." + k.kind + ".get",
			Title:   fmt.Sprintf("%s returns id, created (ISO 8601), uri and match of a %s", p("get"), k.kind),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				id := k.make(b, t.URI("g"), "prefix")
				d, ok := arg(b.metaCall(p("get"), protocol.List{id}, nil).Args, 0).(protocol.Dict)
				if !ok {
					t.Fatalf("%s did not return a dict", p("get"))
				}
				if !sameValue(d["id"], int64(id)) || d["uri"] != t.URI("g") || d["match"] != "prefix" || !isISO8601(d["created"]) {
					t.Fatalf("%s(%d) is %v, want id %d, uri %s, match prefix and an ISO 8601 created", p("get"), id, d, id, t.URI("g"))
				}
			},
			Breaker: fakeResult(p("get"), protocol.Dict{"id": int64(1), "uri": "x", "match": "exact", "created": "yesterday"}),
		},
		{
			ID:      "meta." + k.kind + ".get-unknown",
			Title:   fmt.Sprintf("%s of an id that does not exist fails with %s", p("get"), k.noSuch),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				b.metaError(p("get"), protocol.List{int64(4503599627370497)}, nil, k.noSuch)
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "meta." + k.kind + ".members",
			Title:   fmt.Sprintf("%s and %s list and count the sessions attached to a %s", p(k.listMembers), p(k.countMembers), k.kind),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				var id protocol.ID
				if k.kind == "registration" {
					id = a.Register(t.URI("shared"), protocol.Dict{"invoke": "roundrobin"})
					b.Register(t.URI("shared"), protocol.Dict{"invoke": "roundrobin"})
				} else {
					id = a.Subscribe(t.URI("shared"), nil)
					b.Subscribe(t.URI("shared"), nil)
				}
				list := arg(a.metaCall(p(k.listMembers), protocol.List{id}, nil).Args, 0)
				if !idIn(list, a.ID) || !idIn(list, b.ID) {
					t.Fatalf("%s is %v, want both sessions %d and %d", p(k.listMembers), list, a.ID, b.ID)
				}
				if n := arg(a.metaCall(p(k.countMembers), protocol.List{id}, nil).Args, 0); !sameValue(n, int64(2)) {
					t.Fatalf("%s is %v, want 2", p(k.countMembers), n)
				}
			},
			Breaker: fakeResult(p(k.countMembers), int64(1)),
		},
		{
			ID:      "meta." + k.kind + ".events",
			Title:   fmt.Sprintf("%s: %s precedes %s, and %s precedes on_delete", k.kind+" meta events", k.create, k.attach, k.detach),
			Section: k.section, Level: MUST, Feature: k.feature,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				names := []string{k.create, k.attach, k.detach, "on_delete"}
				subs := map[protocol.ID]string{}
				for _, n := range names {
					subs[a.Subscribe(p(n), nil)] = n
				}
				b := t.Join(JoinOptions{})
				id := k.make(b, t.URI("ev"), "exact")
				k.remove(b, id)
				var got []string
				deadline := time.Now().Add(t.Timeout())
				for len(got) < 4 && time.Now().Before(deadline) {
					ev := expect(a, "meta events", func(*protocol.Event) bool { return true })
					if len(ev.Args) < 2 || !sameValue(ev.Args[0], int64(b.ID)) {
						continue // another session's
					}
					name := subs[ev.Subscription]
					if name == k.create {
						d, _ := ev.Args[1].(protocol.Dict)
						if !sameValue(d["id"], int64(id)) {
							continue
						}
						if d["uri"] != t.URI("ev") {
							t.Fatalf("%s details %v, want uri %s", p(name), d, t.URI("ev"))
						}
					} else if !sameValue(ev.Args[1], int64(id)) {
						continue
					}
					got = append(got, name)
				}
				if !slices.Equal(got, names) {
					t.Fatalf("meta events came in the order %v, want %v", got, names)
				}
			},
			Breaker: swapCreate(),
		},
	}
}

// swapCreate delivers each on_create meta event (the one whose second
// argument is a dict) after the next meta event of the same session: a
// router that announces a registration or subscription before creating it.
func swapCreate() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		held := map[any]protocol.Message{}
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			ev, ok := m.(*protocol.Event)
			if !ok || len(ev.Args) < 2 {
				return true
			}
			key := fmt.Sprint(ev.Args[0])
			if _, isCreate := ev.Args[1].(protocol.Dict); isCreate && held[key] == nil {
				held[key] = ev
				return false
			}
			if h := held[key]; h != nil {
				delete(held, key)
				f.Inject(fault.ToClient, ev)
				f.Inject(fault.ToClient, h)
				return false
			}
			return true
		}
	})
}

func metaScenarios() []*Scenario {
	out := sessionMetaScenarios()
	out = append(out, regMeta.scenarios()...)
	out = append(out, subMeta.scenarios()...)
	return out
}

// arg is the i-th element of l, or nil.
func arg(l protocol.List, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}
