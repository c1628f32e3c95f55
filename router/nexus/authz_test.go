package nexus_test

// Issue 13: patterns cannot get around authorization. Every test here runs
// through real sockets (WebSocket on loopback, RawSocket on a Unix socket).

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// authzUsers has a custom role "app" with a hole in its namespace: it may
// use com.izaber.wamp.app.* except com.izaber.wamp.app.admin and
// everything under it.
const authzUsers = `
users:
  - {login: appuser, password: app-pw, role: app}
  - {login: alice, password: alice-pw, role: frontend}
  - {login: bob, password: bob-pw, role: backend}
  - {login: carol, password: carol-pw, role: trust}
roles:
  app:
    - {uri: "com.izaber.wamp.app.*", perms: "crsp"}
    - {uri: "com.izaber.wamp.app.admin", perms: ""}
    - {uri: "com.izaber.wamp.app.admin.*", perms: ""}
`

// roleAllows is what each role may do (crsp alike) on a concrete URI,
// written out by hand from the roles above and the documented built-in
// roles, independently of the code under test.
var roleAllows = map[string]func(uri string) bool{
	"appuser": func(u string) bool {
		return strings.HasPrefix(u, "com.izaber.wamp.app.") &&
			u != "com.izaber.wamp.app.admin" && !strings.HasPrefix(u, "com.izaber.wamp.app.admin.")
	},
	"alice": func(u string) bool {
		return strings.HasPrefix(u, "com.izaber.wamp.frontend.") || strings.HasPrefix(u, "com.izaber.wamp.public.")
	},
	"bob": func(u string) bool { return strings.HasPrefix(u, "com.izaber.wamp.") },
}

var authzPasswords = map[string]string{"appuser": "app-pw", "alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

// authzURIs are the concrete URIs every row is tried with: allowed,
// denied and overlapping ones for each role.
var authzURIs = []string{
	"com.izaber.wamp.app.adm",
	"com.izaber.wamp.app.admin",
	"com.izaber.wamp.app.admin.reset",
	"com.izaber.wamp.app.admin.data",
	"com.izaber.wamp.app.administrators",
	"com.izaber.wamp.app.x.data",
	"com.izaber.wamp.frontend.x",
	"com.izaber.wamp.frontend.x.data",
	"com.izaber.wamp.public.news",
	"com.izaber.wampx.y",
	"com.izaber.wamp.other",
}

// patternRows are the registrations and subscriptions tried, each as
// register and as subscribe: whether the router accepts it, and, for
// subscriptions, a topic it matches that the role may receive (marker),
// published last so that receiving it means every earlier event has been
// seen.
var patternRows = []struct {
	login, match, pattern string
	accepted              bool
	marker                string // default: the pattern made concrete with "zzmark"
}{
	{login: "appuser", match: "exact", pattern: "com.izaber.wamp.app.adm", accepted: true},
	{login: "appuser", match: "exact", pattern: "com.izaber.wamp.app.admin"},
	{login: "appuser", match: "prefix", pattern: "com.izaber.wamp.app.adm", accepted: true},
	{login: "appuser", match: "prefix", pattern: "com.izaber.wamp.app.", accepted: true},
	{login: "appuser", match: "prefix", pattern: "com.izaber.wamp.app.admin.", accepted: false},
	{login: "appuser", match: "prefix", pattern: "com.izaber.wamp.frontend.", accepted: false},
	{login: "appuser", match: "wildcard", pattern: "com.izaber.wamp.app..data", accepted: true},
	{login: "appuser", match: "wildcard", pattern: "com.izaber.wamp.app.admin.", accepted: false},
	{login: "appuser", match: "wildcard", pattern: "com.izaber.wamp...data", accepted: true, marker: "com.izaber.wamp.app.zzmark.data"},
	{login: "alice", match: "exact", pattern: "com.izaber.wamp.frontend.x", accepted: true},
	{login: "alice", match: "exact", pattern: "com.izaber.wamp.app.adm"},
	{login: "alice", match: "prefix", pattern: "com.izaber.wamp.", accepted: true, marker: "com.izaber.wamp.public.zzmark"},
	{login: "alice", match: "prefix", pattern: "com.izaber.wamp.frontend.", accepted: true},
	{login: "alice", match: "prefix", pattern: "com.izaber.wamp.app.", accepted: false},
	{login: "alice", match: "wildcard", pattern: "com.izaber.wamp..x", accepted: true, marker: "com.izaber.wamp.frontend.x"},
	{login: "bob", match: "exact", pattern: "com.izaber.wampx.y"},
	{login: "bob", match: "prefix", pattern: "com.izaber.wamp", accepted: true},
	{login: "bob", match: "prefix", pattern: "com.izaber.wamp.app.", accepted: true},
	{login: "bob", match: "wildcard", pattern: "com.izaber.wamp..data", accepted: true},
	{login: "bob", match: "wildcard", pattern: "com...y", accepted: true, marker: "com.izaber.wamp.y"},
}

func markerOf(match, pattern string) string {
	switch match {
	case protocol.MatchPrefix:
		if strings.HasSuffix(pattern, ".") {
			return pattern + "zzmark"
		}
		return pattern + ".zzmark"
	case protocol.MatchWildcard:
		parts := strings.Split(pattern, ".")
		for i := range parts {
			if parts[i] == "" {
				parts[i] = "zzmark"
			}
		}
		return strings.Join(parts, ".")
	}
	return pattern
}

// No session receives an INVOCATION or EVENT for a concrete URI its role
// may not register or subscribe to, whatever pattern it used; callers and
// publishers are held to the concrete URI. Roles × match policies × URIs,
// for register, subscribe, call and publish.
func TestPatternAuthorization(t *testing.T) {
	sr := newSockRig(t, authzUsers)
	ctx := sr.ctx
	// carol (trust) calls and publishes every URI, and answers the calls
	// of the other roles.
	carol := sr.join("carol", "carol-pw")
	sessions := map[string]*session.Session{}
	for i, login := range []string{"appuser", "alice", "bob"} {
		url := sr.ws
		if i%2 == 1 {
			url = sr.unix
		}
		s, err := sr.dial(url, login, authzPasswords[login])
		if err != nil {
			t.Fatalf("join %s: %v", login, err)
		}
		sessions[login] = s
	}

	t.Run("register", func(t *testing.T) {
		for _, row := range patternRows {
			s := sessions[row.login]
			reg, err := s.Register(ctx, row.pattern, func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
				// The forged answer of the issue.
				return &session.Result{Args: protocol.List{"forged by " + row.login}}, nil
			}, session.Match(row.match))
			if (err == nil) != row.accepted {
				t.Errorf("%s registering %s %q: %v, want accepted=%v", row.login, row.match, row.pattern, err, row.accepted)
			}
			if err != nil {
				if errURI(err) != notAuthorized {
					t.Errorf("%s registering %s %q: %v, want %s", row.login, row.match, row.pattern, err, notAuthorized)
				}
				continue
			}
			for _, u := range authzURIs {
				want := router.MatchURI(row.pattern, row.match, u) && roleAllows[row.login](u)
				res, err := carol.Call(ctx, u, protocol.List{"admin-password=hunter2"}, nil)
				switch {
				case want && err != nil:
					t.Errorf("%s registered %s %q: call to %s failed: %v", row.login, row.match, row.pattern, u, err)
				case !want && err == nil:
					t.Errorf("%s registered %s %q and received the call to %s (answered %v)", row.login, row.match, row.pattern, u, res.Arg(0))
				case !want && errURI(err) != protocol.URINoSuchProcedure:
					t.Errorf("%s registered %s %q: call to %s: %v, want %s", row.login, row.match, row.pattern, u, err, protocol.URINoSuchProcedure)
				}
			}
			if err := s.Unregister(ctx, reg); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("subscribe", func(t *testing.T) {
		for _, row := range patternRows {
			s := sessions[row.login]
			marker := row.marker
			if marker == "" {
				marker = markerOf(row.match, row.pattern)
			}
			var mu sync.Mutex
			var got []string
			done := make(chan struct{})
			sub, err := s.Subscribe(ctx, row.pattern, func(ev *session.Event) {
				mu.Lock()
				defer mu.Unlock()
				if ev.Topic == marker && ev.Arg(0) == "marker" {
					close(done)
					return
				}
				got = append(got, ev.Topic)
			}, session.Match(row.match))
			if (err == nil) != row.accepted {
				t.Errorf("%s subscribing %s %q: %v, want accepted=%v", row.login, row.match, row.pattern, err, row.accepted)
			}
			if err != nil {
				if errURI(err) != notAuthorized {
					t.Errorf("%s subscribing %s %q: %v, want %s", row.login, row.match, row.pattern, err, notAuthorized)
				}
				continue
			}
			if !router.MatchURI(row.pattern, row.match, marker) || !roleAllows[row.login](marker) {
				t.Fatalf("bad test row: marker %q of %s %q", marker, row.match, row.pattern)
			}
			var want []string
			for _, u := range authzURIs {
				if router.MatchURI(row.pattern, row.match, u) && roleAllows[row.login](u) {
					want = append(want, u)
				}
				if err := carol.Publish(ctx, u, protocol.List{"secret"}, nil, session.Acknowledge(true)); err != nil {
					t.Fatalf("carol publishing %s: %v", u, err)
				}
			}
			if err := carol.Publish(ctx, marker, protocol.List{"marker"}, nil, session.Acknowledge(true)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatalf("%s subscribed %s %q: marker %s never arrived", row.login, row.match, row.pattern, marker)
			}
			mu.Lock()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s subscribed %s %q received %q, want %q", row.login, row.match, row.pattern, got, want)
			}
			mu.Unlock()
			if err := s.Unsubscribe(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("call and publish", func(t *testing.T) {
		var regs []*session.Registration
		for _, u := range authzURIs {
			reg, err := carol.Register(ctx, u, func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
				return &session.Result{Args: protocol.List{"carol"}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			regs = append(regs, reg)
		}
		for login, s := range sessions {
			for _, u := range authzURIs {
				want := roleAllows[login](u)
				res, err := s.Call(ctx, u, nil, nil)
				switch {
				case want && (err != nil || res.Arg(0) != "carol"):
					t.Errorf("%s calling %s: %v, want carol's answer", login, u, err)
				case !want && errURI(err) != notAuthorized:
					t.Errorf("%s calling %s: %v, want %s", login, u, err, notAuthorized)
				}
				err = s.Publish(ctx, u, nil, nil, session.Acknowledge(true))
				switch {
				case want && err != nil:
					t.Errorf("%s publishing to %s: %v", login, u, err)
				case !want && errURI(err) != notAuthorized:
					t.Errorf("%s publishing to %s: %v, want %s", login, u, err, notAuthorized)
				}
			}
		}
		for _, reg := range regs {
			carol.Unregister(ctx, reg)
		}
	})
}

// The attack of the issue, and why dispatch-time checks pass over a
// callee instead of failing the call: an overlapping pattern registered by
// a role with a hole in its namespace neither receives the denied call nor
// takes it away from a registration that may have it.
func TestOverlappingPatternCannotCaptureOrBlockCalls(t *testing.T) {
	sr := newSockRig(t, authzUsers)
	ctx := sr.ctx
	app := sr.join("appuser", "app-pw")
	bob := sr.join("bob", "bob-pw")
	var leaked []string
	var mu sync.Mutex
	if _, err := app.Register(ctx, "com.izaber.wamp.app.adm", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		mu.Lock()
		leaked = append(leaked, inv.Procedure)
		mu.Unlock()
		return &session.Result{Args: protocol.List{"forged"}}, nil
	}, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	_, err := bob.Call(ctx, "com.izaber.wamp.app.admin", protocol.List{"admin-password=hunter2"}, nil)
	if errURI(err) != protocol.URINoSuchProcedure {
		t.Errorf("call to app.admin with only app's prefix registered: %v, want %s", err, protocol.URINoSuchProcedure)
	}
	// A shorter prefix registered by a role that may have app.admin gets
	// the call, although app's longer prefix matches it too.
	if _, err := bob.Register(ctx, "com.izaber.wamp.app.", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"bob"}}, nil
	}, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	res, err := bob.Call(ctx, "com.izaber.wamp.app.admin", protocol.List{"admin-password=hunter2"}, nil)
	if err != nil || res.Arg(0) != "bob" {
		t.Errorf("call to app.admin: %v %v, want bob's answer", res, err)
	}
	// app's prefix still takes what it may have.
	res, err = bob.Call(ctx, "com.izaber.wamp.app.administrators", nil, nil)
	if err != nil || res.Arg(0) != "forged" {
		t.Errorf("call to app.administrators: %v %v, want app's answer", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(leaked, []string{"com.izaber.wamp.app.administrators"}) {
		t.Errorf("app's prefix registration received %q", leaked)
	}
}
