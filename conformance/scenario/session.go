package scenario

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// clientFeatures are the features a scenario session announces by default:
// everything the scenarios are written to handle.
var clientFeatures = map[string][]string{
	"caller": {"call_canceling", "call_timeout", "caller_identification", "progressive_call_results",
		"progressive_call_invocations", "payload_passthru_mode"},
	"callee": {"call_canceling", "call_timeout", "caller_identification", "pattern_based_registration",
		"shared_registration", "progressive_call_results", "progressive_call_invocations",
		"registration_revocation", "payload_passthru_mode"},
	"publisher": {"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing",
		"payload_passthru_mode"},
	"subscriber": {"pattern_based_subscription", "publisher_identification", "subscription_revocation",
		"payload_passthru_mode"},
}

// Roles returns HELLO.Details.roles announcing the default client
// features, without those listed as "role.feature" in without.
func Roles(without ...string) protocol.Dict {
	roles := protocol.Dict{}
	for role, fs := range clientFeatures {
		f := protocol.Dict{}
		for _, name := range fs {
			if !slices.Contains(without, role+"."+name) {
				f[name] = true
			}
		}
		roles[role] = protocol.Dict{"features": f}
	}
	return roles
}

// BasicRoles is HELLO.Details.roles of a Basic Profile client: all four
// roles, no features.
func BasicRoles() protocol.Dict {
	return protocol.Dict{"caller": protocol.Dict{}, "callee": protocol.Dict{}, "publisher": protocol.Dict{}, "subscriber": protocol.Dict{}}
}

// JoinOptions configures T.Join. The zero value joins the realm under
// test with the run's default authentication and the default roles.
type JoinOptions struct {
	// Auth is the authentication to use: "anonymous", "ticket",
	// "wampcra", "wampcra-salted", "cryptosign" or "" for the run's
	// default.
	Auth string
	// Roles replaces HELLO.Details.roles (nil: Roles()).
	Roles protocol.Dict
	// Details are added to HELLO.Details.
	Details protocol.Dict
	// Realm replaces the realm under test.
	Realm string
}

// Session is a joined session.
type Session struct {
	*Conn
	// ID is the session id from WELCOME.
	ID protocol.ID
	// Welcome is the router's WELCOME.
	Welcome *protocol.Welcome
	lastReq protocol.ID
	// stash holds EVENTs that arrived while a reply was awaited; Next
	// returns them first.
	stash []protocol.Message
}

// Next returns the next message: stashed EVENTs first, then what arrives.
func (s *Session) Next(what string) protocol.Message {
	if len(s.stash) > 0 {
		m := s.stash[0]
		s.stash = s.stash[1:]
		return m
	}
	return s.Conn.Next(what)
}

// Pending reports how many messages wait to be read.
func (s *Session) Pending() int { return len(s.stash) + s.Conn.Pending() }

// Join opens a connection and a session; any failure fails the scenario.
func (t *T) Join(o JoinOptions) *Session {
	c := t.Dial()
	return c.Join(o)
}

// Join runs the opening handshake on c.
func (c *Conn) Join(o JoinOptions) *Session {
	t := c.t
	hello, method := t.hello(o)
	c.Send(hello)
	for {
		m := c.Next("WELCOME")
		switch m := m.(type) {
		case *protocol.Welcome:
			return &Session{Conn: c, ID: m.Session, Welcome: m}
		case *protocol.Challenge:
			if method == nil {
				t.Fatalf("%s: the router sent a CHALLENGE for %q to a client that offered no authentication", c.name, m.AuthMethod)
			}
			a, err := method.Respond(t.ctx, m)
			if err != nil {
				t.Fatalf("%s: cannot answer the CHALLENGE: %v", c.name, err)
			}
			c.Send(a)
		case *protocol.Abort:
			t.Fatalf("%s: the router refused the session: %s", c.name, describe(m))
		default:
			t.Fatalf("%s: waiting for WELCOME, the router sent %s", c.name, describe(m))
		}
	}
}

// hello builds the HELLO for o and the client method answering challenges.
func (t *T) hello(o JoinOptions) (*protocol.Hello, auth.ClientMethod) {
	roles := o.Roles
	if roles == nil {
		roles = Roles()
	}
	details := protocol.Dict{"roles": roles, "agent": "wamp-conformance"}
	realm := o.Realm
	if realm == "" {
		realm = t.Realm()
	}
	name := o.Auth
	if name == "" {
		name = t.run.cfg.defaultAuth()
	}
	cr, ok := t.run.cfg.credential(name)
	if !ok {
		t.Skipf("no %s credentials given", name)
	}
	details["authmethods"] = protocol.List{cr.method.Method()}
	if cr.AuthID != "" {
		details["authid"] = cr.AuthID
	}
	if extra := cr.method.HelloExtra(); len(extra) > 0 {
		details["authextra"] = extra
	}
	maps.Copy(details, o.Details)
	return &protocol.Hello{Realm: realm, Details: details}, cr.method
}

// PeekID returns the request ID NextID will return, without taking it: for
// a malformed request the router must refuse (a router that ignores it
// instead sees the next request with the same ID, in sequence).
func (s *Session) PeekID() protocol.ID { return s.lastReq + 1 }

// NextID returns the next request id of the session (1, 2, 3… as the spec
// says a client must count).
func (s *Session) NextID() protocol.ID {
	s.lastReq++
	return s.lastReq
}

// Sync makes a round trip to the router and fails the scenario if anything
// else arrives first: everything the router sent before is known to be
// there. It uses an acknowledged publication to a topic nobody subscribes
// to when the router is a broker, else a call of a missing procedure.
func (s *Session) Sync(what string) {
	s.syncWith(what, nil)
}

// syncWith is Sync allowing messages that allow accepts before the reply.
func (s *Session) syncWith(what string, allow func(protocol.Message) bool) {
	t := s.t
	req := s.NextID()
	var matches func(protocol.Message) bool
	if t.RouterRoles()["broker"] != nil {
		s.Send(&protocol.Publish{Request: req, Options: protocol.Dict{"acknowledge": true}, Topic: "conformance_sync." + randomToken()})
		matches = func(m protocol.Message) bool {
			switch m := m.(type) {
			case *protocol.Published:
				return m.Request == req
			case *protocol.Error:
				return m.Request == req && m.RequestType == protocol.CodePublish
			}
			return false
		}
	} else {
		s.Send(&protocol.Call{Request: req, Options: protocol.Dict{}, Procedure: "conformance_sync." + randomToken()})
		matches = func(m protocol.Message) bool {
			e, ok := m.(*protocol.Error)
			return ok && e.Request == req && e.RequestType == protocol.CodeCall
		}
	}
	for {
		m := s.Next("the reply to a round trip (" + what + ")")
		if matches(m) {
			return
		}
		if allow != nil && allow(m) {
			continue
		}
		t.Fatalf("%s: %s; the router sent %s", s.name, what, describe(m))
	}
}

// expect returns the next message, which must be an M accepted by ok.
// While a reply (anything but an EVENT) is awaited, EVENTs that arrive
// are stashed for later: events of existing subscriptions may come at any
// time.
func expect[M protocol.Message](s *Session, what string, ok func(M) bool) M {
	var stashed []protocol.Message
	defer func() { s.stash = append(stashed, s.stash...) }()
	for {
		m := s.Next(what)
		if x, is := m.(M); is && (ok == nil || ok(x)) {
			return x
		}
		if _, isEvent := m.(*protocol.Event); isEvent {
			var zero M
			if _, wantEvent := any(zero).(*protocol.Event); !wantEvent {
				stashed = append(stashed, m)
				continue
			}
		}
		s.t.Fatalf("%s: waiting for %s, the router sent %s", s.name, what, describe(m))
	}
}

// Register registers uri with opts and returns the registration id.
func (s *Session) Register(uri string, opts protocol.Dict) protocol.ID {
	req := s.NextID()
	s.Send(&protocol.Register{Request: req, Options: opts, Procedure: uri})
	r := expect(s, fmt.Sprintf("REGISTERED for REGISTER %d (%s)", req, uri), func(m *protocol.Registered) bool { return m.Request == req })
	return r.Registration
}

// registerSoon registers uri, trying again while the router answers
// wamp.error.procedure_already_exists, for at most within: for a procedure
// whose registration ends with a message that has no reply (a client's
// ABORT, a closed transport), which the router may not have handled yet.
func registerSoon(s *Session, uri string, within time.Duration) protocol.ID {
	deadline := time.Now().Add(within)
	for {
		req := s.NextID()
		s.Send(&protocol.Register{Request: req, Options: protocol.Dict{}, Procedure: uri})
		what := fmt.Sprintf("REGISTERED for REGISTER %d (%s)", req, uri)
		m := s.Next(what)
		switch m := m.(type) {
		case *protocol.Registered:
			if m.Request == req {
				return m.Registration
			}
		case *protocol.Error:
			if m.Request == req && m.RequestType == protocol.CodeRegister && m.URI == protocol.URIProcedureAlreadyExists && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		s.t.Fatalf("%s: waiting for %s, the router sent %s", s.name, what, describe(m))
	}
}

// Unregister unregisters reg.
func (s *Session) Unregister(reg protocol.ID) {
	req := s.NextID()
	s.Send(&protocol.Unregister{Request: req, Registration: reg})
	expect(s, fmt.Sprintf("UNREGISTERED for UNREGISTER %d", req), func(m *protocol.Unregistered) bool { return m.Request == req })
}

// Subscribe subscribes to topic with opts and returns the subscription id.
func (s *Session) Subscribe(topic string, opts protocol.Dict) protocol.ID {
	req := s.NextID()
	s.Send(&protocol.Subscribe{Request: req, Options: opts, Topic: topic})
	r := expect(s, fmt.Sprintf("SUBSCRIBED for SUBSCRIBE %d (%s)", req, topic), func(m *protocol.Subscribed) bool { return m.Request == req })
	return r.Subscription
}

// Unsubscribe ends subscription sub.
func (s *Session) Unsubscribe(sub protocol.ID) {
	req := s.NextID()
	s.Send(&protocol.Unsubscribe{Request: req, Subscription: sub})
	expect(s, fmt.Sprintf("UNSUBSCRIBED for UNSUBSCRIBE %d", req), func(m *protocol.Unsubscribed) bool { return m.Request == req })
}

// Publish sends a PUBLISH and returns its request id.
func (s *Session) Publish(topic string, opts protocol.Dict, args protocol.List, kwargs protocol.Dict) protocol.ID {
	req := s.NextID()
	s.Send(&protocol.Publish{Request: req, Options: opts, Topic: topic, Args: args, Kwargs: kwargs})
	return req
}

// PublishAck publishes with acknowledge=true (added to opts) and returns
// the publication id from PUBLISHED.
func (s *Session) PublishAck(topic string, opts protocol.Dict, args protocol.List, kwargs protocol.Dict) protocol.ID {
	o := protocol.Dict{"acknowledge": true}
	maps.Copy(o, opts)
	req := s.Publish(topic, o, args, kwargs)
	p := expect(s, fmt.Sprintf("PUBLISHED for PUBLISH %d", req), func(m *protocol.Published) bool { return m.Request == req })
	return p.Publication
}

// Call sends a CALL and returns its request id.
func (s *Session) Call(uri string, opts protocol.Dict, args protocol.List, kwargs protocol.Dict) protocol.ID {
	req := s.NextID()
	s.Send(&protocol.Call{Request: req, Options: opts, Procedure: uri, Args: args, Kwargs: kwargs})
	return req
}

// CallResult calls uri and returns the final RESULT.
func (s *Session) CallResult(uri string, opts protocol.Dict, args protocol.List, kwargs protocol.Dict) *protocol.Result {
	return s.ExpectResult(s.Call(uri, opts, args, kwargs))
}

// ExpectResult waits for the RESULT of CALL req.
func (s *Session) ExpectResult(req protocol.ID) *protocol.Result {
	return expect(s, fmt.Sprintf("RESULT for CALL %d", req), func(m *protocol.Result) bool { return m.Request == req })
}

// ExpectError waits for an ERROR answering request req of type typ with
// error URI uri ("" accepts any).
func (s *Session) ExpectError(typ protocol.Code, req protocol.ID, uri string) *protocol.Error {
	what := fmt.Sprintf("ERROR for %s %d", typ, req)
	if uri != "" {
		what = fmt.Sprintf("ERROR %s for %s %d", uri, typ, req)
	}
	return expect(s, what, func(m *protocol.Error) bool {
		return m.RequestType == typ && m.Request == req && (uri == "" || m.URI == uri)
	})
}

// ExpectInvocation waits for an INVOCATION of registration reg.
func (s *Session) ExpectInvocation(reg protocol.ID) *protocol.Invocation {
	return expect(s, fmt.Sprintf("INVOCATION of registration %d", reg), func(m *protocol.Invocation) bool { return m.Registration == reg })
}

// ExpectEvent waits for an EVENT of subscription sub.
func (s *Session) ExpectEvent(sub protocol.ID) *protocol.Event {
	return expect(s, fmt.Sprintf("EVENT of subscription %d", sub), func(m *protocol.Event) bool { return m.Subscription == sub })
}

// ExpectInterrupt waits for an INTERRUPT of invocation req.
func (s *Session) ExpectInterrupt(req protocol.ID) *protocol.Interrupt {
	return expect(s, fmt.Sprintf("INTERRUPT of INVOCATION %d", req), func(m *protocol.Interrupt) bool { return m.Request == req })
}

// Yield answers invocation req.
func (s *Session) Yield(req protocol.ID, opts protocol.Dict, args protocol.List, kwargs protocol.Dict) {
	s.Send(&protocol.Yield{Request: req, Options: opts, Args: args, Kwargs: kwargs})
}

// Leave runs the GOODBYE handshake and returns the router's GOODBYE.
func (s *Session) Leave() *protocol.Goodbye {
	s.Send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"})
	return expect[*protocol.Goodbye](s, "the router's GOODBYE reply", nil)
}

// ExpectAbort waits for ABORT with reason (any reason if "").
func (c *Conn) ExpectAbort(what, reason string) *protocol.Abort {
	f, err := c.NextFrame()
	if err != nil {
		c.t.Fatalf("%s: %s: expected ABORT %s, %s", c.name, what, reason, waitError(err, c.t.Timeout()))
	}
	a, ok := f.Msg.(*protocol.Abort)
	if !ok {
		c.t.Fatalf("%s: %s: expected ABORT %s, the router sent %s", c.name, what, reason, c.Describe(f))
	}
	if reason != "" && a.Reason != reason {
		c.t.Fatalf("%s: %s: ABORT has reason %q, want %q", c.name, what, a.Reason, reason)
	}
	return a
}

// ExpectViolation requires the router to answer what the connection just
// sent with ABORT wamp.error.protocol_violation. probe (if not nil) is sent
// right after the offending message, so that a router that ignores the
// offence shows it at once by answering the probe.
func (c *Conn) ExpectViolation(what string, probe protocol.Message) {
	if probe != nil {
		c.TrySend(probe)
	}
	f, err := c.NextFrame()
	if err != nil {
		c.t.Fatalf("%s: %s must be answered with ABORT wamp.error.protocol_violation; %s", c.name, what, waitError(err, c.t.Timeout()))
	}
	a, ok := f.Msg.(*protocol.Abort)
	if !ok {
		c.t.Fatalf("%s: %s must be answered with ABORT wamp.error.protocol_violation; the router sent %s", c.name, what, c.Describe(f))
	}
	if a.Reason != "wamp.error.protocol_violation" {
		c.t.Fatalf("%s: %s: ABORT has reason %q, want wamp.error.protocol_violation", c.name, what, a.Reason)
	}
}

// probeCall is a CALL that any dealer answers (with ERROR
// wamp.error.no_such_procedure), used to reveal that a router went on.
func (s *Session) probeCall() *protocol.Call {
	return &protocol.Call{Request: s.NextID(), Options: protocol.Dict{}, Procedure: "conformance_probe." + randomToken()}
}

// Violation requires ABORT wamp.error.protocol_violation for what the
// session just sent, probing with a CALL.
func (s *Session) Violation(what string) {
	s.ExpectViolation(what, s.probeCall())
}

// withTimeout returns a context for one wait.
func (t *T) withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.ctx, t.Timeout())
}
