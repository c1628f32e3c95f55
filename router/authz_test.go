package router_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// holeAuthorizer lets role "app" use app.* except app.admin and what is
// under it; it records every question. It knows nothing of patterns: it
// is asked about the pattern string as about a URI.
type holeAuthorizer struct {
	mu    sync.Mutex
	asked []string // "action uri"
}

func (a *holeAuthorizer) Authorize(_ context.Context, s *router.SessionInfo, action router.Action, uri string) error {
	a.mu.Lock()
	a.asked = append(a.asked, string(action)+" "+uri)
	a.mu.Unlock()
	if s.AuthRole != "app" {
		return nil
	}
	if uri == "app.broken" {
		return errors.New("policy store unreachable")
	}
	if uri == "app.admin" || strings.HasPrefix(uri, "app.admin.") {
		return session.NewError(protocol.URINotAuthorized, nil, nil)
	}
	return nil
}

func (a *holeAuthorizer) questions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.asked
	a.asked = nil
	return q
}

// patternAware is holeAuthorizer that also implements
// router.PatternAuthorizer: it sees the match policy and says whether
// the pattern is allowed whole.
type patternAware struct {
	holeAuthorizer
	patterns []string // "action match pattern"
}

func (a *patternAware) AuthorizePattern(_ context.Context, s *router.SessionInfo, action router.Action, pattern, match string) (bool, error) {
	a.mu.Lock()
	a.patterns = append(a.patterns, string(action)+" "+match+" "+pattern)
	a.mu.Unlock()
	if s.AuthRole != "app" {
		return true, nil
	}
	// app.x. and below is whole; anything reaching app.admin is not.
	return strings.HasPrefix(pattern, "app.x."), nil
}

// A plain Authorizer, unaware of match policies, is enough for the
// guarantee: calls and events through a pattern are checked URI by URI.
func TestPlainAuthorizerHoldsForPatterns(t *testing.T) {
	az := &holeAuthorizer{}
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authorizer: az, Authenticators: []auth.Authenticator{anyTicket}})
	ctx := ctxT(t)
	app := join(t, r, ticketCfg("app1", "app"))
	other := join(t, r, ticketCfg("svc", "backend"))

	var mu sync.Mutex
	var invoked []string
	if _, err := app.Register(ctx, "app.adm", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		mu.Lock()
		invoked = append(invoked, inv.Procedure)
		mu.Unlock()
		return &session.Result{Args: protocol.List{"app"}}, nil
	}, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	if q := az.questions(); !slices.Equal(q, []string{"register app.adm"}) {
		t.Errorf("REGISTER asked %q", q)
	}
	for _, tc := range []struct {
		uri  string
		want string // "app" or the error URI
	}{
		{"app.adm", "app"},
		{"app.administrators", "app"},
		{"app.admin", protocol.URINoSuchProcedure},
		{"app.admin.reset", protocol.URINoSuchProcedure},
	} {
		res, err := other.Call(ctx, tc.uri, protocol.List{"admin-password=hunter2"}, nil)
		got := ""
		var we *session.Error
		switch {
		case err == nil:
			got, _ = res.Arg(0).(string)
		case errors.As(err, &we):
			got = we.URI
		default:
			t.Fatalf("call %s: %v", tc.uri, err)
		}
		if got != tc.want {
			t.Errorf("call %s: %s, want %s", tc.uri, got, tc.want)
		}
		// The caller is asked about the URI, the callee about registering it.
		if q := az.questions(); !slices.Equal(q, []string{"call " + tc.uri, "register " + tc.uri}) {
			t.Errorf("call %s asked %q", tc.uri, q)
		}
	}
	mu.Lock()
	if !slices.Equal(invoked, []string{"app.adm", "app.administrators"}) {
		t.Errorf("app was invoked for %q", invoked)
	}
	mu.Unlock()

	l := newEventLog()
	if _, err := app.Subscribe(ctx, "app.", l.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	az.questions()
	for _, topic := range []string{"app.admin", "app.x", "app.admin.reset", "app.y"} {
		if err := other.Publish(ctx, topic, protocol.List{topic}, nil, session.Acknowledge(true)); err != nil {
			t.Fatal(err)
		}
	}
	evs := waitEvents(t, l, 2)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Topic)
	}
	if !slices.Equal(got, []string{"app.x", "app.y"}) {
		t.Errorf("app's prefix subscription received %q", got)
	}
	// An authorizer that fails (not a WAMP refusal) withholds delivery.
	for _, topic := range []string{"app.broken", "app.last"} {
		if err := other.Publish(ctx, topic, protocol.List{topic}, nil, session.Acknowledge(true)); err != nil {
			t.Fatal(err)
		}
	}
	if evs := waitEvents(t, l, 3); evs[2].Topic != "app.last" {
		t.Errorf("event the authorizer failed on was delivered: %v", evs[2].Topic)
	}
}

// A PatternAuthorizer is told the match policy; a pattern it allows whole
// costs no further questions, one it allows in part is checked per URI.
func TestPatternAuthorizerSeesMatchPolicy(t *testing.T) {
	az := &patternAware{}
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authorizer: az, Authenticators: []auth.Authenticator{anyTicket}})
	ctx := ctxT(t)
	app := join(t, r, ticketCfg("app1", "app"))
	other := join(t, r, ticketCfg("svc", "backend"))

	whole := newEventLog()
	part := newEventLog()
	if _, err := app.Subscribe(ctx, "app.x.", whole.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Subscribe(ctx, "app..reset", part.handler, session.Match("wildcard")); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Register(ctx, "app.x.get", echo); err != nil {
		t.Fatal(err)
	}
	az.mu.Lock()
	patterns := az.patterns
	az.mu.Unlock()
	if want := []string{"subscribe prefix app.x.", "subscribe wildcard app..reset"}; !slices.Equal(patterns, want) {
		t.Errorf("AuthorizePattern asked %q, want %q", patterns, want)
	}
	if q := az.questions(); !slices.Equal(q, []string{"register app.x.get"}) {
		t.Errorf("exact REGISTER asked %q", q)
	}
	for _, topic := range []string{"app.x.reset", "app.admin.reset", "app.y.reset"} {
		if err := other.Publish(ctx, topic, nil, nil, session.Acknowledge(true)); err != nil {
			t.Fatal(err)
		}
	}
	if evs := waitEvents(t, whole, 1); evs[0].Topic != "app.x.reset" {
		t.Errorf("whole pattern got %s", evs[0].Topic)
	}
	var got []string
	for _, ev := range waitEvents(t, part, 2) {
		got = append(got, ev.Topic)
	}
	if !slices.Equal(got, []string{"app.x.reset", "app.y.reset"}) {
		t.Errorf("partly allowed pattern got %q", got)
	}
	// Publishers are asked about each topic; subscribers through the
	// partly allowed pattern about each topic it delivers, never about
	// the pattern allowed whole.
	q := az.questions()
	slices.Sort(q)
	want := []string{
		"publish app.admin.reset", "publish app.x.reset", "publish app.y.reset",
		"subscribe app.admin.reset", "subscribe app.x.reset", "subscribe app.y.reset",
	}
	if !slices.Equal(q, want) {
		t.Errorf("asked %q, want %q", q, want)
	}
}

// waitEvents waits for n events in l and returns the first n.
func waitEvents(t *testing.T, l *eventLog, n int) []*session.Event {
	t.Helper()
	l.wait(t, n)
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ev[:n])
}

// Retained events reach a new pattern subscriber under the same check.
func TestRetainedEventsThroughPatternsAreChecked(t *testing.T) {
	az := &holeAuthorizer{}
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authorizer: az, Authenticators: []auth.Authenticator{anyTicket}})
	ctx := ctxT(t)
	app := join(t, r, ticketCfg("app1", "app"))
	other := join(t, r, ticketCfg("svc", "backend"))
	for _, topic := range []string{"app.admin", "app.x", "app.admin.reset"} {
		if err := other.Publish(ctx, topic, protocol.List{topic}, nil, session.Acknowledge(true), session.WithOption("retain", true)); err != nil {
			t.Fatal(err)
		}
	}
	l := newEventLog()
	if _, err := app.Subscribe(ctx, "app.", l.handler, session.Match("prefix"), session.WithOption("get_retained", true)); err != nil {
		t.Fatal(err)
	}
	if err := other.Publish(ctx, "app.last", nil, nil, session.Acknowledge(true)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range waitEvents(t, l, 2) {
		got = append(got, ev.Topic)
	}
	if !slices.Equal(got, []string{"app.x", "app.last"}) {
		t.Errorf("prefix subscriber with get_retained received %q", got)
	}
}

func TestMatchURI(t *testing.T) {
	for _, tc := range []struct {
		pattern, match, uri string
		want                bool
	}{
		{"a.b", "exact", "a.b", true},
		{"a.b", "exact", "a.b.c", false},
		{"a.b", "prefix", "a.b", true},
		{"a.b", "prefix", "a.bc", true},
		{"a.b", "prefix", "a.b.c", true},
		{"a.b.", "prefix", "a.bc", false},
		{"a..c", "wildcard", "a.b.c", true},
		{"a..c", "wildcard", "a.b.d", false},
		{"a..c", "wildcard", "a.b.x.c", false},
		{"..", "wildcard", "x.y.z", true},
	} {
		if got := router.MatchURI(tc.pattern, tc.match, tc.uri); got != tc.want {
			t.Errorf("MatchURI(%q, %s, %q) = %v", tc.pattern, tc.match, tc.uri, got)
		}
	}
}
