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
