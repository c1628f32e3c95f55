package scenario

import (
	"fmt"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

func testamentScenarios() []*Scenario {
	const feat = "dealer.testament_meta_api"
	const add, flush = "wamp.session.add_testament", "wamp.session.flush_testaments"
	// watch subscribes a session to the testament topic and joins the
	// session whose testaments it watches.
	watch := func(t *T) (s *Session, sub protocol.ID, a *Session) {
		s = t.Join(JoinOptions{})
		return s, s.Subscribe(t.URI("testament"), nil), t.Join(JoinOptions{})
	}
	// addTestament has a add a testament to t.URI("testament") whose only
	// argument is arg (with no keyword arguments).
	addTestament := func(t *T, a *Session, arg string, opts protocol.Dict) {
		a.metaCall(add, protocol.List{t.URI("testament"), protocol.List{arg}, protocol.Dict{}}, opts)
	}
	// testaments checks the next events' first arguments.
	testaments := func(t *T, s *Session, sub protocol.ID, want ...string) {
		for _, w := range want {
			ev := s.ExpectEvent(sub)
			if len(ev.Args) == 0 || ev.Args[0] != w {
				t.Fatalf("testament event %s, want one with first argument %q", describe(ev), w)
			}
		}
	}
	return []*Scenario{
		{
			ID:      "testament.destroyed",
			Title:   "A testament is published when its session's connection is lost, with its arguments and keyword arguments",
			Section: secTestament, Level: MUST, Feature: feat,
			Run: func(t *T) {
				s, sub, a := watch(t)
				a.metaCall(add, protocol.List{t.URI("testament"), protocol.List{"Seeya!"}, protocol.Dict{"my_name": "app1"}}, nil)
				a.Abandon()
				ev := s.ExpectEvent(sub)
				samePayload(t, "testament EVENT", protocol.List{"Seeya!"}, ev.Args, protocol.Dict{"my_name": "app1"}, ev.Kwargs)
			},
			Breaker: fakeResult(add),
		},
		{
			ID:      "testament.goodbye",
			Title:   "A testament is published when its session leaves with GOODBYE",
			Section: secTestament, Level: MUST, Feature: feat,
			Run: func(t *T) {
				s, sub, a := watch(t)
				addTestament(t, a, "bye", nil)
				a.Leave()
				testaments(t, s, sub, "bye")
			},
			Breaker: fakeResult(add),
		},
		{
			ID:      "testament.flush",
			Title:   "wamp.session.flush_testaments removes the session's testaments: only those added later are published",
			Section: secTestament, Level: MUST, Feature: feat,
			Run: func(t *T) {
				s, sub, a := watch(t)
				addTestament(t, a, "flushed", nil)
				a.metaCall(flush, nil, nil)
				addTestament(t, a, "kept", nil)
				a.Leave()
				testaments(t, s, sub, "kept")
			},
			Breaker: fakeResult(flush),
		},
		{
			ID:      "testament.order",
			Title:   "Testaments are published in the order they were added, detached-scope ones before destroyed-scope ones",
			Section: secTestament, Level: MUST, Feature: feat,
			Run: func(t *T) {
				s, sub, a := watch(t)
				addTestament(t, a, "destroyed 1", nil)
				addTestament(t, a, "destroyed 2", nil)
				addTestament(t, a, "detached", protocol.Dict{"scope": "detached"})
				a.Abandon()
				testaments(t, s, sub, "detached", "destroyed 1", "destroyed 2")
			},
			Breaker: holdFirst(isEvent),
		},
		{
			ID:      "testament.bad-scope",
			Title:   "wamp.session.add_testament with a scope other than detached or destroyed fails with ERROR",
			Section: secTestament, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				req := a.Call(add, nil, protocol.List{t.URI("testament"), protocol.List{}, protocol.Dict{}}, protocol.Dict{"scope": "forever"})
				a.ExpectError(protocol.CodeCall, req, "")
			},
			Breaker: fakeResult(add),
		},
	}
}

// ppt are the payload passthru options the scenarios use.
var ppt = protocol.Dict{"ppt_scheme": "x_conformance", "ppt_serializer": "native"}

// pptPayload is the opaque payload: one binary argument.
var pptPayload = protocol.List{[]byte("\x00opaque \xff payload")}

func withPPT(d protocol.Dict) protocol.Dict {
	out := protocol.Dict{}
	for k, v := range ppt {
		out[k] = v
	}
	for k, v := range d {
		out[k] = v
	}
	return out
}

func hasPPT(t *T, what string, d protocol.Dict) {
	for k, v := range ppt {
		if d[k] != v {
			t.Fatalf("%s: Details.%s is %v, want %v", what, k, d[k], v)
		}
	}
}

func pptScenarios() []*Scenario {
	const rpc, ps = "dealer.payload_passthru_mode", "broker.payload_passthru_mode"
	without := func(role string) protocol.Dict { return Roles(role + ".payload_passthru_mode") }
	return []*Scenario{
		{
			ID:      "ppt.call",
			Title:   "With payload passthru, CALL's ppt_* options reach the callee in INVOCATION.Details and YIELD's the caller in RESULT.Details, with the payload untouched",
			Section: secPPT, Level: MUST, Feature: rpc,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.Call(t.URI("p"), withPPT(nil), pptPayload, nil)
				inv := b.ExpectInvocation(reg)
				hasPPT(t, "INVOCATION", inv.Details)
				samePayload(t, "INVOCATION", pptPayload, inv.Args, nil, inv.Kwargs)
				b.Yield(inv.Request, withPPT(nil), pptPayload, nil)
				res := a.ExpectResult(req)
				hasPPT(t, "RESULT", res.Details)
				samePayload(t, "RESULT", pptPayload, res.Args, nil, res.Kwargs)
			},
			Breaker: stripDetail(isInvocation, "ppt_scheme"),
		},
		{
			ID:      "ppt.error",
			Title:   "With payload passthru, a callee's ERROR keeps its ppt_* details and payload on the way to the caller",
			Section: secPPT, Level: MUST, Feature: rpc,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.Call(t.URI("p"), withPPT(nil), pptPayload, nil)
				inv := b.ExpectInvocation(reg)
				uri := t.URI("error.opaque")
				b.Send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, Details: withPPT(nil), URI: uri, Args: pptPayload})
				e := a.ExpectError(protocol.CodeCall, req, uri)
				hasPPT(t, "ERROR", e.Details)
				samePayload(t, "ERROR", pptPayload, e.Args, nil, e.Kwargs)
			},
			Breaker: stripDetail(fault.Is[*protocol.Error], "ppt_scheme"),
		},
		{
			ID:      "ppt.publish",
			Title:   "With payload passthru, PUBLISH's ppt_* options reach subscribers in EVENT.Details, with the payload untouched",
			Section: secPPT, Level: MUST, Feature: ps,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				p.PublishAck(t.URI("t"), withPPT(nil), pptPayload, nil)
				ev := s.ExpectEvent(sub)
				hasPPT(t, "EVENT", ev.Details)
				samePayload(t, "EVENT", pptPayload, ev.Args, nil, ev.Kwargs)
			},
			Breaker: stripDetail(isEvent, "ppt_scheme"),
		},
		{
			ID:      "ppt.callee-unsupported",
			Title:   "A passthru CALL to a callee without payload_passthru_mode fails with ERROR wamp.error.feature_not_supported",
			Section: secPPT, Level: MUST, Feature: rpc,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{Roles: without("callee")})
				b.Register(t.URI("p"), nil)
				req := a.Call(t.URI("p"), withPPT(nil), pptPayload, nil)
				a.ExpectError(protocol.CodeCall, req, "wamp.error.feature_not_supported")
			},
			Breaker: addHelloFeatures("callee.payload_passthru_mode"),
		},
		{
			ID:      "ppt.caller-unannounced",
			Title:   "A passthru CALL from a caller that did not announce payload_passthru_mode is a protocol violation",
			Section: secPPT, Level: MUST, Feature: rpc,
			Run: func(t *T) {
				a := t.Join(JoinOptions{Roles: without("caller")})
				a.Call(t.URI("p"), withPPT(nil), pptPayload, nil)
				a.Violation("a passthru CALL without the feature announced")
			},
			Breaker: addHelloFeatures("caller.payload_passthru_mode"),
		},
		{
			ID:      "ppt.publisher-unannounced",
			Title:   "A passthru PUBLISH from a publisher that did not announce payload_passthru_mode is a protocol violation",
			Section: secPPT, Level: MUST, Feature: ps,
			Run: func(t *T) {
				a := t.Join(JoinOptions{Roles: without("publisher")})
				a.Publish(t.URI("t"), withPPT(protocol.Dict{"acknowledge": true}), pptPayload, nil)
				a.Violation("a passthru PUBLISH without the feature announced")
			},
			Breaker: addHelloFeatures("publisher.payload_passthru_mode"),
		},
	}
}

func progressiveInvocationScenarios() []*Scenario {
	const feat = "dealer.progressive_call_invocations"
	// stream sends chunks as CALLs with one request ID, all but the last
	// with progress true.
	stream := func(a *Session, proc string, req protocol.ID, chunks ...string) {
		for i, c := range chunks {
			opts := protocol.Dict{}
			if i < len(chunks)-1 {
				opts["progress"] = true
			}
			a.Send(&protocol.Call{Request: req, Options: opts, Procedure: proc, Args: protocol.List{c}})
		}
	}
	// receive expects the chunks as INVOCATIONs with one request ID.
	receive := func(t *T, b *Session, reg protocol.ID, chunks ...string) protocol.ID {
		var req protocol.ID
		for i, c := range chunks {
			inv := b.ExpectInvocation(reg)
			if i == 0 {
				req = inv.Request
			} else if inv.Request != req {
				t.Fatalf("chunk %d came as INVOCATION %d, the first as %d: one call, one request ID", i+1, inv.Request, req)
			}
			last := i == len(chunks)-1
			if p := inv.Details["progress"] == true; p == last {
				t.Fatalf("chunk %d has Details.progress %v, want %v", i+1, inv.Details["progress"], !last)
			}
			samePayload(t, fmt.Sprint("chunk ", i+1), protocol.List{c}, inv.Args, nil, inv.Kwargs)
		}
		return req
	}
	return []*Scenario{
		{
			ID:      "rpc.progressive-call.chunks",
			Title:   "CALLs with progress true and one request ID reach the callee as INVOCATIONs with one request ID, progress true on all but the last",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.NextID()
				stream(a, t.URI("p"), req, "one", "two", "three")
				inv := receive(t, b, reg, "one", "two", "three")
				b.Yield(inv, protocol.Dict{}, protocol.List{"got 3"}, nil)
				a.ExpectResult(req)
			},
			Breaker: fault.Messages(func() fault.MessageRule {
				n := 0
				return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
					if inv, ok := m.(*protocol.Invocation); ok {
						if n++; n == 2 {
							inv.Request++
							f.Inject(fault.ToClient, inv)
							return false
						}
					}
					return true
				}
			}),
		},
		{
			ID:      "rpc.progressive-call.same-callee",
			Title:   "All chunks of a progressive call go to the callee that got the first one, even with a shared (roundrobin) registration",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				callees, regs := sharedCallees(t, "roundrobin", 2)
				a := t.Join(JoinOptions{})
				req := a.NextID()
				stream(a, t.URI("p"), req, "one", "two")
				inv := receive(t, callees[0], regs[0], "one", "two")
				callees[0].Yield(inv, protocol.Dict{}, nil, nil)
				a.ExpectResult(req)
			},
			Breaker: fault.DropFirst(fault.ToClient, func(m protocol.Message) bool {
				inv, ok := m.(*protocol.Invocation)
				return ok && inv.Details["progress"] != true
			}),
		},
		{
			ID:      "rpc.progressive-call.caller-unannounced",
			Title:   "A CALL with progress true from a caller that did not announce progressive_call_invocations is a protocol violation",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				b.Register(t.URI("p"), nil)
				a := t.Join(JoinOptions{Roles: Roles("caller.progressive_call_invocations")})
				a.Send(&protocol.Call{Request: a.NextID(), Options: protocol.Dict{"progress": true}, Procedure: t.URI("p")})
				a.Violation("a progressive CALL without the feature announced")
			},
			Breaker: addHelloFeatures("caller.progressive_call_invocations"),
		},
		{
			ID:      "rpc.progressive-call.callee-unsupported",
			Title:   "A progressive CALL to a callee without progressive_call_invocations fails with ERROR wamp.error.feature_not_supported",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				b := t.Join(JoinOptions{Roles: Roles("callee.progressive_call_invocations")})
				b.Register(t.URI("p"), nil)
				a := t.Join(JoinOptions{})
				req := a.NextID()
				a.Send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: t.URI("p")})
				a.ExpectError(protocol.CodeCall, req, "wamp.error.feature_not_supported")
			},
			Breaker: addHelloFeatures("callee.progressive_call_invocations"),
		},
		{
			ID:      "rpc.progressive-call.late-chunk",
			Title:   "A progressive CALL chunk for a call that already ended is discarded without a reply",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.NextID()
				a.Send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: t.URI("p"), Args: protocol.List{"one"}})
				inv := b.ExpectInvocation(reg)
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"done early"}, nil)
				a.ExpectResult(req)
				a.Send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: t.URI("p"), Args: protocol.List{"late"}})
				a.Sync("after a chunk for a finished call")
				b.Sync("after a chunk for a finished call")
			},
			Breaker: fault.Messages(func() fault.MessageRule {
				done := map[protocol.ID]bool{}
				return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
					switch m := m.(type) {
					case *protocol.Result:
						done[m.Request] = true
					case *protocol.Call:
						if done[m.Request] {
							f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodeCall, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
							return false
						}
					}
					return true
				}
			}),
		},
		{
			ID:      "rpc.progressive-call.caller-leaving",
			Title:   "When the caller leaves during a progressive call, the callee gets INTERRUPT with mode killnowait",
			Section: secProgInvoke, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				a.Send(&protocol.Call{Request: a.NextID(), Options: protocol.Dict{"progress": true}, Procedure: t.URI("p"), Args: protocol.List{"one"}})
				inv := b.ExpectInvocation(reg)
				a.Abandon()
				expectInterruptMode(t, b, inv.Request, "killnowait")
			},
			Breaker: interruptMode("kill"),
		},
	}
}

func moreAdvancedScenarios() []*Scenario {
	var out []*Scenario
	out = append(out, testamentScenarios()...)
	out = append(out, pptScenarios()...)
	out = append(out, progressiveInvocationScenarios()...)
	return out
}
