package router

import (
	"context"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Tests of the Advanced Profile features added for issue #12, driven with
// hand-written messages (see raw_test.go for the helpers).

// After CANCEL mode kill the caller gets wamp.error.canceled, whatever URI
// the interrupted callee answers with.
func TestRawCancelKillAnswersCanceled(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinRaw(t, r, rawOpt{})
	caller := joinRaw(t, r, rawOpt{})
	callee.register("p.slow", nil)
	for _, uri := range []string{"wamp.error.runtime_error", "app.error.whatever", "wamp.error.canceled"} {
		req := caller.call("p.slow", nil)
		inv := expect[*protocol.Invocation](callee)
		caller.send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": "kill"}})
		if in := expect[*protocol.Interrupt](callee); in.Request != inv.Request || in.Options["mode"] != "kill" {
			t.Fatalf("INTERRUPT %+v", in)
		}
		callee.send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, URI: uri, Args: protocol.List{"stopped"}})
		e := expect[*protocol.Error](caller)
		if e.Request != req || e.URI != "wamp.error.canceled" {
			t.Fatalf("callee answered %s: caller got ERROR %s %v, want wamp.error.canceled", uri, e.URI, e.Args)
		}
	}
}

// session.Accept's default roles (for custom routers built on it) announce
// exactly what this router announces: no feature the router lacks.
func TestAcceptDefaultRolesMatchRouter(t *testing.T) {
	r := newTestRouter(t, Config{})
	got := welcomeRoles(t, func(p transport.Peer) { r.ServePeer(context.Background(), p) })
	def := welcomeRoles(t, func(p transport.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if j, err := session.Accept(ctx, p, session.AcceptConfig{}); err == nil {
			j.Peer.Close()
		}
	})
	if diff := cmp.Diff(got, def); diff != "" {
		t.Fatalf("session.Accept default roles differ from the router's (-router +default):\n%s", diff)
	}
}

// welcomeRoles joins the router served by serve and returns
// WELCOME.Details.roles.
func welcomeRoles(t *testing.T, serve func(transport.Peer)) protocol.Dict {
	t.Helper()
	a, b := transport.Pipe(protocol.JSON)
	done := make(chan struct{})
	go func() { defer close(done); serve(b) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := session.Join(ctx, a, session.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := s.Info().Details["roles"].(protocol.Dict)
	s.Close(ctx)
	<-done
	return roles
}

// A killed session that never answers the GOODBYE is dropped after
// flushTimeout.
func TestRawKilledSessionMustAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New(Config{Realms: []RealmConfig{{Name: "realm1"}}})
		if err != nil {
			t.Fatal(err)
		}
		admin := joinRaw(t, r, rawOpt{})
		victim := joinRaw(t, r, rawOpt{})
		req := admin.call("wamp.session.kill", nil, victim.id)
		if res := expect[*protocol.Result](admin); res.Request != req {
			t.Fatalf("RESULT %+v", res)
		}
		if g := expect[*protocol.Goodbye](victim); g.Reason != "wamp.close.killed" {
			t.Fatalf("GOODBYE %+v", g)
		}
		time.Sleep(flushTimeout - time.Millisecond)
		synctest.Wait()
		if r.Realm("realm1").session(victim.id) == nil {
			t.Fatal("dropped before flushTimeout")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if r.Realm("realm1").session(victim.id) != nil {
			t.Fatal("killed session that never answers is still there")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		admin.p.Close()
		r.Close(ctx)
	})
}

func progressiveHello() protocol.Dict {
	f := protocol.Dict{"call_canceling": true, "progressive_call_results": true, "progressive_call_invocations": true}
	return protocol.Dict{"roles": protocol.Dict{
		"caller": protocol.Dict{"features": f},
		"callee": protocol.Dict{"features": f},
	}}
}

func TestRawProgressiveCallInvocations(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinRaw(t, r, rawOpt{hello: progressiveHello()})
	other := joinRaw(t, r, rawOpt{hello: progressiveHello()})
	caller := joinRaw(t, r, rawOpt{hello: progressiveHello()})
	plainCaller := joinRaw(t, r, rawOpt{})
	plainCallee := joinRaw(t, r, rawOpt{})
	reg := callee.register("p.stream", protocol.Dict{"invoke": "roundrobin"})
	other.register("p.stream", protocol.Dict{"invoke": "roundrobin"})
	plainCallee.register("p.plain", nil)

	t.Run("stream", func(t *testing.T) {
		// chunks all go to the callee the first CALL picked, with the same
		// INVOCATION id and the first CALL's options
		req := caller.nextReq()
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true, "disclose_me": true, "receive_progress": true}, Procedure: "p.stream", Args: protocol.List{"a"}})
		first := expect[*protocol.Invocation](callee)
		if first.Registration != reg || first.Details["progress"] != true || first.Details["caller"] == nil || first.Details["receive_progress"] != true {
			t.Fatalf("first INVOCATION %+v", first)
		}
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.stream", Args: protocol.List{"b"}})
		callee.send(&protocol.Yield{Request: first.Request, Options: protocol.Dict{"progress": true}, Args: protocol.List{"got a"}})
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{}, Procedure: "p.stream", Args: protocol.List{"c"}})
		for _, want := range []struct {
			arg      string
			progress bool
		}{{"b", true}, {"c", false}} {
			inv := expect[*protocol.Invocation](callee)
			if inv.Request != first.Request || inv.Args[0] != want.arg || (inv.Details["progress"] == true) != want.progress || inv.Details["caller"] == nil {
				t.Fatalf("chunk %s: INVOCATION %+v", want.arg, inv)
			}
		}
		if res := expect[*protocol.Result](caller); res.Details["progress"] != true || res.Args[0] != "got a" {
			t.Fatalf("progressive RESULT %+v", res)
		}
		callee.send(&protocol.Yield{Request: first.Request, Args: protocol.List{"abc"}})
		if res := expect[*protocol.Result](caller); res.Request != req || res.Args[0] != "abc" {
			t.Fatalf("RESULT %+v", res)
		}
		other.noMessage(20 * time.Millisecond)
	})
	t.Run("callee-ends-early", func(t *testing.T) {
		// roundrobin: this call goes to other
		req := caller.nextReq()
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		inv := expect[*protocol.Invocation](other)
		other.send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, URI: "app.error.enough"})
		if e := expect[*protocol.Error](caller); e.URI != "app.error.enough" {
			t.Fatalf("ERROR %+v", e)
		}
		// late chunks are dropped, not a new call nor a violation
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{}, Procedure: "p.stream"})
		other.noMessage(20 * time.Millisecond)
		callee.noMessage(time.Millisecond)
		caller.noMessage(time.Millisecond)
	})
	t.Run("cancel", func(t *testing.T) {
		req := caller.nextReq()
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		inv := expect[*protocol.Invocation](callee)
		caller.send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": "killnowait"}})
		if e := expect[*protocol.Error](caller); e.URI != "wamp.error.canceled" {
			t.Fatalf("ERROR %+v", e)
		}
		if in := expect[*protocol.Interrupt](callee); in.Request != inv.Request {
			t.Fatalf("INTERRUPT %+v", in)
		}
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		callee.noMessage(20 * time.Millisecond)
	})
	t.Run("callee-without-feature", func(t *testing.T) {
		req := caller.nextReq()
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "p.plain"})
		if e := expect[*protocol.Error](caller); e.URI != "wamp.error.feature_not_supported" {
			t.Fatalf("ERROR %+v", e)
		}
		req = caller.nextReq()
		caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: "wamp.session.count"})
		if e := expect[*protocol.Error](caller); e.URI != "wamp.error.feature_not_supported" {
			t.Fatalf("internal procedure: ERROR %+v", e)
		}
	})
	t.Run("refused-then-late-chunks", func(t *testing.T) {
		// A progressive call the dealer refuses at once: the chunks the
		// caller sent before it saw the ERROR are late chunks, dropped,
		// not out-of-sequence request ids (the session goes on).
		for _, tc := range []struct{ procedure, uri string }{
			{"p.plain", "wamp.error.feature_not_supported"},
			{"wamp.session.count", "wamp.error.feature_not_supported"},
			{"p.nobody", "wamp.error.no_such_procedure"},
		} {
			req := caller.nextReq()
			caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: tc.procedure})
			caller.send(&protocol.Call{Request: req, Options: protocol.Dict{"progress": true}, Procedure: tc.procedure})
			caller.send(&protocol.Call{Request: req, Options: protocol.Dict{}, Procedure: tc.procedure})
			if e := expect[*protocol.Error](caller); e.Request != req || e.URI != tc.uri {
				t.Fatalf("%s: ERROR %+v, want %s", tc.procedure, e, tc.uri)
			}
			next := caller.call("wamp.session.count", nil)
			if res := expect[*protocol.Result](caller); res.Request != next {
				t.Fatalf("%s: after late chunks: RESULT %+v", tc.procedure, res)
			}
		}
		plainCallee.noMessage(20 * time.Millisecond)
	})
	t.Run("caller-leaves", func(t *testing.T) {
		c2 := joinRaw(t, r, rawOpt{hello: progressiveHello()})
		c2.send(&protocol.Call{Request: 1, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		inv := expect[*protocol.Invocation](other)
		c2.p.Close()
		if in := expect[*protocol.Interrupt](other); in.Request != inv.Request || in.Options["mode"] != "killnowait" {
			t.Fatalf("INTERRUPT %+v", in)
		}
	})
	t.Run("caller-without-feature-violates", func(t *testing.T) {
		plainCaller.send(&protocol.Call{Request: 1, Options: protocol.Dict{"progress": true}, Procedure: "p.stream"})
		if a := expect[*protocol.Abort](plainCaller); a.Reason != "wamp.error.protocol_violation" {
			t.Fatalf("ABORT %+v", a)
		}
	})
}

// Payload passthru mode: the router forwards ppt_* keys and the payload
// untouched, and enforces the spec's feature rules.
func TestRawPassthruRules(t *testing.T) {
	r := newTestRouter(t, Config{})
	ppt := protocol.Dict{"roles": protocol.ClientRoles()}
	caller := joinRaw(t, r, rawOpt{hello: ppt})
	callee := joinRaw(t, r, rawOpt{hello: ppt})
	plain := joinRaw(t, r, rawOpt{}) // announces no payload_passthru_mode
	callee.register("ppt.rpc", nil)
	plain.register("ppt.plain", nil)
	opts := protocol.Dict{"ppt_scheme": "mqtt", "ppt_serializer": "mqtt", "x_custom": "kept out"}
	payload := protocol.List{[]byte{0xde, 0xad}}

	req := caller.call("ppt.rpc", opts, payload...)
	inv := expect[*protocol.Invocation](callee)
	if inv.Details["ppt_scheme"] != "mqtt" || inv.Details["ppt_serializer"] != "mqtt" || inv.Details["x_custom"] != nil || len(inv.Args) != 1 {
		t.Fatalf("INVOCATION %+v", inv)
	}
	callee.send(&protocol.Yield{Request: inv.Request, Options: protocol.Dict{"ppt_scheme": "mqtt", "ppt_keyid": "k"}, Args: payload})
	if res := expect[*protocol.Result](caller); res.Request != req || res.Details["ppt_keyid"] != "k" || res.Details["ppt_scheme"] != "mqtt" {
		t.Fatalf("RESULT %+v", res)
	}
	req = caller.call("ppt.rpc", opts, payload...)
	inv = expect[*protocol.Invocation](callee)
	callee.send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, Details: protocol.Dict{"ppt_scheme": "mqtt"}, URI: "app.error.x", Args: payload})
	if e := expect[*protocol.Error](caller); e.Request != req || e.Details["ppt_scheme"] != "mqtt" {
		t.Fatalf("ERROR %+v", e)
	}

	// a callee without the feature: feature_not_supported
	caller.call("ppt.plain", opts, payload...)
	if e := expect[*protocol.Error](caller); e.URI != protocol.URIFeatureNotSupported {
		t.Fatalf("ERROR %+v", e)
	}
	plain.noMessage(10 * time.Millisecond)

	// a caller without the feature gets no passthru result
	plain.call("ppt.rpc", nil)
	inv = expect[*protocol.Invocation](callee)
	callee.send(&protocol.Yield{Request: inv.Request, Options: protocol.Dict{"ppt_scheme": "mqtt"}, Args: payload})
	if e := expect[*protocol.Error](plain); e.URI != protocol.URIFeatureNotSupported {
		t.Fatalf("ERROR %+v", e)
	}

	// sending ppt without announcing it is a protocol violation
	for _, m := range []protocol.Message{
		&protocol.Call{Request: 1, Options: opts, Procedure: "ppt.rpc", Args: payload},
		&protocol.Publish{Request: 1, Options: opts, Topic: "ppt.t", Args: payload},
	} {
		c := joinRaw(t, r, rawOpt{})
		c.send(m)
		if a := expect[*protocol.Abort](c); a.Reason != protocol.URIProtocolViolation {
			t.Fatalf("%s: ABORT %+v", m.Code(), a)
		}
	}
	// autobahn's enc_* spelling is forwarded without feature checks
	plain2 := joinRaw(t, r, rawOpt{})
	plain2.subscribe("ppt.enc", nil)
	caller.send(&protocol.Publish{Request: caller.nextReq(), Options: protocol.Dict{"enc_algo": "cryptobox", "enc_serializer": "json"}, Topic: "ppt.enc", Args: protocol.List{[]byte{1, 2}}})
	if ev := expect[*protocol.Event](plain2); ev.Details["enc_algo"] != "cryptobox" || ev.Details["enc_serializer"] != "json" {
		t.Fatalf("EVENT %+v", ev)
	}
}
