package scenario

import (
	"errors"
	"maps"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// unknownOptions are Options keys no router knows: one in the
// implementation-specific form of the spec (_xxx), one in autobahn's (x_).
var unknownOptions = protocol.Dict{"_conformance_unknown": protocol.Dict{"a": int64(1)}, "x_conformance_unknown": "value"}

func withUnknown(opts protocol.Dict) protocol.Dict {
	out := maps.Clone(unknownOptions)
	maps.Copy(out, opts)
	return out
}

// hasUnknown reports whether a message's Options carry the unknown keys.
func hasUnknown(m protocol.Message) bool { return dictOf(m)["_conformance_unknown"] != nil }

// dictOf returns a message's Options or Details (nil for messages without).
func dictOf(m protocol.Message) protocol.Dict {
	switch m := m.(type) {
	case *protocol.Call:
		return m.Options
	case *protocol.Publish:
		return m.Options
	case *protocol.Subscribe:
		return m.Options
	case *protocol.Register:
		return m.Options
	case *protocol.Yield:
		return m.Options
	case *protocol.Cancel:
		return m.Options
	case *protocol.Result:
		return m.Details
	case *protocol.Invocation:
		return m.Details
	case *protocol.Event:
		return m.Details
	case *protocol.Error:
		return m.Details
	}
	return nil
}

// refuseUnknown answers requests carrying the unknown options with ERROR
// (or, for YIELD, fails the call) instead of passing them on: a router
// that rejects what it must ignore.
func refuseUnknown() fault.Breaker {
	return fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
		if !hasUnknown(m) {
			return nil, false
		}
		switch m := m.(type) {
		case *protocol.Yield:
			return &protocol.Error{RequestType: protocol.CodeInvocation, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_argument"}, true
		case *protocol.Call:
			f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodeCall, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_argument"})
		case *protocol.Publish:
			f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodePublish, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_argument"})
		case *protocol.Subscribe:
			f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodeSubscribe, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_argument"})
		case *protocol.Register:
			f.Inject(fault.ToClient, &protocol.Error{RequestType: protocol.CodeRegister, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_argument"})
		}
		return nil, true
	})
}

// badOption is a request whose option has the wrong type or value.
type badOption struct {
	name, title string
	// run sends the request and returns a check of the router's reply.
	run func(t *T, s *Session)
}

// refused requires the router to refuse request req of type typ: ERROR for
// it, ABORT, or failing the connection; anything that shows the request
// was carried out fails.
func refused(t *T, s *Session, typ protocol.Code, req protocol.ID, what string) {
	f, err := s.NextFrame()
	if errors.Is(err, wire.ErrClosed) {
		return
	}
	if err != nil || f.Msg == nil {
		t.Fatalf("waiting for ERROR, ABORT or the end of the connection for %s: %v", what, waitErrorOrFrame(s.Conn, f, err))
	}
	m := f.Msg
	switch m := m.(type) {
	case *protocol.Error:
		if m.RequestType == typ && m.Request == req {
			return
		}
	case *protocol.Abort:
		return
	}
	t.Fatalf("%s was carried out: the router sent %s, want ERROR for %s %d or ABORT", what, describe(m), typ, req)
}

// acceptBad answers requests that carry a badly typed or unknown option
// value as if they succeeded, without the router: a router without option
// checks.
func acceptBad() fault.Breaker {
	return fault.Breaker{Rule: func() fault.Rule {
		return func(f *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
			if dir != fault.ToRouter || f.Serializer() == nil {
				return true
			}
			v, err := wire.DecodeGeneric(f.Serializer(), fr.Payload)
			l, _ := v.([]any)
			if err != nil || len(l) < 3 {
				return true
			}
			code, _ := l[0].(int64)
			req, _ := l[1].(int64)
			opts, _ := l[2].(map[string]any)
			if req <= 0 || !badOptions(opts) {
				return true
			}
			id := protocol.ID(req)
			switch protocol.Code(code) {
			case protocol.CodePublish:
				f.Inject(fault.ToClient, &protocol.Published{Request: id, Publication: 4242})
			case protocol.CodeSubscribe:
				f.Inject(fault.ToClient, &protocol.Subscribed{Request: id, Subscription: 4242})
			case protocol.CodeRegister:
				f.Inject(fault.ToClient, &protocol.Registered{Request: id, Registration: 4242})
			case protocol.CodeCall:
				f.Inject(fault.ToClient, &protocol.Result{Request: id, Details: protocol.Dict{}})
			default:
				return true
			}
			return false
		}
	}}
}

// badOptions reports whether opts holds a value of the wrong type or an
// unknown policy for the options the scenarios bend.
func badOptions(opts map[string]any) bool {
	for k, v := range opts {
		switch k {
		case "acknowledge", "receive_progress", "exclude_me", "disclose_me":
			if _, ok := v.(bool); !ok {
				return true
			}
		case "exclude", "eligible":
			if _, ok := v.([]any); !ok {
				return true
			}
		case "timeout":
			if _, ok := v.(int64); !ok {
				return true
			}
		case "match":
			if v != "exact" && v != "prefix" && v != "wildcard" {
				return true
			}
		case "invoke":
			if v != "single" && v != "roundrobin" && v != "random" && v != "first" && v != "last" {
				return true
			}
		}
	}
	return false
}

func messageScenarios() []*Scenario {
	out := []*Scenario{
		{
			ID:      "messages.unknown-options.call",
			Title:   "Unknown CALL.Options keys are ignored: the call goes through",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				reg := b.Register(t.URI("p"), nil)
				req := a.Call(t.URI("p"), withUnknown(nil), nil, nil)
				b.echo(reg)
				a.ExpectResult(req)
			},
			Breaker: refuseUnknown(),
		},
		{
			ID:      "messages.unknown-options.publish",
			Title:   "Unknown PUBLISH.Options keys are ignored: the publication goes through",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				p := t.Join(JoinOptions{})
				sub := s.Subscribe(t.URI("t"), nil)
				p.PublishAck(t.URI("t"), withUnknown(nil), nil, nil)
				s.ExpectEvent(sub)
			},
			Breaker: refuseUnknown(),
		},
		{
			ID:      "messages.unknown-options.subscribe",
			Title:   "Unknown SUBSCRIBE.Options keys are ignored: the subscription is made",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Subscribe(t.URI("t"), withUnknown(nil))
			},
			Breaker: refuseUnknown(),
		},
		{
			ID:      "messages.unknown-options.register",
			Title:   "Unknown REGISTER.Options keys are ignored: the registration is made",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Register(t.URI("p"), withUnknown(nil))
			},
			Breaker: refuseUnknown(),
		},
		{
			ID:      "messages.unknown-options.yield",
			Title:   "Unknown YIELD.Options keys are ignored: the result reaches the caller",
			Section: secExtensibility, Level: MUST,
			Run: func(t *T) {
				a, b, req, inv := invoke(t, nil, nil)
				b.Yield(inv.Request, withUnknown(nil), protocol.List{"ok"}, nil)
				a.ExpectResult(req)
			},
			Breaker: refuseUnknown(),
		},
	}
	// bad are requests with a wrongly typed or unknown-valued option: the
	// request of type typ to t.URI("t") (PUBLISH, SUBSCRIBE) or t.URI("p")
	// (REGISTER, CALL, which a callee has registered) with options.
	bad := []struct {
		name, title string
		typ         protocol.Code
		options     protocol.Dict
	}{
		{"publish.acknowledge-int", "PUBLISH with acknowledge 1 (an integer where a bool is due)", protocol.CodePublish,
			protocol.Dict{"acknowledge": int64(1)}},
		{"publish.exclude-string", "an acknowledged PUBLISH with exclude \"x\" (a string where a list of IDs is due)", protocol.CodePublish,
			protocol.Dict{"acknowledge": true, "exclude": "x"}},
		{"subscribe.match-int", "SUBSCRIBE with match 1 (an integer where a string is due)", protocol.CodeSubscribe,
			protocol.Dict{"match": int64(1)}},
		{"subscribe.match-unknown", "SUBSCRIBE with match \"regex\" (no such policy)", protocol.CodeSubscribe,
			protocol.Dict{"match": "regex"}},
		{"register.invoke-unknown", "REGISTER with invoke \"fastest\" (no such policy)", protocol.CodeRegister,
			protocol.Dict{"invoke": "fastest"}},
		{"call.timeout-string", "CALL with timeout \"10\" (a string where an integer is due)", protocol.CodeCall,
			protocol.Dict{"timeout": "10"}},
		{"call.receive-progress-int", "CALL with receive_progress 1 (an integer where a bool is due)", protocol.CodeCall,
			protocol.Dict{"receive_progress": int64(1)}},
	}
	for _, b := range bad {
		out = append(out, &Scenario{
			ID:      "messages.bad-option." + b.name,
			Title:   "A request with a wrongly typed or unknown-valued option is refused (ERROR, ABORT or a failed connection), not carried out: " + b.title,
			Section: secStructure, Level: SHOULD,
			Run: func(t *T) {
				var callee *Session
				if b.typ == protocol.CodeCall {
					callee = t.Join(JoinOptions{})
					callee.Register(t.URI("p"), nil)
				}
				s := t.Join(JoinOptions{})
				req := s.NextID()
				s.SendList(protocol.ToList(request(t, b.typ, req, b.options))...)
				refused(t, s, b.typ, req, b.title)
				if callee != nil {
					if f := callee.Quiet(); f != nil {
						t.Fatalf("the callee got %s for %s", callee.Describe(f), b.title)
					}
				}
			},
			Breaker: acceptBad(),
		})
	}
	return out
}

// request is a request of type typ (PUBLISH or SUBSCRIBE to t.URI("t"),
// REGISTER or CALL of t.URI("p")) with ID req and options.
func request(t *T, typ protocol.Code, req protocol.ID, options protocol.Dict) protocol.Message {
	switch typ {
	case protocol.CodePublish:
		return &protocol.Publish{Request: req, Options: options, Topic: t.URI("t")}
	case protocol.CodeSubscribe:
		return &protocol.Subscribe{Request: req, Options: options, Topic: t.URI("t")}
	case protocol.CodeRegister:
		return &protocol.Register{Request: req, Options: options, Procedure: t.URI("p")}
	}
	return &protocol.Call{Request: req, Options: options, Procedure: t.URI("p")}
}

// waitErrorOrFrame describes a wait that ended with an error or an invalid
// frame.
func waitErrorOrFrame(c *Conn, f *wire.Frame, err error) string {
	if err != nil {
		return waitError(err, c.t.Timeout())
	}
	return "the router sent " + c.Describe(f)
}
