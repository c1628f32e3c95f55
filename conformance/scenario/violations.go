package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// offence is a message a client must not send in some state.
type offence struct {
	name string
	msg  protocol.Message
}

// routerOnly are messages only a router may send, plus a client's ERROR
// and GOODBYE (which are protocol errors before a session exists).
var beforeHello = []offence{
	{"goodbye", &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.system_shutdown"}},
	{"error", &protocol.Error{RequestType: protocol.CodeInvocation, Request: 1, Details: protocol.Dict{}, URI: "wamp.error.canceled"}},
	{"subscribed", &protocol.Subscribed{Request: 1, Subscription: 1}},
	{"unsubscribed", &protocol.Unsubscribed{Request: 1}},
	{"published", &protocol.Published{Request: 1, Publication: 1}},
	{"result", &protocol.Result{Request: 1, Details: protocol.Dict{}}},
	{"registered", &protocol.Registered{Request: 1, Registration: 1}},
	{"unregistered", &protocol.Unregistered{Request: 1}},
	{"invocation", &protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}}},
}

// clientBeforeHello are a client's own requests, which HELLO must precede.
var clientBeforeHello = []offence{
	{"subscribe", &protocol.Subscribe{Request: 1, Options: protocol.Dict{}, Topic: "conformance.topic"}},
	{"publish", &protocol.Publish{Request: 1, Options: protocol.Dict{"acknowledge": true}, Topic: "conformance.topic"}},
	{"call", &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "conformance.proc"}},
	{"register", &protocol.Register{Request: 1, Options: protocol.Dict{}, Procedure: "conformance.proc"}},
	{"authenticate", &protocol.Authenticate{Signature: "conformance", Extra: protocol.Dict{}}},
}

// inSession are messages a client must never send in an established
// session.
var inSession = []offence{
	{"welcome", &protocol.Welcome{Session: 1, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{}}}}},
	{"challenge", &protocol.Challenge{AuthMethod: "ticket", Extra: protocol.Dict{}}},
	{"authenticate", &protocol.Authenticate{Signature: "conformance", Extra: protocol.Dict{}}},
	{"published", &protocol.Published{Request: 1, Publication: 1}},
	{"subscribed", &protocol.Subscribed{Request: 1, Subscription: 1}},
	{"unsubscribed", &protocol.Unsubscribed{Request: 1}},
	{"event", &protocol.Event{Subscription: 1, Publication: 1, Details: protocol.Dict{}}},
	{"result", &protocol.Result{Request: 1, Details: protocol.Dict{}}},
	{"registered", &protocol.Registered{Request: 1, Registration: 1}},
	{"unregistered", &protocol.Unregistered{Request: 1}},
	{"invocation", &protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}}},
	{"interrupt", &protocol.Interrupt{Request: 1, Options: protocol.Dict{}}},
}

func violationScenarios() []*Scenario {
	var out []*Scenario
	for _, o := range beforeHello {
		out = append(out, &Scenario{
			ID:      "session.before-hello." + o.name,
			Title:   fmt.Sprintf("%s before the session is established is a protocol violation: ABORT wamp.error.protocol_violation, no session", o.msg.Code()),
			Section: secProtocolErrors, Level: MUST,
			Run:     beforeHelloRun(o.msg),
			Breaker: dropBeforeHello(),
		})
	}
	for _, o := range clientBeforeHello {
		out = append(out, &Scenario{
			ID:      "session.before-hello." + o.name,
			Title:   fmt.Sprintf("HELLO must be the first message: %s before it is a protocol violation (ABORT wamp.error.protocol_violation) and is not processed", o.msg.Code()),
			Section: secHello, Level: MUST,
			Run:     beforeHelloRun(o.msg),
			Breaker: dropBeforeHello(),
		})
	}
	for _, o := range inSession {
		out = append(out, &Scenario{
			ID:      "session.established." + o.name,
			Title:   fmt.Sprintf("%s from a client in an established session is a protocol violation: ABORT wamp.error.protocol_violation", o.msg.Code()),
			Section: secProtocolErrors, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Send(o.msg)
				s.Violation(o.msg.Code().String() + " from a client")
			},
			Breaker: fault.Drop(fault.ToRouter, func(m protocol.Message) bool { return m.Code() == o.msg.Code() }),
		})
	}

	// Malformed messages in an established session.
	malformed := []struct {
		name, title string
		send        func(s *Session)
	}{
		{"unknown-code", "a message with an unknown type code ([255, 1, {}])", func(s *Session) { s.SendList(int64(255), int64(1), protocol.Dict{}) }},
		{"empty-list", "an empty list", func(s *Session) { s.SendList() }},
		{"not-a-list", "a dict instead of a list", func(s *Session) { s.SendPayload(encodeValue(s, protocol.Dict{"type": int64(48)})) }},
		{"undecodable", "bytes that are not a document of the serializer", func(s *Session) { s.SendPayload(garbage(s.Serializer())) }},
		{"wrong-arity", "a CALL with three elements", func(s *Session) { s.SendList(int64(protocol.CodeCall), int64(s.PeekID()), protocol.Dict{}) }},
		{"options-not-dict", "a CALL whose Options is a list", func(s *Session) {
			s.SendList(int64(protocol.CodeCall), int64(s.PeekID()), protocol.List{}, s.t.URI("p"))
		}},
		{"id-string", "a CALL whose Request is a string", func(s *Session) {
			s.SendList(int64(protocol.CodeCall), fmt.Sprint(s.PeekID()), protocol.Dict{}, s.t.URI("p"))
		}},
		{"id-zero", "a CALL with Request 0 (IDs start at 1)", func(s *Session) { s.SendList(int64(protocol.CodeCall), int64(0), protocol.Dict{}, s.t.URI("p")) }},
		{"id-too-big", "a CALL with Request 2^53+1 (IDs end at 2^53)", func(s *Session) {
			s.SendList(int64(protocol.CodeCall), int64(1<<53+1), protocol.Dict{}, s.t.URI("p"))
		}},
		{"id-negative", "a CALL with Request -1", func(s *Session) { s.SendList(int64(protocol.CodeCall), int64(-1), protocol.Dict{}, s.t.URI("p")) }},
		{"id-float", "a CALL with Request 1.5", func(s *Session) { s.SendList(int64(protocol.CodeCall), 1.5, protocol.Dict{}, s.t.URI("p")) }},
		{"uri-not-string", "a CALL whose Procedure is an integer", func(s *Session) {
			s.SendList(int64(protocol.CodeCall), int64(s.PeekID()), protocol.Dict{}, int64(7))
		}},
		{"error-unknown-request-type", "an ERROR whose REQUEST.Type (1, HELLO) is no request", func(s *Session) {
			s.SendList(int64(protocol.CodeError), int64(1), int64(1), protocol.Dict{}, "wamp.error.canceled")
		}},
	}
	for _, m := range malformed {
		out = append(out, &Scenario{
			ID:      "session.malformed." + m.name,
			Title:   "Receiving " + m.title + " is a protocol violation: ABORT wamp.error.protocol_violation",
			Section: secProtocolErrors, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				m.send(s)
				s.Violation(m.title)
			},
			Breaker: dropInvalid(),
		})
	}
	out = append(out,
		&Scenario{
			ID:      "session.error.invalid-request-type",
			Title:   "An ERROR from a client for a CALL (REQUEST.Type 48; clients answer only INVOCATIONs) is a protocol violation",
			Section: secProtocolErrors, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Send(&protocol.Error{RequestType: protocol.CodeCall, Request: 1, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
				s.Violation("an ERROR with REQUEST.Type CALL")
			},
			Breaker: fault.Drop(fault.ToRouter, fault.Is[*protocol.Error]),
		},
		&Scenario{
			ID:      "session.yield.unknown-invocation",
			Title:   "A YIELD for an INVOCATION the router never sent is a protocol violation",
			Section: secProtocolErrors, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Yield(987654321, protocol.Dict{}, protocol.List{"unasked"}, nil)
				s.Violation("a YIELD for INVOCATION 987654321, never sent")
			},
			Breaker: fault.Drop(fault.ToRouter, fault.Is[*protocol.Yield]),
		},
		requestIDViolation("session.request-id.first",
			"Request IDs start at 1: a first request with ID 5 is a protocol violation",
			false, 5, "REGISTER with request ID 5 as the first request", renumber(5, 1)),
		requestIDViolation("session.request-id.gap",
			"Request IDs go up by 1: request 3 after request 1 is a protocol violation",
			true, 3, "REGISTER with request ID 3 after request 1", renumber(3, 2)),
		requestIDViolation("session.request-id.reuse",
			"Request IDs are not reused: a second request with ID 1 is a protocol violation",
			true, 1, "a second REGISTER with request ID 1", renumberSecond(1, 2)),
		&Scenario{
			ID:      "session.violation.disposes",
			Title:   "A session aborted for a protocol violation loses its registrations",
			Section: secProtocolErrors, Level: MUST,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				proc := t.URI("p")
				a.Register(proc, nil)
				a.SendList(int64(255))
				a.ExpectAbort("after a message with type code 255", "")
				b := t.Join(JoinOptions{})
				b.Register(proc, nil)
			},
			Breaker: fakeAbortOnInvalid(),
		},
		&Scenario{
			ID:      "session.violation.closes",
			Title:   "After ABORT for a protocol violation the router drops the connection",
			Section: secProtocolErrors, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.SendList(int64(255))
				s.ExpectAbort("after a message with type code 255", "")
				s.ExpectClosed("the router should close the connection after ABORT", nil)
			},
			Breaker: fault.Breaker{KeepClientOpen: true},
		},
		&Scenario{
			ID:      "session.goodbye.during-challenge",
			Title:   "GOODBYE while authenticating is a protocol violation: ABORT, no WELCOME",
			Section: secProtocolErrors, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				c, ch, method := t.challenged("ticket", "ticket", nil)
				c.Send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"})
				c.ExpectViolation("GOODBYE during authentication", t.sign(method, ch))
			},
			Breaker: fault.Drop(fault.ToRouter, fault.Is[*protocol.Goodbye]),
		},
		&Scenario{
			ID:      "session.abort.during-challenge",
			Title:   "ABORT in reply to a CHALLENGE ends the handshake: no WELCOME, no reply",
			Section: secAbort, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				c, _, _ := t.challenged("ticket", "ticket", nil)
				c.Send(&protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.error.cannot_authenticate"})
				if f := c.Quiet(); f != nil {
					t.Fatalf("the router answered the ABORT with %s", c.Describe(f))
				}
			},
			Breaker: fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if _, ok := m.(*protocol.Abort); !ok {
					return nil, false
				}
				f.Inject(fault.ToClient, &protocol.Welcome{Session: 1, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{}}}})
				return nil, true
			}),
		},
		&Scenario{
			ID:      "session.goodbye.after-close",
			Title:   "A GOODBYE after the GOODBYE exchange (no session any more) is not answered with GOODBYE: the router closes the transport or aborts",
			Section: secGoodbye, Level: MUST,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.Leave()
				s.TrySend(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"})
				// Silence and a closed connection are both right; a GOODBYE
				// reply comes at once if it comes.
				f := s.QuietFor(time.Second)
				if f == nil {
					return
				}
				if _, ok := f.Msg.(*protocol.Goodbye); ok {
					t.Fatalf("a GOODBYE after the session ended was answered with GOODBYE, as if the session still existed")
				}
			},
			Breaker: fault.Chain(fault.Breaker{KeepClientOpen: true}, fault.Messages(func() fault.MessageRule {
				n := 0
				return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
					if _, ok := m.(*protocol.Goodbye); ok && dir == fault.ToRouter {
						if n++; n == 2 {
							f.Inject(fault.ToClient, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
							return false
						}
					}
					return true
				}
			})),
		},
	)
	return out
}

// requestIDViolation is the rule that a REGISTER with request ID req
// (after a first REGISTER, with afterOne) is a protocol violation (what).
func requestIDViolation(id, title string, afterOne bool, req protocol.ID, what string, breaker fault.Breaker) *Scenario {
	return &Scenario{
		ID: id, Title: title,
		Section: secProtocolErrors, Level: MUST,
		Run: func(t *T) {
			s := t.Join(JoinOptions{})
			proc := t.URI("p")
			if afterOne {
				s.Register(t.URI("p1"), nil)
				proc = t.URI("p2")
			}
			s.Send(&protocol.Register{Request: req, Options: protocol.Dict{}, Procedure: proc})
			s.Violation(what)
		},
		Breaker: breaker,
	}
}

func beforeHelloRun(m protocol.Message) func(t *T) {
	return func(t *T) {
		c := t.Dial()
		c.Send(m)
		hello, _ := t.hello(JoinOptions{})
		c.ExpectViolation(m.Code().String()+" before HELLO", hello)
	}
}

// dropBeforeHello drops every client message before its first HELLO (a
// router that ignores them).
func dropBeforeHello() fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		hello := false
		return func(_ *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			if dir != fault.ToRouter || hello {
				return true
			}
			_, hello = m.(*protocol.Hello)
			return hello
		}
	})
}

// dropInvalid drops client frames that are no valid WAMP message (a router
// that ignores them).
func dropInvalid() fault.Breaker {
	return fault.Breaker{Rule: func() fault.Rule {
		return func(_ *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
			return dir != fault.ToRouter || fr.Msg != nil
		}
	}}
}

// fakeAbortOnInvalid answers an invalid client frame with ABORT itself and
// does not tell the router (whose session lives on).
func fakeAbortOnInvalid() fault.Breaker {
	return fault.Breaker{Rule: func() fault.Rule {
		return func(f *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
			if dir == fault.ToRouter && fr.Msg == nil {
				f.Inject(fault.ToClient, &protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.error.protocol_violation"})
				return false
			}
			return true
		}
	}}
}

// renumber makes request ID from of the client's requests read as to, and
// the replies to to read as from again: the router sees a well-numbered
// session.
func renumber(from, to protocol.ID) fault.Breaker {
	return renumberNth(from, to, 1)
}

// renumberSecond renumbers only the second request with ID from.
func renumberSecond(from, to protocol.ID) fault.Breaker {
	return renumberNth(from, to, 2)
}

func renumberNth(from, to protocol.ID, nth int) fault.Breaker {
	return fault.Messages(func() fault.MessageRule {
		seen := 0
		mapped := false
		return func(f *fault.Flow, dir fault.Dir, m protocol.Message) bool {
			switch dir {
			case fault.ToRouter:
				if r, ok := m.(*protocol.Register); ok && r.Request == from {
					if seen++; seen == nth {
						r.Request = to
						mapped = true
						f.Inject(fault.ToRouter, r)
						return false
					}
				}
			case fault.ToClient:
				if r, ok := m.(*protocol.Registered); ok && mapped && r.Request == to {
					r.Request = from
					f.Inject(fault.ToClient, r)
					return false
				}
			}
			return true
		}
	})
}

// encodeValue encodes any value with the session's serializer, for frames
// that are no WAMP list.
func encodeValue(s *Session, v any) []byte {
	b, err := wire.EncodeList(s.Serializer(), []any{v})
	if err != nil {
		s.t.Fatalf("cannot encode: %v", err)
	}
	// Strip the one-element list around v: the encoders write a one-byte
	// array header for it (0x91 msgpack, 0x81 cbor) or "[…]" for JSON.
	if s.Serializer().Name() == "json" {
		return []byte(strings.TrimSuffix(strings.TrimPrefix(string(b), "["), "]"))
	}
	return b[1:]
}

// garbage is a payload that is no document of ser's format.
func garbage(ser protocol.Serializer) []byte {
	switch ser.Name() {
	case "json":
		return []byte(`[48, 1, {}, "conformance.`)
	case "msgpack":
		return []byte{0x94, 0x30, 0x01, 0xc1}
	}
	return []byte{0x84, 0x18, 0x30, 0x01, 0xff}
}
