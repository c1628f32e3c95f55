package scenario

import (
	"fmt"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// canceled are the spellings of the "call canceled" error: the Basic
// Profile text says wamp.error.cancelled once, everything else (and every
// implementation) wamp.error.canceled.
var canceled = []string{"wamp.error.canceled", "wamp.error.cancelled"}

// errToRegistered turns an ERROR for a REGISTER into REGISTERED (a dealer
// that accepts what it must refuse).
func errToRegistered() fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeRegister {
			return &protocol.Registered{Request: e.Request, Registration: 424242}, true
		}
		return nil, false
	})
}

// rewriteError changes the URI of every ERROR for a request of type typ.
func rewriteError(typ protocol.Code, uri string) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if e, ok := m.(*protocol.Error); ok && e.RequestType == typ {
			e.URI = uri
			return e, true
		}
		return nil, false
	})
}

// fakeReply answers client requests of the type match accepts itself,
// with reply, without telling the router.
func fakeReply(match func(protocol.Message) bool, reply func(protocol.Message) protocol.Message) fault.Breaker {
	return fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
		if !match(m) {
			return nil, false
		}
		if r := reply(m); r != nil {
			f.Inject(fault.ToClient, r)
		}
		return nil, true
	})
}

// holdFirst holds the first message going to the client that match accepts
// and delivers it right after the next one that match accepts (a router
// that reorders).
func holdFirst(match func(protocol.Message) bool) fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		var held protocol.Message
		done := false
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			if dir != fault.ToClient || done || !match(m) {
				return true
			}
			if held == nil {
				held = m
				return false
			}
			done = true
			f.Inject(fault.ToClient, m)
			f.Inject(fault.ToClient, held)
			return false
		}
	})
}

// echo answers the next INVOCATION of reg with its own arguments and
// returns it.
func (s *Session) echo(reg protocol.ID) *protocol.Invocation {
	inv := s.ExpectInvocation(reg)
	s.Yield(inv.Request, protocol.Dict{}, inv.Args, inv.Kwargs)
	return inv
}

func rpcScenarios() []*Scenario {
	return []*Scenario{
		{
			ID:      "rpc.register",
			Title:   "REGISTER is answered with REGISTERED carrying the REGISTER's request ID and a registration ID",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Register(t.URI("p"), nil)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Registered); ok {
					r.Request += 100
					return r, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.register.duplicate",
			Title:   "REGISTER of a procedure another session registered is refused with ERROR wamp.error.procedure_already_exists",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				proc := t.URI("p")
				a.Register(proc, nil)
				req := b.NextID()
				b.Send(&protocol.Register{Request: req, Options: protocol.Dict{}, Procedure: proc})
				b.ExpectError(protocol.CodeRegister, req, "wamp.error.procedure_already_exists")
			},
			Breaker: errToRegistered(),
		},
		{
			ID:      "rpc.register.duplicate-same-session",
			Title:   "REGISTER of a procedure the same session registered is refused with ERROR wamp.error.procedure_already_exists",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				proc := t.URI("p")
				a.Register(proc, nil)
				req := a.NextID()
				a.Send(&protocol.Register{Request: req, Options: protocol.Dict{}, Procedure: proc})
				a.ExpectError(protocol.CodeRegister, req, "wamp.error.procedure_already_exists")
			},
			Breaker: errToRegistered(),
		},
		{
			ID:      "rpc.unregister",
			Title:   "UNREGISTER is answered with UNREGISTERED and frees the procedure",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				proc := t.URI("p")
				reg := a.Register(proc, nil)
				a.Unregister(reg)
				b := t.Join(JoinOptions{})
				b.Register(proc, nil)
			},
			Breaker: fakeReply(fault.Is[*protocol.Unregister], func(m protocol.Message) protocol.Message {
				return &protocol.Unregistered{Request: m.(*protocol.Unregister).Request}
			}),
		},
		{
			ID:      "rpc.unregister.unknown",
			Title:   "UNREGISTER of a registration that does not exist is refused with ERROR wamp.error.no_such_registration",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				req := s.NextID()
				s.Send(&protocol.Unregister{Request: req, Registration: 1234567})
				s.ExpectError(protocol.CodeUnregister, req, "wamp.error.no_such_registration")
			},
			Breaker: rewriteError(protocol.CodeUnregister, "wamp.error.invalid_argument"),
		},
		{
			ID:      "rpc.unregister.twice",
			Title:   "A second UNREGISTER of the same registration is refused with ERROR wamp.error.no_such_registration",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				reg := s.Register(t.URI("p"), nil)
				s.Unregister(reg)
				req := s.NextID()
				s.Send(&protocol.Unregister{Request: req, Registration: reg})
				s.ExpectError(protocol.CodeUnregister, req, "wamp.error.no_such_registration")
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeUnregister {
					return &protocol.Unregistered{Request: e.Request}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.unregister.foreign",
			Title:   "A session cannot unregister another session's registration: ERROR wamp.error.no_such_registration, the registration stays",
			Section: secRegistering, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				proc := t.URI("p")
				reg := a.Register(proc, nil)
				req := b.NextID()
				b.Send(&protocol.Unregister{Request: req, Registration: reg})
				b.ExpectError(protocol.CodeUnregister, req, "wamp.error.no_such_registration")
				call := b.Call(proc, nil, protocol.List{"still there?"}, nil)
				a.echo(reg)
				b.ExpectResult(call)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeUnregister {
					return &protocol.Unregistered{Request: e.Request}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.call.no-such-procedure",
			Title:   "CALL of a procedure nobody registered is answered with ERROR wamp.error.no_such_procedure",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				req := s.Call(t.URI("missing"), nil, nil, nil)
				s.ExpectError(protocol.CodeCall, req, "wamp.error.no_such_procedure")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.invalid_uri"),
		},
		{
			ID:      "rpc.call",
			Title:   "CALL reaches the callee as INVOCATION (the registration ID, the caller's arguments unchanged) and its YIELD comes back as RESULT for the CALL's request ID",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("echo"), nil)
				req := a.Call(t.URI("echo"), nil, richArgs, richKwargs)
				inv := b.ExpectInvocation(reg)
				samePayload(t, "INVOCATION", richArgs, inv.Args, richKwargs, inv.Kwargs)
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"result", int64(1)}, protocol.Dict{"ok": true})
				res := a.ExpectResult(req)
				samePayload(t, "RESULT", protocol.List{"result", int64(1)}, res.Args, protocol.Dict{"ok": true}, res.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if inv, ok := m.(*protocol.Invocation); ok && len(inv.Args) > 1 {
					inv.Args = inv.Args[1:]
					return inv, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.call.no-payload",
			Title:   "A CALL without arguments and a YIELD without results work: INVOCATION and RESULT carry none",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, nil)
				samePayload(t, "INVOCATION", nil, inv.Args, nil, inv.Kwargs)
				b.Yield(inv.Request, protocol.Dict{}, nil, nil)
				res := a.ExpectResult(req)
				samePayload(t, "RESULT", nil, res.Args, nil, res.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Result); ok {
					r.Args = protocol.List{nil}
					return r, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.call.kwargs-only",
			Title:   "Keyword arguments without positional ones reach the callee, and keyword results the caller",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				kw := protocol.Dict{"firstname": "John", "surname": "Doe"}
				req := a.Call(t.URI("p"), nil, nil, kw)
				inv := b.ExpectInvocation(reg)
				samePayload(t, "INVOCATION", nil, inv.Args, kw, inv.Kwargs)
				b.Yield(inv.Request, protocol.Dict{}, nil, protocol.Dict{"userid": int64(123)})
				res := a.ExpectResult(req)
				samePayload(t, "RESULT", nil, res.Args, protocol.Dict{"userid": int64(123)}, res.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if inv, ok := m.(*protocol.Invocation); ok {
					inv.Kwargs = nil
					return inv, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.call.error",
			Title:   "A callee's ERROR for an INVOCATION reaches the caller as ERROR for the CALL with the same URI, arguments and keyword arguments",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, nil)
				uri := t.URI("error.object_write_protected")
				b.Send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, Details: protocol.Dict{}, URI: uri,
					Args: protocol.List{"Object is write protected."}, Kwargs: protocol.Dict{"severity": int64(3)}})
				e := a.ExpectError(protocol.CodeCall, req, uri)
				samePayload(t, "ERROR", protocol.List{"Object is write protected."}, e.Args, protocol.Dict{"severity": int64(3)}, e.Kwargs)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeCall {
					e.Kwargs = nil
					return e, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.call.concurrent",
			Title:   "Outstanding calls are answered by request ID, whatever order the callee answers in",
			Section: secCalling, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				r1 := a.Call(t.URI("p"), nil, protocol.List{"one"}, nil)
				r2 := a.Call(t.URI("p"), nil, protocol.List{"two"}, nil)
				i1 := b.ExpectInvocation(reg)
				i2 := b.ExpectInvocation(reg)
				b.Yield(i2.Request, protocol.Dict{}, i2.Args, nil)
				b.Yield(i1.Request, protocol.Dict{}, i1.Args, nil)
				got := map[protocol.ID]any{}
				for range 2 {
					res := expect(a, "two RESULTs", func(m *protocol.Result) bool { return true })
					got[res.Request] = res.Args
				}
				samePayload(t, fmt.Sprintf("RESULT of CALL %d", r1), protocol.List{"one"}, asList(got[r1]), nil, nil)
				samePayload(t, fmt.Sprintf("RESULT of CALL %d", r2), protocol.List{"two"}, asList(got[r2]), nil, nil)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Result); ok && len(r.Args) == 1 && r.Args[0] == "two" {
					r.Request--
					return r, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.ordering",
			Title:   "Invocations from one caller reach one callee in call order, across procedures",
			Section: secOrdering, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				r1 := b.Register(t.URI("p1"), nil)
				r2 := b.Register(t.URI("p2"), nil)
				for i := range 10 {
					proc := t.URI("p1")
					if i%2 == 1 {
						proc = t.URI("p2")
					}
					a.Call(proc, nil, protocol.List{int64(i)}, nil)
				}
				for i := range 10 {
					inv := expect(b, fmt.Sprintf("INVOCATION %d of 10", i+1), func(m *protocol.Invocation) bool { return true })
					want := r1
					if i%2 == 1 {
						want = r2
					}
					if inv.Registration != want || len(inv.Args) != 1 || !sameValue(inv.Args[0], int64(i)) {
						t.Fatalf("invocation %d is %s, want call %d (registration %d)", i+1, describe(inv), i, want)
					}
				}
			},
			Breaker: holdFirst(fault.Is[*protocol.Invocation]),
		},
		{
			ID:      "rpc.invocation.request-ids",
			Title:   "INVOCATION request IDs, the router's session-scope IDs towards a callee, start at 1 and go up by 1",
			Section: secIDs, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				for i := range 3 {
					req := a.Call(t.URI("p"), nil, nil, nil)
					inv := b.ExpectInvocation(reg)
					if inv.Request != protocol.ID(i+1) {
						t.Fatalf("INVOCATION %d has request ID %d, want %d", i+1, inv.Request, i+1)
					}
					b.Yield(inv.Request, protocol.Dict{}, nil, nil)
					a.ExpectResult(req)
				}
			},
			Breaker: shiftInvocationIDs(),
		},
		{
			ID:      "rpc.callee-leaving",
			Title:   "When the callee disconnects during an invocation, the caller gets ERROR wamp.error.canceled",
			Section: secCalleeLeaving, Level: MUST,
			Run: func(t *T) {
				a, b, req, _ := invoke(t, nil, nil)
				b.Abandon()
				expectCanceled(t, a, req, "the caller got")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "rpc.callee-leaving.goodbye",
			Title:   "When the callee leaves with GOODBYE during an invocation, the caller gets ERROR wamp.error.canceled",
			Section: secCalleeLeaving, Level: MUST,
			Run: func(t *T) {
				a, b, req, _ := invoke(t, nil, nil)
				b.Leave()
				expectCanceled(t, a, req, "the caller got")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "rpc.caller-leaving.interrupt",
			Title:   "When the caller disconnects during an invocation, a callee announcing call_canceling gets INTERRUPT with mode killnowait",
			Section: secCallerLeaving, Level: MUST, Feature: "dealer.call_canceling",
			Run: func(t *T) {
				a, b, _, inv := invoke(t, nil, nil)
				a.Abandon()
				expectInterruptMode(t, b, inv.Request, "killnowait")
			},
			Breaker: interruptMode("kill"),
		},
		{
			ID:      "rpc.caller-leaving.no-interrupt",
			Title:   "When the caller disconnects, a callee without call_canceling gets no INTERRUPT, and its late YIELD is discarded quietly",
			Section: secCallerLeaving, Level: MUST,
			Run: func(t *T) {
				a, b, _, inv := invoke(t, Roles("callee.call_canceling", "callee.progressive_call_results", "callee.progressive_call_invocations"), nil)
				a.Abandon()
				if f := b.Quiet(); f != nil {
					t.Fatalf("a callee without call_canceling got %s after its caller left", b.Describe(f))
				}
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"late"}, nil)
				b.Sync("after a late YIELD")
			},
			Breaker: fault.RewriteFlow(fault.ToClient, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if inv, ok := m.(*protocol.Invocation); ok {
					f.InjectAfter(50*time.Millisecond, fault.ToClient, &protocol.Interrupt{Request: inv.Request, Options: protocol.Dict{"mode": "killnowait"}})
				}
				return nil, false
			}),
		},
	}
}

func asList(v any) protocol.List {
	l, _ := v.(protocol.List)
	return l
}

// shiftInvocationIDs numbers INVOCATIONs from 100 and maps YIELDs back (a
// dealer with one request counter for all callees).
func shiftInvocationIDs() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Invocation:
				m.Request += 100
				f.Inject(fault.ToClient, m)
				return false
			case *protocol.Yield:
				m.Request -= 100
				f.Inject(fault.ToRouter, m)
				return false
			}
			return true
		}
	})
}
