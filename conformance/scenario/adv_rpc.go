package scenario

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// invoke joins a caller and a callee (with the callee's roles, nil for
// all), has the callee register t.URI("p") and the caller call it with opts
// and no payload, and returns both, the call's request ID and the
// INVOCATION.
func invoke(t *T, calleeRoles protocol.Dict, opts protocol.Dict) (a, b *Session, req protocol.ID, inv *protocol.Invocation) {
	a = t.Join(JoinOptions{})
	b = t.Join(JoinOptions{Roles: calleeRoles})
	reg := b.Register(t.URI("p"), nil)
	req = a.Call(t.URI("p"), opts, nil, nil)
	inv = b.ExpectInvocation(reg)
	return a, b, req, inv
}

var progress = protocol.Dict{"progress": true}

// stripDetail deletes a key from the Details of messages going to the
// client that match.
func stripDetail(match func(protocol.Message) bool, key string) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if !match(m) {
			return nil, false
		}
		d := dictOf(m)
		if _, ok := d[key]; !ok {
			return nil, false
		}
		delete(d, key)
		return m, true
	})
}

// setOption changes an option of client requests that match.
func setOption(match func(protocol.Message) bool, key string, value any) fault.Breaker {
	return fault.Rewrite(fault.ToRouter, func(m protocol.Message) (protocol.Message, bool) {
		if !match(m) {
			return nil, false
		}
		o := dictOf(m)
		if o == nil {
			return nil, false
		}
		if value == nil {
			delete(o, key)
		} else {
			o[key] = value
		}
		return m, true
	})
}

// addHelloFeatures adds "role.feature" flags to every HELLO (a router that
// believes a client supports what it did not announce).
func addHelloFeatures(features ...string) fault.Breaker {
	return fault.Rewrite(fault.ToRouter, func(m protocol.Message) (protocol.Message, bool) {
		h, ok := m.(*protocol.Hello)
		if !ok {
			return nil, false
		}
		roles, _ := h.Details["roles"].(protocol.Dict)
		for _, rf := range features {
			role, f, _ := strings.Cut(rf, ".")
			r, _ := roles[role].(protocol.Dict)
			if r == nil {
				continue
			}
			fs, _ := r["features"].(protocol.Dict)
			if fs == nil {
				fs = protocol.Dict{}
				r["features"] = fs
			}
			fs[f] = true
		}
		return h, true
	})
}

// isCall matches CALLs; isInvocation INVOCATIONs; and so on.
var (
	isCall       = fault.Is[*protocol.Call]
	isResult     = fault.Is[*protocol.Result]
	isInvocation = fault.Is[*protocol.Invocation]
	isEvent      = fault.Is[*protocol.Event]
	isPublish    = fault.Is[*protocol.Publish]
	isRegister   = fault.Is[*protocol.Register]
	isSubscribe  = fault.Is[*protocol.Subscribe]
	isCancel     = fault.Is[*protocol.Cancel]
)

func isProgressResult(m protocol.Message) bool {
	r, ok := m.(*protocol.Result)
	return ok && r.Details["progress"] == true
}

// timeoutWholeCall emulates a dealer whose CALL timeout bounds the whole
// call instead of the time between results: it fails the call with ERROR
// wamp.error.timeout when the timeout passes after the CALL.
func timeoutWholeCall() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		var mu sync.Mutex
		expired := map[protocol.ID]bool{}
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Call:
				if ms, ok := m.Options["timeout"].(int64); ok && ms > 0 && dir == fault.ToRouter {
					req := m.Request
					time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
						mu.Lock()
						expired[req] = true
						mu.Unlock()
						f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodeCall, Request: req, Details: protocol.Dict{}, URI: "wamp.error.timeout"})
					})
				}
			case *protocol.Result:
				mu.Lock()
				defer mu.Unlock()
				return !expired[m.Request]
			}
			return true
		}
	})
}

func progressiveResultScenarios() []*Scenario {
	const feat = "dealer.progressive_call_results"
	return []*Scenario{
		{
			ID:      "rpc.progress.results",
			Title:   "Progressive YIELDs reach a caller that asked for them as RESULTs with progress true, in order, then the final RESULT without it",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				for i := range 3 {
					b.Yield(inv.Request, progress, protocol.List{"Y201" + fmt.Sprint(i), int64(i)}, nil)
				}
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"Total", int64(3)}, nil)
				for i := range 3 {
					r := a.ExpectResult(req)
					if r.Details["progress"] != true {
						t.Fatalf("result %d is %s, want a progressive RESULT", i+1, describe(r))
					}
					samePayload(t, fmt.Sprintf("progressive result %d", i+1), protocol.List{"Y201" + fmt.Sprint(i), int64(i)}, r.Args, nil, r.Kwargs)
				}
				r := a.ExpectResult(req)
				if r.Details["progress"] == true {
					t.Fatalf("the final RESULT is marked progress: %s", describe(r))
				}
				samePayload(t, "final result", protocol.List{"Total", int64(3)}, r.Args, nil, r.Kwargs)
			},
			Breaker: stripDetail(isProgressResult, "progress"),
		},
		{
			ID:      "rpc.progress.forwarded",
			Title:   "CALL.Options.receive_progress reaches a callee that supports progressive results as INVOCATION.Details.receive_progress",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				_, _, _, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				if inv.Details["receive_progress"] != true {
					t.Fatalf("INVOCATION.Details has no receive_progress: %s", describe(inv))
				}
			},
			Breaker: stripDetail(isInvocation, "receive_progress"),
		},
		{
			ID:      "rpc.progress.not-forwarded",
			Title:   "receive_progress is not forwarded to a callee that does not announce progressive_call_results",
			Section: secProgResults, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				_, _, _, inv := invoke(t, Roles("callee.progressive_call_results"), protocol.Dict{"receive_progress": true})
				if inv.Details["receive_progress"] == true {
					t.Fatalf("a callee without progressive_call_results got receive_progress: %s", describe(inv))
				}
			},
			Breaker: addHelloFeatures("callee.progressive_call_results"),
		},
		{
			ID:      "rpc.progress.empty",
			Title:   "Empty progressive results and an empty final result are delivered",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				b.Yield(inv.Request, progress, nil, nil)
				b.Yield(inv.Request, progress, nil, nil)
				b.Yield(inv.Request, protocol.Dict{}, nil, nil)
				for i := range 2 {
					if r := a.ExpectResult(req); r.Details["progress"] != true || len(r.Args) > 0 {
						t.Fatalf("result %d is %s, want an empty progressive RESULT", i+1, describe(r))
					}
				}
				if r := a.ExpectResult(req); r.Details["progress"] == true {
					t.Fatalf("want the final RESULT, got %s", describe(r))
				}
			},
			Breaker: fault.Drop(fault.ToClient, func(m protocol.Message) bool {
				r, ok := m.(*protocol.Result)
				return ok && r.Details["progress"] == true && len(r.Args) == 0
			}),
		},
		{
			ID:      "rpc.progress.final-error",
			Title:   "A call with progressive results may end in ERROR: the caller gets the progressive RESULTs, then the ERROR",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				b.Yield(inv.Request, progress, protocol.List{"partial"}, nil)
				uri := t.URI("error.invalid_revenue_year")
				b.Send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, Details: protocol.Dict{}, URI: uri, Args: protocol.List{int64(1830)}})
				if r := a.ExpectResult(req); r.Details["progress"] != true {
					t.Fatalf("want a progressive RESULT, got %s", describe(r))
				}
				a.ExpectError(protocol.CodeCall, req, uri)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.RequestType == protocol.CodeCall {
					return &protocol.Result{Request: e.Request, Details: protocol.Dict{}}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.progress.caller-leaving",
			Title:   "When the caller leaves during progressive results, the callee gets INTERRUPT with mode killnowait",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, _, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				b.Yield(inv.Request, progress, protocol.List{"partial"}, nil)
				a.Abandon()
				expectInterruptMode(t, b, inv.Request, "killnowait")
			},
			Breaker: interruptMode("skip"),
		},
		{
			ID:      "rpc.progress.callee-leaving",
			Title:   "When the callee leaves during progressive results, the caller gets ERROR wamp.error.canceled",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, protocol.Dict{"receive_progress": true})
				b.Yield(inv.Request, progress, protocol.List{"partial"}, nil)
				a.ExpectResult(req)
				b.Abandon()
				expectCanceled(t, a, req, "the caller got")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "rpc.progress.timeout-between-results",
			Title:   "With a CALL timeout, the timeout bounds the time between results, not the whole call",
			Section: secProgResults, Level: MUST, Feature: feat,
			Run: func(t *T) {
				if !t.Announced("dealer.call_timeout") {
					t.Skipf("the router does not announce call_timeout")
				}
				// Results 500 ms apart, 2.5 s in all, with a 2 s timeout:
				// a timeout over the whole call fails it.
				a, b, req, inv := invoke(t, nil, protocol.Dict{"receive_progress": true, "timeout": int64(2000)})
				for i := range 5 {
					time.Sleep(500 * time.Millisecond)
					b.Yield(inv.Request, progress, protocol.List{int64(i)}, nil)
					if r := a.ExpectResult(req); r.Details["progress"] != true {
						t.Fatalf("want a progressive RESULT, got %s", describe(r))
					}
				}
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"done"}, nil)
				a.ExpectResult(req)
			},
			Breaker: timeoutWholeCall(),
		},
	}
}

func callTimeoutScenarios() []*Scenario {
	const feat = "dealer.call_timeout"
	return []*Scenario{
		{
			ID:      "rpc.timeout",
			Title:   "A CALL with timeout (milliseconds) whose callee does not answer ends with ERROR wamp.error.timeout, not before the timeout",
			Section: secCallTimeout, Level: MUST, Feature: feat,
			Run: func(t *T) {
				start := time.Now()
				a, _, req, _ := invoke(t, Roles("callee.call_timeout"), protocol.Dict{"timeout": int64(300)})
				a.ExpectError(protocol.CodeCall, req, "wamp.error.timeout")
				if d := time.Since(start); d < 300*time.Millisecond {
					t.Fatalf("the call timed out after %v, before its 300 ms", d)
				}
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.canceled"),
		},
		{
			ID:      "rpc.timeout.interrupt",
			Title:   "When the dealer times a call out, a callee supporting call canceling gets INTERRUPT with mode killnowait",
			Section: secCallTimeout, Level: MUST, Feature: feat,
			Run: func(t *T) {
				_, b, _, inv := invoke(t, Roles("callee.call_timeout"), protocol.Dict{"timeout": int64(200)})
				expectInterruptMode(t, b, inv.Request, "killnowait")
			},
			Breaker: interruptMode("kill"),
		},
		{
			ID:      "rpc.timeout.skip",
			Title:   "When the dealer times a call out, a callee without call canceling gets no INTERRUPT (mode skip), the caller ERROR wamp.error.timeout",
			Section: secCallTimeout, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, _ := invoke(t, Roles("callee.call_timeout", "callee.call_canceling", "callee.progressive_call_results", "callee.progressive_call_invocations"), protocol.Dict{"timeout": int64(200)})
				a.ExpectError(protocol.CodeCall, req, "wamp.error.timeout")
				b.Sync("after the timeout")
			},
			Breaker: fault.RewriteFlow(fault.ToClient, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if inv, ok := m.(*protocol.Invocation); ok {
					f.InjectAfter(50*time.Millisecond, fault.ToClient, &protocol.Interrupt{Request: inv.Request, Options: protocol.Dict{"mode": "skip"}})
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.timeout.zero",
			Title:   "A CALL timeout of 0 means no timeout",
			Section: secCallTimeout, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, Roles("callee.call_timeout"), protocol.Dict{"timeout": int64(0)})
				time.Sleep(300 * time.Millisecond)
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"late but fine"}, nil)
				a.ExpectResult(req)
			},
			Breaker: fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if c, ok := m.(*protocol.Call); ok && c.Options["timeout"] == int64(0) {
					f.InjectAfter(100*time.Millisecond, fault.ToClient, &protocol.Error{RequestType: protocol.CodeCall, Request: c.Request, Details: protocol.Dict{}, URI: "wamp.error.timeout"})
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.timeout.units",
			Title:   "CALL.Options.timeout is milliseconds and expiry is ERROR wamp.error.timeout, for any dealer acting on it (announcing call_timeout or not): timeout 3 fails a silent call well before 3 seconds",
			Section: secCallTimeout, Level: SHOULD,
			Run: func(t *T) {
				start := time.Now()
				a, _, req, _ := invoke(t, Roles("callee.call_timeout"), protocol.Dict{"timeout": int64(3)})
				f, err := a.NextFrame()
				if err != nil {
					if t.Announced(feat) {
						t.Fatalf("the router announces call_timeout but a call with timeout 3 (ms) did not end: %s", waitError(err, t.Timeout()))
					}
					return // the option is ignored, as a router without call_timeout may
				}
				e, ok := f.Msg.(*protocol.Error)
				if !ok || e.Request != req {
					t.Fatalf("waiting for the timeout, got %s", a.Describe(f))
				}
				d := time.Since(start)
				if e.URI != "wamp.error.timeout" || d >= 2*time.Second {
					t.Fatalf("a call with timeout 3 (3 ms) ended after %v with %s: the timeout is read as seconds and/or the error URI is not wamp.error.timeout", d.Round(time.Millisecond), describe(e))
				}
			},
			Breaker: fault.Rewrite(fault.ToRouter, func(m protocol.Message) (protocol.Message, bool) {
				if c, ok := m.(*protocol.Call); ok && c.Options["timeout"] == int64(3) {
					c.Options["timeout"] = int64(3000)
					return c, true
				}
				return nil, false
			}),
		},
	}
}

// cancelCall joins a caller and a callee (callee roles as given), has the
// caller call, the callee receive the INVOCATION, and the caller CANCEL
// with mode.
func cancelCall(t *T, calleeRoles protocol.Dict, mode string) (a, b *Session, req protocol.ID, inv *protocol.Invocation) {
	a, b, req, inv = invoke(t, calleeRoles, nil)
	a.Send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": mode}})
	return
}

// expectCanceled requires ERROR wamp.error.canceled for a's CALL req;
// what says how a failure begins ("the caller got").
func expectCanceled(t *T, a *Session, req protocol.ID, what string) {
	if e := a.ExpectError(protocol.CodeCall, req, ""); !slices.Contains(canceled, e.URI) {
		t.Fatalf("%s ERROR %q, want wamp.error.canceled", what, e.URI)
	}
}

func cancelScenarios() []*Scenario {
	const feat = "dealer.call_canceling"
	return []*Scenario{
		{
			ID:      "rpc.cancel.skip",
			Title:   "CANCEL with mode skip: the caller gets ERROR wamp.error.canceled at once, the callee no INTERRUPT, and its late result is discarded",
			Section: secCancel, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := cancelCall(t, nil, "skip")
				expectCanceled(t, a, req, "the canceled call ended with")
				b.Sync("after a CANCEL with mode skip")
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"late"}, nil)
				a.Sync("after the callee's late YIELD")
			},
			Breaker: setOption(isCancel, "mode", "kill"),
		},
		{
			ID:      "rpc.cancel.kill",
			Title:   "CANCEL with mode kill: the callee gets INTERRUPT (mode kill); the caller's ERROR comes only after the callee answered",
			Section: secCancel, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := cancelCall(t, nil, "kill")
				expectInterruptMode(t, b, inv.Request, "kill")
				a.Sync("before the callee answered the INTERRUPT")
				b.Send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
				expectCanceled(t, a, req, "the canceled call ended with")
			},
			Breaker: setOption(isCancel, "mode", "killnowait"),
		},
		{
			ID:      "rpc.cancel.kill-result",
			Title:   "CANCEL with mode kill: a callee that finishes anyway delivers its RESULT to the caller",
			Section: secCancel, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := cancelCall(t, nil, "kill")
				b.ExpectInterrupt(inv.Request)
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"finished first"}, nil)
				a.ExpectResult(req)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Result); ok {
					return &protocol.Error{RequestType: protocol.CodeCall, Request: r.Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.cancel.killnowait",
			Title:   "CANCEL with mode killnowait: the caller gets ERROR wamp.error.canceled at once, the callee INTERRUPT (mode killnowait), and its late result is discarded",
			Section: secCancel, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := cancelCall(t, nil, "killnowait")
				expectCanceled(t, a, req, "the canceled call ended with")
				expectInterruptMode(t, b, inv.Request, "killnowait")
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{"late"}, nil)
				a.Sync("after the callee's late YIELD")
			},
			Breaker: setOption(isCancel, "mode", "kill"),
		},
		{
			ID:      "rpc.cancel.callee-unsupported",
			Title:   "CANCEL with mode kill for a callee without call_canceling behaves as skip: ERROR wamp.error.canceled at once, no INTERRUPT",
			Section: secCancel, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a, b, req, _ := cancelCall(t, Roles("callee.call_canceling", "callee.progressive_call_results", "callee.progressive_call_invocations", "callee.call_timeout"), "kill")
				expectCanceled(t, a, req, "the canceled call ended with")
				b.Sync("after a CANCEL for a callee without call_canceling")
			},
			Breaker: addHelloFeatures("callee.call_canceling"),
		},
		{
			ID:      "rpc.cancel.unknown",
			Title:   "CANCEL of a call that does not exist is ignored: no reply, the session goes on",
			Section: secCancel, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Send(&protocol.Cancel{Request: 987654, Options: protocol.Dict{"mode": "kill"}})
				s.Sync("after CANCEL of an unknown call")
			},
			Breaker: fakeReply(isCancel, func(m protocol.Message) protocol.Message {
				return &protocol.Error{RequestType: protocol.CodeCall, Request: m.(*protocol.Cancel).Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"}
			}),
		},
		{
			ID:      "rpc.cancel.after-result",
			Title:   "CANCEL of a call that already returned is ignored: no second answer",
			Section: secCancel, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, nil)
				b.Yield(inv.Request, protocol.Dict{}, nil, nil)
				a.ExpectResult(req)
				a.Send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": "killnowait"}})
				a.Sync("after CANCEL of a finished call")
			},
			Breaker: fakeReply(isCancel, func(m protocol.Message) protocol.Message {
				return &protocol.Error{RequestType: protocol.CodeCall, Request: m.(*protocol.Cancel).Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"}
			}),
		},
	}
}

func callerIDScenarios() []*Scenario {
	const feat = "dealer.caller_identification"
	// disclosed checks INVOCATION.Details.caller (or a refusal).
	disclosed := func(t *T, a *Session, inv *protocol.Invocation) {
		if c, ok := inv.Details["caller"]; !ok || !sameValue(c, int64(a.ID)) {
			t.Fatalf("INVOCATION.Details.caller is %v, want the caller's session id %d", inv.Details["caller"], a.ID)
		}
	}
	return []*Scenario{
		{
			ID:      "rpc.caller-id.disclose-me",
			Title:   "CALL.Options.disclose_me puts the caller's session id in INVOCATION.Details.caller (or the dealer refuses with ERROR)",
			Section: secCallerID, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.Call(t.URI("p"), protocol.Dict{"disclose_me": true}, nil, nil)
				f, err := b.NextFrame()
				if err != nil {
					t.Fatalf("waiting for INVOCATION: %s", waitError(err, t.Timeout()))
				}
				inv, ok := f.Msg.(*protocol.Invocation)
				if !ok || inv.Registration != reg {
					t.Fatalf("waiting for INVOCATION, got %s", b.Describe(f))
				}
				_ = req
				disclosed(t, a, inv)
			},
			Breaker: stripDetail(isInvocation, "caller"),
		},
		{
			ID:      "rpc.caller-id.disclose-caller",
			Title:   "REGISTER.Options.disclose_caller has the caller's session id disclosed in INVOCATION.Details.caller",
			Section: secCallerID, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), protocol.Dict{"disclose_caller": true})
				a.Call(t.URI("p"), nil, nil, nil)
				disclosed(t, a, b.ExpectInvocation(reg))
			},
			Breaker: stripDetail(isInvocation, "caller"),
		},
		{
			ID:      "rpc.caller-id.authid",
			Title:   "A disclosed caller's caller_authid and caller_authrole, when given, are the caller's",
			Section: secCallerID, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), protocol.Dict{"disclose_caller": true})
				a.Call(t.URI("p"), protocol.Dict{"disclose_me": true}, nil, nil)
				inv := b.ExpectInvocation(reg)
				for _, k := range []string{"authid", "authrole"} {
					if v, ok := inv.Details["caller_"+k]; ok && v != a.Welcome.Details[k] {
						t.Fatalf("INVOCATION.Details.caller_%s is %v, the caller's %s is %v", k, v, k, a.Welcome.Details[k])
					}
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if inv, ok := m.(*protocol.Invocation); ok {
					inv.Details["caller_authid"] = "someone-else"
					return inv, true
				}
				return nil, false
			}),
		},
	}
}

// patternTable registers the registrations of the spec's example for
// pattern-based registrations, under the run's prefix, in one callee
// session, and returns the callee and the registration IDs (index 1..7;
// 0 for those left out). With wildcardsOnly only registrations 4 to 7 are
// made: the spec's row for a1.b2.c33.d4.e5 says "no prefix match", yet
// a1.b2.c3 is a string prefix of it, and prefix matching is by string
// (the spec's own com.myapp.myobject1-mysubobject1 example).
func patternTable(t *T, wildcardsOnly bool) (*Session, []protocol.ID) {
	b := t.Join(JoinOptions{})
	regs := []struct{ uri, match string }{
		{"a1.b2.c3.d4.e55", "exact"},
		{"a1.b2.c3", "prefix"},
		{"a1.b2.c3.d4", "prefix"},
		{"a1.b2..d4.e5", "wildcard"},
		{"a1.b2.c33..e5", "wildcard"},
		{"a1.b2..d4.e5..g7", "wildcard"},
		{"a1.b2..d4..f6.g7", "wildcard"},
	}
	ids := []protocol.ID{0}
	for i, r := range regs {
		if wildcardsOnly && i < 3 {
			ids = append(ids, 0)
			continue
		}
		ids = append(ids, b.Register(t.URI(r.uri), matchOptions(r.match)))
	}
	return b, ids
}

// patternRow calls uri (under the prefix) and requires registration want
// (1..7 of the spec table) to be invoked with Details.procedure the URI.
func patternRow(uri string, want int, wildcardsOnly bool) func(t *T) {
	return func(t *T) {
		b, ids := patternTable(t, wildcardsOnly)
		a := t.Join(JoinOptions{})
		proc := t.URI(uri)
		req := a.Call(proc, nil, nil, nil)
		inv := expect(b, "INVOCATION for "+proc, func(m *protocol.Invocation) bool { return true })
		got := slices.Index(ids, inv.Registration)
		if got != want {
			t.Fatalf("CALL of %s reached registration %d of the spec's table, want %d", uri, got, want)
		}
		if want != 1 && inv.Details["procedure"] != proc {
			t.Fatalf("INVOCATION.Details.procedure is %v, want the called URI %s", inv.Details["procedure"], proc)
		}
		b.Yield(inv.Request, protocol.Dict{}, nil, nil)
		a.ExpectResult(req)
	}
}

// misroute delivers each INVOCATION under another of the callee's
// registration IDs (a dealer that picks the wrong registration).
func misroute() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		var regs []protocol.ID
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Registered:
				regs = append(regs, m.Registration)
			case *protocol.Invocation:
				for _, r := range regs {
					if r != m.Registration {
						m.Registration = r
						f.Inject(fault.ToClient, m)
						return false
					}
				}
			}
			return true
		}
	})
}

func patternRegistrationScenarios() []*Scenario {
	const feat = "dealer.pattern_based_registration"
	row := func(id, title, uri string, want int) *Scenario {
		return &Scenario{ID: id, Title: title, Section: secPatternReg, Level: MUST, Feature: feat,
			Run: patternRow(uri, want, want == 5), Breaker: misroute()}
	}
	return []*Scenario{
		row("rpc.pattern.exact-first", "An exact registration wins over matching prefix and wildcard ones (spec example: a1.b2.c3.d4.e55)", "a1.b2.c3.d4.e55", 1),
		row("rpc.pattern.prefix", "A prefix registration receives calls of longer URIs, with the called URI in INVOCATION.Details.procedure (spec example: a1.b2.c3.d98.e74)", "a1.b2.c3.d98.e74", 2),
		row("rpc.pattern.longest-prefix", "Of several matching prefix registrations the longest wins (spec example: a1.b2.c3.d4.e325)", "a1.b2.c3.d4.e325", 3),
		row("rpc.pattern.wildcard", "A wildcard registration receives calls matching it component by component (spec example: a1.b2.c55.d4.e5)", "a1.b2.c55.d4.e5", 4),
		row("rpc.pattern.wildcard-first-portion", "Of several matching wildcard registrations the one with the longest first literal portion wins (spec example: a1.b2.c33.d4.e5, against the wildcard registrations only)", "a1.b2.c33.d4.e5", 5),
		row("rpc.pattern.wildcard-next-portion", "With equal first portions the longer second portion wins (spec example: a1.b2.c88.d4.e5.f6.g7)", "a1.b2.c88.d4.e5.f6.g7", 6),
		{
			ID:      "rpc.pattern.no-match",
			Title:   "A call matching no exact, prefix or wildcard registration gets ERROR wamp.error.no_such_procedure (spec example: a2.b2.c2.d2.e2)",
			Section: secPatternReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				patternTable(t, false)
				a := t.Join(JoinOptions{})
				req := a.Call(t.URI("a2.b2.c2.d2.e2"), nil, nil, nil)
				a.ExpectError(protocol.CodeCall, req, "wamp.error.no_such_procedure")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.runtime_error"),
		},
		{
			ID:      "rpc.pattern.string-prefix",
			Title:   "Prefix matching is by string: registration obj1 receives obj1-sub and obj1 itself, not obj",
			Section: secPatternReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				a := t.Join(JoinOptions{})
				reg := b.Register(t.URI("myobject1"), protocol.Dict{"match": "prefix"})
				for _, u := range []string{"myobject1-mysubobject1", "myobject1"} {
					req := a.Call(t.URI(u), nil, nil, nil)
					inv := b.ExpectInvocation(reg)
					if inv.Details["procedure"] != t.URI(u) {
						t.Fatalf("INVOCATION.Details.procedure is %v, want %s", inv.Details["procedure"], t.URI(u))
					}
					b.Yield(inv.Request, protocol.Dict{}, nil, nil)
					a.ExpectResult(req)
				}
				req := a.Call(t.URI("myobject"), nil, nil, nil)
				a.ExpectError(protocol.CodeCall, req, "wamp.error.no_such_procedure")
			},
			Breaker: stripDetail(isInvocation, "procedure"),
		},
		{
			ID:      "rpc.pattern.wildcard-length",
			Title:   "A wildcard registration does not match URIs with more components or other literals",
			Section: secPatternReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				b := t.Join(JoinOptions{})
				a := t.Join(JoinOptions{})
				b.Register(t.URI("myapp..myprocedure1"), protocol.Dict{"match": "wildcard"})
				for _, u := range []string{"myapp.myobject1.myprocedure1.mysubprocedure1", "myapp.myobject1.myprocedure2"} {
					req := a.Call(t.URI(u), nil, nil, nil)
					a.ExpectError(protocol.CodeCall, req, "wamp.error.no_such_procedure")
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if e, ok := m.(*protocol.Error); ok && e.URI == "wamp.error.no_such_procedure" {
					return &protocol.Result{Request: e.Request, Details: protocol.Dict{}}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.pattern.duplicate",
			Title:   "A second registration of the same pattern with the same policy is refused with ERROR wamp.error.procedure_already_exists",
			Section: secPatternReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				a.Register(t.URI("pfx"), protocol.Dict{"match": "prefix"})
				req := b.NextID()
				b.Send(&protocol.Register{Request: req, Options: protocol.Dict{"match": "prefix"}, Procedure: t.URI("pfx")})
				b.ExpectError(protocol.CodeRegister, req, "wamp.error.procedure_already_exists")
			},
			Breaker: errToRegistered(),
		},
		{
			ID:      "rpc.pattern.policies-coexist",
			Title:   "An exact and a prefix registration of the same URI are different registrations and can coexist",
			Section: secPatternReg, Level: SHOULD, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				x := a.Register(t.URI("both"), nil)
				y := b.Register(t.URI("both"), protocol.Dict{"match": "prefix"})
				if x == y {
					t.Fatalf("exact and prefix registrations of one URI got the same id %d", x)
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Registered); ok && r.Request == 1 {
					return &protocol.Error{RequestType: protocol.CodeRegister, Request: r.Request, Details: protocol.Dict{}, URI: "wamp.error.procedure_already_exists"}, true
				}
				return nil, false
			}),
		},
	}
}

// sharedCallees registers t.URI("p") with policy in n new sessions and
// returns them with their registration IDs.
func sharedCallees(t *T, policy string, n int) ([]*Session, []protocol.ID) {
	var ss []*Session
	var regs []protocol.ID
	for range n {
		s := t.Join(JoinOptions{})
		ss = append(ss, s)
		regs = append(regs, s.Register(t.URI("p"), protocol.Dict{"invoke": policy}))
	}
	return ss, regs
}

// whoGets calls t.URI("p") n times and returns which callee answered
// each call (index into callees).
func whoGets(t *T, caller *Session, callees []*Session, n int) []int {
	var order []int
	for range n {
		req := caller.Call(t.URI("p"), nil, nil, nil)
		got := -1
		// The invoked callee is the one whose connection gets a frame.
		deadline := time.Now().Add(t.Timeout())
		for got < 0 {
			for i, c := range callees {
				if c.Pending() == 0 {
					continue
				}
				m := c.Next("INVOCATION")
				inv, ok := m.(*protocol.Invocation)
				if !ok {
					t.Fatalf("callee %d got %s", i, describe(m))
				}
				c.Yield(inv.Request, protocol.Dict{}, nil, nil)
				got = i
				break
			}
			if got < 0 {
				if time.Now().After(deadline) || t.ctx.Err() != nil {
					t.Fatalf("no callee got the INVOCATION of call %d", len(order)+1)
				}
				time.Sleep(time.Millisecond)
			}
		}
		caller.ExpectResult(req)
		order = append(order, got)
	}
	return order
}

func sharedRegistrationScenarios() []*Scenario {
	const feat = "dealer.shared_registration"
	return []*Scenario{
		{
			ID:      "rpc.shared.roundrobin",
			Title:   "invoke roundrobin: calls go to the callees in turn, in registration order",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				callees, _ := sharedCallees(t, "roundrobin", 3)
				a := t.Join(JoinOptions{})
				got := whoGets(t, a, callees, 6)
				if !slices.Equal(got, []int{0, 1, 2, 0, 1, 2}) {
					t.Fatalf("6 calls went to callees %v, want [0 1 2 0 1 2]", got)
				}
			},
			Breaker: setOption(isRegister, "invoke", "first"),
		},
		{
			ID:      "rpc.shared.first",
			Title:   "invoke first: every call goes to the first registered callee, then to the next when it leaves",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				callees, _ := sharedCallees(t, "first", 3)
				a := t.Join(JoinOptions{})
				if got := whoGets(t, a, callees, 3); !slices.Equal(got, []int{0, 0, 0}) {
					t.Fatalf("3 calls went to callees %v, want [0 0 0]", got)
				}
				callees[0].Leave()
				if got := whoGets(t, a, callees[1:], 2); !slices.Equal(got, []int{0, 0}) {
					t.Fatalf("after the first callee left, calls went to %v of the rest, want [0 0]", got)
				}
			},
			Breaker: setOption(isRegister, "invoke", "last"),
		},
		{
			ID:      "rpc.shared.last",
			Title:   "invoke last: every call goes to the last registered callee",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				callees, _ := sharedCallees(t, "last", 3)
				a := t.Join(JoinOptions{})
				if got := whoGets(t, a, callees, 3); !slices.Equal(got, []int{2, 2, 2}) {
					t.Fatalf("3 calls went to callees %v, want [2 2 2]", got)
				}
			},
			Breaker: setOption(isRegister, "invoke", "first"),
		},
		{
			ID:      "rpc.shared.random",
			Title:   "invoke random: calls go to the registered callees, not always the same one (20 calls over 2 callees)",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				callees, _ := sharedCallees(t, "random", 2)
				a := t.Join(JoinOptions{})
				got := whoGets(t, a, callees, 20)
				if !slices.Contains(got, 0) || !slices.Contains(got, 1) {
					t.Fatalf("20 calls all went to one callee: %v", got)
				}
			},
			Breaker: setOption(isRegister, "invoke", "first"),
		},
		{
			ID:      "rpc.shared.policy-mismatch",
			Title:   "A REGISTER whose invoke policy differs from the existing registration's is refused with ERROR",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				sharedCallees(t, "roundrobin", 1)
				b := t.Join(JoinOptions{})
				req := b.NextID()
				b.Send(&protocol.Register{Request: req, Options: protocol.Dict{"invoke": "random"}, Procedure: t.URI("p")})
				b.ExpectError(protocol.CodeRegister, req, "")
			},
			Breaker: errToRegistered(),
		},
		{
			ID:      "rpc.shared.single",
			Title:   "While a procedure is registered with invoke single, shared registrations of it are refused with ERROR",
			Section: secSharedReg, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				a.Register(t.URI("p"), protocol.Dict{"invoke": "single"})
				b := t.Join(JoinOptions{})
				req := b.NextID()
				b.Send(&protocol.Register{Request: req, Options: protocol.Dict{"invoke": "roundrobin"}, Procedure: t.URI("p")})
				b.ExpectError(protocol.CodeRegister, req, "")
			},
			Breaker: errToRegistered(),
		},
	}
}

// revoke makes the router revoke registration reg of session victim: by a
// REGISTER with force_reregister (a crossbar extension), else with the
// crossbar meta procedure wamp.registration.remove_callee. It skips the
// scenario when the router offers neither.
func revoke(t *T, by *Session, victim *Session, reg protocol.ID, proc string) {
	rreq := by.NextID()
	by.Send(&protocol.Register{Request: rreq, Options: protocol.Dict{"force_reregister": true}, Procedure: proc})
	switch m := by.Next("the answer to REGISTER with force_reregister").(type) {
	case *protocol.Registered:
		return
	case *protocol.Error:
	default:
		t.Fatalf("waiting for the answer to REGISTER with force_reregister, got %s", describe(m))
	}
	req := by.Call("wamp.registration.remove_callee", nil, protocol.List{reg, victim.ID}, nil)
	switch m := by.Next("the answer to wamp.registration.remove_callee").(type) {
	case *protocol.Result:
		return
	case *protocol.Error:
		t.Skipf("no way to make the router revoke a registration (neither force_reregister nor wamp.registration.remove_callee): %s", m.URI)
	default:
		t.Fatalf("waiting for the answer to CALL %d (wamp.registration.remove_callee), got %s", req, describe(m))
	}
}

func revocationScenarios() []*Scenario {
	const feat = "dealer.registration_revocation"
	return []*Scenario{
		{
			ID:      "rpc.revocation",
			Title:   "A revoked registration is announced to a callee supporting registration_revocation as UNREGISTERED with request 0 and Details.registration",
			Section: secRegRevocation, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := a.Register(t.URI("p"), nil)
				revoke(t, b, a, reg, t.URI("p"))
				u := expect(a, "UNREGISTERED (revocation)", func(m *protocol.Unregistered) bool { return true })
				if u.Request != 0 || !sameValue(u.Details["registration"], int64(reg)) {
					t.Fatalf("revocation is %s, want UNREGISTERED with request 0 and Details.registration %d", describe(u), reg)
				}
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if u, ok := m.(*protocol.Unregistered); ok && u.Request == 0 {
					u.Details["registration"] = int64(1)
					return u, true
				}
				return nil, false
			}),
		},
		{
			ID:      "rpc.revocation.unannounced",
			Title:   "A callee without registration_revocation is not sent UNREGISTERED when its registration is revoked",
			Section: secRegRevocation, Level: MUST, Feature: feat,
			Run: func(t *T) {
				a := t.Join(JoinOptions{Roles: Roles("callee.registration_revocation")})
				b := t.Join(JoinOptions{})
				reg := a.Register(t.URI("p"), nil)
				revoke(t, b, a, reg, t.URI("p"))
				a.Sync("after the revocation of its registration")
			},
			Breaker: addHelloFeatures("callee.registration_revocation"),
		},
	}
}

func advancedRPCScenarios() []*Scenario {
	var out []*Scenario
	for _, g := range [][]*Scenario{
		progressiveResultScenarios(),
		callTimeoutScenarios(),
		cancelScenarios(),
		callerIDScenarios(),
		patternRegistrationScenarios(),
		sharedRegistrationScenarios(),
		revocationScenarios(),
	} {
		out = append(out, g...)
	}
	return out
}

// expectInterruptMode requires the callee's next message to be an
// INTERRUPT of the invocation req with Options.mode mode.
func expectInterruptMode(t *T, callee *Session, req protocol.ID, mode string) {
	in := callee.ExpectInterrupt(req)
	if in.Options["mode"] != mode {
		t.Fatalf("INTERRUPT has mode %v, want %s", in.Options["mode"], mode)
	}
}

// interruptMode rewrites the mode of every INTERRUPT to mode.
func interruptMode(mode string) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if in, ok := m.(*protocol.Interrupt); ok {
			in.Options["mode"] = mode
			return in, true
		}
		return nil, false
	})
}
