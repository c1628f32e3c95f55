package scenario

import (
	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// invalidURIScenario sends a request with an invalid URI (as a generic
// list: package protocol refuses to encode it) and requires ERROR
// wamp.error.invalid_uri for it.
func invalidURIScenario(id, title string, typ protocol.Code, build func(t *T, req protocol.ID, uri string) []any, uri string) *Scenario {
	return &Scenario{
		ID: id, Title: title, Section: secBasicURIs, Level: MUST,
		Run: func(t *T) {
			s := t.Join(JoinOptions{})
			req := s.NextID()
			s.SendList(build(t, req, uri)...)
			s.ExpectError(typ, req, "wamp.error.invalid_uri")
		},
		Breaker: invalidURIAccepted(typ),
	}
}

// invalidURIAccepted answers requests of type typ that do not decode (an
// invalid URI) as a router without URI checks would: REGISTERED,
// SUBSCRIBED, PUBLISHED, or for CALL ERROR wamp.error.no_such_procedure.
func invalidURIAccepted(typ protocol.Code) fault.Breaker {
	return fault.Breaker{Rule: func() fault.Rule { return (&replyFor{typ: typ}).rule }}
}

// replyFor answers undecodable client requests of type typ itself (and
// drops them): with ERROR uri if uri is set, else as if they succeeded.
type replyFor struct {
	typ protocol.Code
	uri string
}

func (r *replyFor) rule(f *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
	if dir != fault.ToRouter || fr.Msg != nil || f.Serializer() == nil {
		return true
	}
	v, err := wire.DecodeGeneric(f.Serializer(), fr.Payload)
	l, _ := v.([]any)
	if err != nil || len(l) < 2 {
		return true
	}
	code, _ := l[0].(int64)
	req, _ := l[1].(int64)
	if protocol.Code(code) != r.typ || req <= 0 {
		return true
	}
	id := protocol.ID(req)
	var reply protocol.Message
	switch {
	case r.uri != "":
		reply = &protocol.Error{RequestType: r.typ, Request: id, Details: protocol.Dict{}, URI: r.uri}
	case r.typ == protocol.CodeRegister:
		reply = &protocol.Registered{Request: id, Registration: 4242}
	case r.typ == protocol.CodeSubscribe:
		reply = &protocol.Subscribed{Request: id, Subscription: 4242}
	case r.typ == protocol.CodePublish:
		reply = &protocol.Published{Request: id, Publication: 4242}
	default:
		reply = &protocol.Error{RequestType: r.typ, Request: id, Details: protocol.Dict{}, URI: "wamp.error.no_such_procedure"}
	}
	f.Inject(fault.ToClient, reply)
	return false
}

func uriScenarios() []*Scenario {
	return []*Scenario{
		invalidURIScenario("uri.call.empty-component", "CALL of \"a..b\" (an empty component) is answered with ERROR wamp.error.invalid_uri",
			protocol.CodeCall, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodeCall), int64(req), protocol.Dict{}, uri}
			}, "conformance..empty"),
		invalidURIScenario("uri.call.empty", "CALL of the empty URI is answered with ERROR wamp.error.invalid_uri",
			protocol.CodeCall, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodeCall), int64(req), protocol.Dict{}, uri}
			}, ""),
		invalidURIScenario("uri.register.whitespace", "REGISTER of \"a b\" (whitespace) is answered with ERROR wamp.error.invalid_uri",
			protocol.CodeRegister, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodeRegister), int64(req), protocol.Dict{}, uri}
			}, "conformance.white space"),
		invalidURIScenario("uri.register.empty-component", "REGISTER (match exact) of \"a..b\" is answered with ERROR wamp.error.invalid_uri",
			protocol.CodeRegister, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodeRegister), int64(req), protocol.Dict{}, uri}
			}, "conformance..empty"),
		invalidURIScenario("uri.subscribe.hash", "SUBSCRIBE to \"a.#\" ('#' is reserved) is answered with ERROR wamp.error.invalid_uri",
			protocol.CodeSubscribe, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodeSubscribe), int64(req), protocol.Dict{}, uri}
			}, "conformance.#"),
		invalidURIScenario("uri.publish.empty-component", "An acknowledged PUBLISH to \"a..b\" is answered with ERROR wamp.error.invalid_uri",
			protocol.CodePublish, func(t *T, req protocol.ID, uri string) []any {
				return []any{int64(protocol.CodePublish), int64(req), protocol.Dict{"acknowledge": true}, uri}
			}, "conformance..empty"),
		{
			ID:      "uri.publish.unacknowledged-invalid",
			Title:   "An unacknowledged PUBLISH to an invalid URI gets no reply (the broker never answers unacknowledged publications)",
			Section: secPublishing, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.SendList(int64(protocol.CodePublish), int64(s.NextID()), protocol.Dict{}, "conformance..empty")
				s.Sync("after an unacknowledged PUBLISH to an invalid URI")
			},
			Breaker: fault.Breaker{Rule: func() fault.Rule {
				return (&replyFor{typ: protocol.CodePublish, uri: "wamp.error.invalid_uri"}).rule
			}},
		},
		{
			ID:      "uri.loose",
			Title:   "URIs that follow the loose rule but not the strict one (upper case, '-', non-ASCII) work for REGISTER and CALL",
			Section: secURIs, Level: MAY,
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := t.Join(JoinOptions{})
				proc := t.URI("Loose-URI.grüße")
				reg := b.Register(proc, nil)
				req := a.Call(proc, nil, nil, nil)
				b.echo(reg)
				a.ExpectResult(req)
			},
			Breaker: fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
				if r, ok := m.(*protocol.Registered); ok {
					return &protocol.Error{RequestType: protocol.CodeRegister, Request: r.Request, Details: protocol.Dict{}, URI: "wamp.error.invalid_uri"}, true
				}
				return nil, false
			}),
		},
		{
			ID:      "uri.reserved",
			Title:   "A client cannot register a procedure under the reserved first component \"wamp\": REGISTER is refused with ERROR",
			Section: secURIs, Level: SHOULD,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				req := s.NextID()
				s.Send(&protocol.Register{Request: req, Options: protocol.Dict{}, Procedure: "wamp.conformance.r" + randomToken()})
				s.ExpectError(protocol.CodeRegister, req, "")
			},
			Breaker: errToRegistered(),
		},
	}
}
