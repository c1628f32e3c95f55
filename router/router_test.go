package router_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Multi-session tests with the session client, over transport.Pipe with a
// real serializer (so every message is encoded and decoded).

const testRealm = "realm1"

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkLeaks fails the test if goroutines started during it are still
// running at the end (after every other cleanup).
func checkLeaks(t *testing.T) { leaktest.Guard(t) }

func newRouter(t *testing.T, rcs ...router.RealmConfig) *router.Router {
	t.Helper()
	checkLeaks(t)
	if len(rcs) == 0 {
		rcs = []router.RealmConfig{{Name: testRealm}}
	}
	r, err := router.New(router.Config{Realms: rcs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("router Close: %v", err)
		}
	})
	return r
}

var serializers = []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}
var serIdx atomic.Int64

// join opens a session on r over an in-memory pipe; serializers rotate.
func join(t *testing.T, r *router.Router, cfg session.Config) *session.Session {
	t.Helper()
	ser := serializers[int(serIdx.Add(1))%len(serializers)]
	a, b := transport.Pipe(ser)
	go r.ServePeer(context.Background(), b)
	return joinPeer(t, ctxT(t), a, "over a pipe", cfg)
}

func echo(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
	return &session.Result{Args: protocol.List{inv.Procedure}, Kwargs: inv.Details}, nil
}

func TestCallExactPrefixWildcard(t *testing.T) {
	r := newRouter(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	ctx := ctxT(t)
	for _, reg := range []struct{ uri, match string }{
		{"com.app.user.get", "exact"},
		{"com.app.user", "prefix"},
		{"com.app", "prefix"},
		{"com..user.get", "wildcard"},
		{"com...get", "wildcard"},
	} {
		id := reg.uri + "/" + reg.match
		if _, err := callee.Register(ctx, reg.uri, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return &session.Result{Args: protocol.List{id, inv.Procedure}, Kwargs: inv.Details}, nil
		}, session.Match(reg.match)); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
	}
	tests := []struct{ call, want string }{
		{"com.app.user.get", "com.app.user.get/exact"},
		{"com.app.user.set", "com.app.user/prefix"},
		{"com.app.other", "com.app/prefix"},
		{"com.x.user.get", "com..user.get/wildcard"},
		{"com.x.y.get", "com...get/wildcard"},
	}
	for _, tt := range tests {
		res, err := caller.Call(ctx, tt.call, nil, nil)
		if err != nil {
			t.Fatalf("call %s: %v", tt.call, err)
		}
		if res.Arg(0) != tt.want || res.Arg(1) != tt.call {
			t.Errorf("call %s went to %v (procedure %v), want %s", tt.call, res.Arg(0), res.Arg(1), tt.want)
		}
		if p, _ := res.Kwargs["procedure"].(string); strings.HasSuffix(tt.want, "/exact") == (p == tt.call) {
			t.Errorf("call %s: INVOCATION.Details.procedure = %q", tt.call, p)
		}
	}
	_, err := caller.Call(ctx, "org.nothing", nil, nil)
	var we *session.Error
	if !errors.As(err, &we) || !errors.Is(err, session.ErrNoSuchProcedure) || we.Args[0] != "no callee registered for procedure org.nothing" {
		t.Fatalf("no callee: %v", err)
	}
	// Invalid URIs are refused by the client's serializer before they reach
	// the router; raw_test.go checks the router's wamp.error.invalid_uri.
}

func TestSharedRegistrationPolicies(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	caller := join(t, r, session.Config{})
	callees := make([]*session.Session, 3)
	for i := range callees {
		callees[i] = join(t, r, session.Config{})
	}
	for _, policy := range []string{"roundrobin", "random", "first", "last"} {
		t.Run(policy, func(t *testing.T) {
			uri := "shared." + policy
			for i, c := range callees {
				i := i
				if _, err := c.Register(ctx, uri, func(context.Context, *session.Invocation) (*session.Result, error) {
					return &session.Result{Args: protocol.List{int64(i)}}, nil
				}, session.Invoke(policy)); err != nil {
					t.Fatal(err)
				}
			}
			var got []int64
			counts := map[int64]int{}
			for i := 0; i < 30; i++ {
				res, err := caller.Call(ctx, uri, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := res.Arg(0).(int64)
				got = append(got, n)
				counts[n]++
			}
			switch policy {
			case "roundrobin":
				for i, n := range got {
					if n != int64(i%3) {
						t.Fatalf("roundrobin sequence %v", got)
					}
				}
			case "first":
				if counts[0] != 30 {
					t.Fatalf("first: %v", counts)
				}
			case "last":
				if counts[2] != 30 {
					t.Fatalf("last: %v", counts)
				}
			case "random":
				if len(counts) < 2 {
					t.Fatalf("random used one callee only in 30 calls: %v", counts)
				}
			}
		})
	}
	if _, err := callees[0].Register(ctx, "shared.roundrobin", echo, session.Invoke("last")); err == nil ||
		!strings.Contains(err.Error(), "wamp.error.procedure_exists_with_different_invocation_policy") {
		t.Fatalf("mismatched policy: %v", err)
	}
	if _, err := callees[0].Register(ctx, "single.proc", echo); err != nil {
		t.Fatal(err)
	}
	if _, err := callees[1].Register(ctx, "single.proc", echo); !errors.Is(err, session.ErrProcedureAlreadyExists) {
		t.Fatalf("single duplicate: %v", err)
	}
}

func TestForceReregisterRevokes(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	revoked := make(chan string, 1)
	var revokedReg atomic.Pointer[session.Registration]
	old := join(t, r, session.Config{OnUnregistered: func(reg *session.Registration, reason string) {
		revokedReg.Store(reg)
		revoked <- reason
	}})
	nw := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	oldReg, err := old.Register(ctx, "svc.proc", func(context.Context, *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"old"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nw.Register(ctx, "svc.proc", func(context.Context, *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"new"}}, nil
	}, session.ForceReregister()); err != nil {
		t.Fatal(err)
	}
	select {
	case reason := <-revoked:
		if reason != "wamp.error.unregistered" || revokedReg.Load().ID != oldReg.ID {
			t.Fatalf("revoked %v with reason %q", revokedReg.Load(), reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("old callee not told about the revocation")
	}
	res, err := caller.Call(ctx, "svc.proc", nil, nil)
	if err != nil || res.Arg(0) != "new" {
		t.Fatalf("call after takeover: %v %v", res, err)
	}
}

func TestProgressiveResults(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	if _, err := callee.Register(ctx, "p.count", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		if inv.Details["receive_progress"] != true {
			return nil, fmt.Errorf("receive_progress not forwarded: %v", inv.Details)
		}
		for i := int64(1); i <= 3; i++ {
			if err := inv.Progress(ctx, protocol.List{i}, nil); err != nil {
				return nil, err
			}
		}
		return &session.Result{Args: protocol.List{"done"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var progress []any
	res, err := caller.Call(ctx, "p.count", nil, nil, session.ReceiveProgress(func(r *session.Result) {
		progress = append(progress, r.Arg(0))
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Arg(0) != "done" || fmt.Sprint(progress) != "[1 2 3]" {
		t.Fatalf("result %v, progress %v", res.Args, progress)
	}
}

// Each mode runs in a synctest bubble: the callee's 3 s wait for an
// INTERRUPT that "skip" must never send passes at once, and exactly.
func TestCancelModes(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		interrupt bool
	}{{"kill", true}, {"killnowait", true}, {"skip", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				testCancelMode(t, tc.mode, tc.interrupt)
			})
		})
	}
}

func testCancelMode(t *testing.T, mode string, interrupt bool) {
	r := newRouter(t)
	ctx := ctxT(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	started := make(chan struct{}, 1)
	interrupted := make(chan error, 1)
	if _, err := callee.Register(ctx, "p.block", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			interrupted <- ctx.Err()
			return nil, ctx.Err()
		case <-time.After(3 * time.Second):
			interrupted <- nil
			return &session.Result{}, nil
		}
	}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Call(cctx, "p.block", nil, nil, session.CancelMode(mode))
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("call error %v", err)
	}
	err := <-interrupted
	if interrupt && err == nil {
		t.Fatalf("%s: callee was not interrupted", mode)
	}
	if !interrupt && err != nil {
		t.Fatalf("%s: callee interrupted: %v", mode, err)
	}
}

// In a synctest bubble the 100 ms are measured exactly, however loaded the
// machine.
func TestCallTimeoutMilliseconds(t *testing.T) { synctest.Test(t, testCallTimeoutMilliseconds) }

func testCallTimeoutMilliseconds(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	interrupted := make(chan struct{})
	if _, err := callee.Register(ctx, "p.slow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		<-ctx.Done()
		close(interrupted)
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := caller.Call(ctx, "p.slow", nil, nil, session.WithOption("timeout", 100))
	el := time.Since(start)
	var we *session.Error
	if !errors.As(err, &we) || we.URI != "wamp.error.timeout" {
		t.Fatalf("error %v, want ERROR wamp.error.timeout", err)
	}
	if el < 100*time.Millisecond || el > 5*time.Second {
		t.Fatalf("timed out after %v, want about 100ms (milliseconds, not seconds)", el)
	}
	select {
	case <-interrupted:
	case <-time.After(5 * time.Second):
		t.Fatal("callee not interrupted after timeout")
	}
}

func TestCallerDisclosure(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	for _, uri := range []string{"p.plain", "p.disclosing"} {
		var opts []session.Option
		if uri == "p.disclosing" {
			opts = append(opts, session.WithOption("disclose_caller", true))
		}
		if _, err := callee.Register(ctx, uri, echo, opts...); err != nil {
			t.Fatal(err)
		}
	}
	id := caller.Info().Session
	check := func(uri string, disclosed bool, opts ...session.Option) {
		t.Helper()
		res, err := caller.Call(ctx, uri, nil, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		d := res.Kwargs
		if disclosed {
			if fmt.Sprint(d["caller"]) != fmt.Sprint(id) || d["caller_authid"] != caller.Info().AuthID || d["caller_authrole"] != "anonymous" {
				t.Fatalf("%s: details %v, want caller %d", uri, d, id)
			}
		} else if d["caller"] != nil {
			t.Fatalf("%s: caller disclosed without asking: %v", uri, d)
		}
	}
	check("p.plain", false)
	check("p.plain", true, session.DiscloseMe())
	check("p.disclosing", true)
}

func TestPeerLeavingMidCall(t *testing.T) {
	r := newRouter(t)
	ctx := ctxT(t)
	callee := join(t, r, session.Config{})
	caller := join(t, r, session.Config{})
	started := make(chan struct{})
	if _, err := callee.Register(ctx, "p.hang", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, "p.hang", nil, nil)
		errc <- err
	}()
	<-started
	callee.Close(ctx)
	if err := <-errc; !errors.Is(err, session.ErrCanceled) {
		t.Fatalf("caller got %v, want wamp.error.canceled", err)
	}

	// caller leaving: the callee's handler context is cancelled (INTERRUPT).
	callee2 := join(t, r, session.Config{})
	caller2 := join(t, r, session.Config{})
	started2, interrupted := make(chan struct{}), make(chan struct{})
	if _, err := callee2.Register(ctx, "p.hang2", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		close(started2)
		<-ctx.Done()
		close(interrupted)
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	go caller2.Call(ctx, "p.hang2", nil, nil)
	<-started2
	caller2.Close(ctx)
	select {
	case <-interrupted:
	case <-time.After(5 * time.Second):
		t.Fatal("callee not interrupted when the caller left")
	}
}

// eventLog collects the events of one or more subscriptions.
type eventLog struct {
	mu      sync.Mutex
	ev      []*session.Event
	changed chan struct{} // closed (and replaced) when an event is added
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

func (l *eventLog) handler(ev *session.Event) {
	l.mu.Lock()
	l.ev = append(l.ev, ev)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// wait waits until the log holds at least n events.
func (l *eventLog) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		got, changed := len(l.ev), l.changed
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("waited for %d events, got %d", n, got)
		}
	}
}

func (l *eventLog) take() []*session.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.ev
	l.ev = nil
	return ev
}

// settle waits until the log holds n events and until every goroutine of
// the synctest bubble it must run in is blocked, so that an unexpected extra
// event would be there too (the client runs each subscription's handler on
// its own goroutine, so events of different subscriptions have no common
// order).
func (l *eventLog) settle(t *testing.T, n int) []*session.Event {
	t.Helper()
	l.wait(t, n)
	synctest.Wait()
	return l.take()
}

// anyTicket accepts every ticket; the authid is the requested one and the
// role is the ticket.
var anyTicket = auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
	return &auth.Identity{AuthID: req.AuthID, AuthRole: ticket}, nil
})

func ticketCfg(authid, role string) session.Config {
	return session.Config{AuthID: authid, Auth: []auth.ClientMethod{auth.Ticket(role)}}
}

// TestPubSub runs in a synctest bubble, where eventLog.settle can tell
// that no further event is on its way.
func TestPubSub(t *testing.T) { synctest.Test(t, testPubSub) }

func testPubSub(t *testing.T) {
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authenticators: []auth.Authenticator{anyTicket}})
	ctx := ctxT(t)
	pub := join(t, r, ticketCfg("pub", "backend"))
	alice := join(t, r, ticketCfg("alice", "frontend"))
	bob := join(t, r, ticketCfg("bob", "backend"))
	la, lb, lp := newEventLog(), newEventLog(), newEventLog()
	sa, err := alice.Subscribe(ctx, "t.news.sport", la.handler)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := bob.Subscribe(ctx, "t.news.sport", lb.handler)
	if err != nil {
		t.Fatal(err)
	}
	if sa.ID != sb.ID {
		t.Fatalf("same topic, different subscription ids %d %d", sa.ID, sb.ID)
	}
	if _, err := bob.Subscribe(ctx, "t.news", lb.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Subscribe(ctx, "t..sport", la.handler, session.Match("wildcard")); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Subscribe(ctx, "t.news.sport", lp.handler); err != nil {
		t.Fatal(err)
	}

	// acknowledged, disclosed publication: exact + pattern deliveries
	if err := pub.Publish(ctx, "t.news.sport", protocol.List{"goal"}, nil, session.Acknowledge(true), session.DiscloseMe()); err != nil {
		t.Fatal(err)
	}
	la.wait(t, 2)
	lb.wait(t, 2)
	for name, evs := range map[string][]*session.Event{"alice": la.take(), "bob": lb.take()} {
		pattern := 0
		for _, ev := range evs {
			if ev.Arg(0) != "goal" || fmt.Sprint(ev.Details["publisher"]) != fmt.Sprint(pub.Info().Session) ||
				ev.Details["publisher_authrole"] != "backend" || ev.Details["publisher_authid"] != "pub" {
				t.Fatalf("%s: event %+v", name, ev)
			}
			if ev.Details["topic"] == "t.news.sport" {
				pattern++
			}
		}
		if len(evs) != 2 || pattern != 1 {
			t.Fatalf("%s: %d events, %d with Details.topic", name, len(evs), pattern)
		}
	}
	// publisher excluded by default
	if evs := lp.settle(t, 0); len(evs) != 0 {
		t.Fatalf("publisher received its own event: %v", evs)
	}
	// exclude_me=false
	if err := pub.Publish(ctx, "t.news.sport", protocol.List{"self"}, nil, session.ExcludeMe(false), session.Acknowledge(true)); err != nil {
		t.Fatal(err)
	}
	if n := len(lp.settle(t, 1)); n != 1 {
		t.Fatalf("exclude_me=false: publisher got %d events", n)
	}
	la.settle(t, 2)
	lb.settle(t, 2)

	cases := []struct {
		name       string
		opts       []session.Option
		alice, bob int
	}{
		{"eligible", []session.Option{session.Eligible(alice.Info().Session)}, 2, 0},
		{"exclude", []session.Option{session.Exclude(alice.Info().Session)}, 0, 2},
		{"eligible_authid", []session.Option{session.WithOption("eligible_authid", protocol.List{"bob"})}, 0, 2},
		{"exclude_authid", []session.Option{session.WithOption("exclude_authid", protocol.List{"bob"})}, 2, 0},
		{"eligible_authrole", []session.Option{session.WithOption("eligible_authrole", protocol.List{"frontend"})}, 2, 0},
		{"exclude_authrole", []session.Option{session.WithOption("exclude_authrole", protocol.List{"frontend"})}, 0, 2},
		{"combined", []session.Option{session.Eligible(alice.Info().Session, bob.Info().Session), session.WithOption("exclude_authid", protocol.List{"alice"})}, 0, 2},
	}
	for _, tc := range cases { // no subtests in a bubble
		if err := pub.Publish(ctx, "t.news.sport", protocol.List{tc.name}, nil, append(tc.opts, session.Acknowledge(true))...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := len(la.settle(t, tc.alice)); n != tc.alice {
			t.Errorf("%s: alice got %d events, want %d", tc.name, n, tc.alice)
		}
		if n := len(lb.settle(t, tc.bob)); n != tc.bob {
			t.Errorf("%s: bob got %d events, want %d", tc.name, n, tc.bob)
		}
	}
	if err := bob.Unsubscribe(ctx, sb); err != nil {
		t.Fatal(err)
	}
}

func TestSessionMetaAPI(t *testing.T) {
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authenticators: []auth.Authenticator{anyTicket}})
	ctx := ctxT(t)
	watcher := join(t, r, ticketCfg("watcher", "backend"))
	joins, leaves := newEventLog(), newEventLog()
	if _, err := watcher.Subscribe(ctx, "wamp.session.on_join", joins.handler); err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.Subscribe(ctx, "wamp.session.on_leave", leaves.handler); err != nil {
		t.Fatal(err)
	}
	other := join(t, r, ticketCfg("someone", "frontend"))
	joins.wait(t, 1)
	ev := joins.take()[0]
	d, ok := ev.Arg(0).(protocol.Dict)
	if !ok || fmt.Sprint(d["session"]) != fmt.Sprint(other.Info().Session) || d["authrole"] != "frontend" ||
		d["authmethod"] != "ticket" || d["authid"] != "someone" || d["transport"] == nil {
		t.Fatalf("on_join %v", ev.Args)
	}
	res, err := watcher.Call(ctx, "wamp.session.count", nil, nil)
	if err != nil || fmt.Sprint(res.Arg(0)) != "2" {
		t.Fatalf("count: %v %v", res, err)
	}
	res, err = watcher.Call(ctx, "wamp.session.count", protocol.List{protocol.List{"frontend"}}, nil)
	if err != nil || fmt.Sprint(res.Arg(0)) != "1" {
		t.Fatalf("count filtered: %v %v", res, err)
	}
	res, err = watcher.Call(ctx, "wamp.session.list", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range res.Arg(0).(protocol.List) {
		ids = append(ids, fmt.Sprint(id))
	}
	want := []string{fmt.Sprint(watcher.Info().Session), fmt.Sprint(other.Info().Session)}
	sort.Strings(ids)
	sort.Strings(want)
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("list %v, want %v", ids, want)
	}
	res, err = watcher.Call(ctx, "wamp.session.get", protocol.List{other.Info().Session}, nil)
	if err != nil || res.Arg(0).(protocol.Dict)["authid"] != other.Info().AuthID {
		t.Fatalf("get: %v %v", res, err)
	}
	otherID := other.Info().Session
	other.Close(ctx)
	leaves.wait(t, 1)
	ev = leaves.take()[0]
	if fmt.Sprint(ev.Args) != fmt.Sprint(protocol.List{otherID, "someone", "frontend"}) {
		t.Fatalf("on_leave %v", ev.Args)
	}
	_, err = watcher.Call(ctx, "wamp.session.get", protocol.List{otherID}, nil)
	var we *session.Error
	if !errors.As(err, &we) || we.URI != "wamp.error.no_such_session" {
		t.Fatalf("get after leave: %v", err)
	}
}

type denyAuthorizer struct{}

func (denyAuthorizer) Authorize(ctx context.Context, s *router.SessionInfo, action router.Action, uri string) error {
	switch {
	case strings.HasPrefix(uri, "secret."):
		return session.NewError("wamp.error.not_authorized", nil, nil)
	case uri == "broken.authorizer":
		return errors.New("database down")
	}
	return nil
}

func TestInternalAPIAndAuthorizer(t *testing.T) {
	r := newRouter(t, router.RealmConfig{Name: testRealm, Authorizer: denyAuthorizer{}, Authenticators: []auth.Authenticator{anyTicket}})
	rl := r.Realm(testRealm)
	var joined, left atomic.Int64
	leftc := make(chan struct{}, 1)
	rl.OnJoin(func(*router.SessionInfo) { joined.Add(1) })
	rl.OnLeave(func(*router.SessionInfo) {
		left.Add(1)
		leftc <- struct{}{}
	})
	ctx := ctxT(t)
	interrupted := make(chan struct{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rl.RegisterInternal("svc.whoami", func(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{caller.AuthID, caller.AuthRole, inv.Arg(0)}}, nil
	}))
	must(rl.RegisterInternal("svc.fail", func(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		return nil, session.NewError("com.example.error.custom", protocol.List{"custom failure"}, nil)
	}))
	must(rl.RegisterInternal("svc.crash", func(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		return nil, errors.New("plain go error")
	}))
	must(rl.RegisterInternal("svc.block", func(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		<-ctx.Done()
		close(interrupted)
		return nil, ctx.Err()
	}))
	must(rl.RegisterInternal("secret.proc", echoInternal))
	if err := rl.RegisterInternal("svc.whoami", echoInternal); !errors.Is(err, router.ErrProcedureExists) {
		t.Fatalf("duplicate internal: %v", err)
	}

	s := join(t, r, ticketCfg("carol", "anonymous"))
	// OnJoin runs before the session's first message is routed, so it has
	// run by the time the first call is answered.
	if _, err := s.Call(ctx, "wamp.session.count", nil, nil); err != nil {
		t.Fatal(err)
	}
	if joined.Load() != 1 {
		t.Fatalf("OnJoin ran %d times", joined.Load())
	}
	res, err := s.Call(ctx, "svc.whoami", protocol.List{"x"}, nil)
	if err != nil || res.Arg(0) != "carol" || res.Arg(1) != "anonymous" || res.Arg(2) != "x" {
		t.Fatalf("whoami: %v %v", res, err)
	}
	_, err = s.Call(ctx, "svc.fail", nil, nil)
	var we *session.Error
	if !errors.As(err, &we) || we.URI != "com.example.error.custom" || we.Args[0] != "custom failure" {
		t.Fatalf("svc.fail: %v", err)
	}
	if _, err = s.Call(ctx, "svc.crash", nil, nil); !errors.Is(err, session.ErrRuntime) || !strings.Contains(err.Error(), "plain go error") {
		t.Fatalf("svc.crash: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.Call(cctx, "svc.block", nil, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("svc.block: %v", err)
	}
	select {
	case <-interrupted:
	case <-time.After(5 * time.Second):
		t.Fatal("internal handler ctx not cancelled by CANCEL")
	}

	// authorizer: internal procedures too, and every action
	id := s.Info().Session
	_, err = s.Call(ctx, "secret.proc", nil, nil)
	wantMsg := fmt.Sprintf(`session (session_id=%d, authid="carol", authrole="anonymous") is not authorized to call procedure "secret.proc" on realm "realm1"`, id)
	if !errors.As(err, &we) || we.URI != "wamp.error.not_authorized" || we.Args[0] != wantMsg {
		t.Fatalf("denied call: %v", err)
	}
	if _, err := s.Register(ctx, "secret.reg", echo); !errors.Is(err, session.ErrNotAuthorized) || !strings.Contains(err.Error(), `register procedure "secret.reg"`) {
		t.Fatalf("denied register: %v", err)
	}
	if _, err := s.Subscribe(ctx, "secret.topic", func(*session.Event) {}); !errors.Is(err, session.ErrNotAuthorized) || !strings.Contains(err.Error(), `subscribe to topic "secret.topic"`) {
		t.Fatalf("denied subscribe: %v", err)
	}
	if err := s.Publish(ctx, "secret.topic", nil, nil, session.Acknowledge(true)); !errors.Is(err, session.ErrNotAuthorized) || !strings.Contains(err.Error(), "secret.topic") {
		t.Fatalf("denied publish: %v", err)
	}
	if _, err := s.Call(ctx, "broken.authorizer", nil, nil); !errors.As(err, &we) || we.URI != "wamp.error.authorization_failed" {
		t.Fatalf("failing authorizer: %v", err)
	}

	// internal publish reaches subscribers
	l := newEventLog()
	if _, err := s.Subscribe(ctx, "svc.news", l.handler); err != nil {
		t.Fatal(err)
	}
	rl.Publish("svc.news", protocol.List{"from router"}, nil)
	l.wait(t, 1)
	if ev := l.take()[0]; ev.Arg(0) != "from router" || ev.Details["publisher"] != nil {
		t.Fatalf("internal event %+v", ev)
	}
	s.Close(ctx)
	select {
	case <-leftc:
	case <-time.After(5 * time.Second):
		t.Fatal("OnLeave did not run")
	}
	if left.Load() != 1 {
		t.Fatalf("OnLeave ran %d times", left.Load())
	}
}

func echoInternal(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
	return &session.Result{Args: inv.Args}, nil
}

func TestCloseSendsGoodbye(t *testing.T) {
	checkLeaks(t)
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: testRealm}}})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []*session.Session
	for i := 0; i < 3; i++ {
		sessions = append(sessions, join(t, r, session.Config{}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, s := range sessions {
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("session not ended by router Close")
		}
		var we *session.Error
		if !errors.Is(s.Err(), session.ErrSessionClosed) || !errors.As(s.Err(), &we) || we.URI != "wamp.close.system_shutdown" {
			t.Fatalf("session ended with %v, want GOODBYE wamp.close.system_shutdown", s.Err())
		}
	}
	// no new sessions after Close
	a, b := transport.Pipe(protocol.JSON)
	go r.ServePeer(context.Background(), b)
	if _, err := session.Join(ctx, a, session.Config{Realm: testRealm}); err == nil {
		t.Fatal("joined a closed router")
	}
}

func TestJoinRefusals(t *testing.T) {
	r := newRouter(t, router.RealmConfig{
		Name: testRealm,
		Authenticators: []auth.Authenticator{auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			if req.AuthID == "joe" && ticket == "s3cret" {
				return &auth.Identity{AuthID: "joe", AuthRole: "frontend"}, nil
			}
			return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "bad ticket"}
		})},
	}, router.RealmConfig{Name: "open.realm"})
	ctx := ctxT(t)
	s := join(t, r, session.Config{AuthID: "joe", Auth: []auth.ClientMethod{auth.Ticket("s3cret")}})
	if s.Info().AuthRole != "frontend" || s.Info().AuthMethod != "ticket" {
		t.Fatalf("info %+v", s.Info())
	}
	anon := join(t, r, session.Config{Realm: "open.realm"})
	if anon.Info().AuthRole != "anonymous" {
		t.Fatalf("open realm info %+v", anon.Info())
	}
	for _, tc := range []struct {
		cfg    session.Config
		reason string
	}{
		{session.Config{Realm: "no.such.realm"}, "wamp.error.no_such_realm"},
		{session.Config{AuthID: "joe", Auth: []auth.ClientMethod{auth.Ticket("wrong")}}, "wamp.error.not_authorized"},
		{session.Config{}, "wamp.error.no_auth_method"},
	} {
		if tc.cfg.Realm == "" {
			tc.cfg.Realm = testRealm
		}
		a, b := transport.Pipe(protocol.JSON)
		go r.ServePeer(context.Background(), b)
		_, err := session.Join(ctx, a, tc.cfg)
		var ae *session.AbortError
		if !errors.As(err, &ae) || ae.Reason != tc.reason {
			t.Errorf("join %+v: %v, want ABORT %s", tc.cfg, err, tc.reason)
		}
	}
}

func TestCloseAbandonsHandshakes(t *testing.T) { synctest.Test(t, testCloseAbandonsHandshakes) }

func testCloseAbandonsHandshakes(t *testing.T) {
	checkLeaks(t)
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: testRealm}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := transport.Pipe(protocol.JSON)
	served := make(chan struct{})
	go func() {
		r.ServePeer(context.Background(), b) // the client never sends HELLO
		close(served)
	}()
	synctest.Wait() // the router waits for HELLO
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Close waited %v for a silent client", el)
	}
	<-served
	for {
		m, err := a.Recv(ctx)
		if err != nil {
			break // closed, possibly after an ABORT
		}
		if _, ok := m.(*protocol.Abort); !ok {
			t.Fatalf("silent client got %T", m)
		}
	}
}

// TestGoodbyeReplyAfterLeave: the router answers a client's GOODBYE once
// the session has left the realm (its registrations, subscriptions and
// leave hooks are done with), so a client whose Close returned sees every
// trace of its session gone. The reply used to go out first.
func TestGoodbyeReplyAfterLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		ctx := ctxT(t)
		hooked, hold := make(chan struct{}), make(chan struct{})
		release := sync.OnceFunc(func() { close(hold) })
		defer release() // also when the test fails
		r.Realm(testRealm).OnLeave(func(*router.SessionInfo) {
			close(hooked)
			<-hold
		})
		s := join(t, r, session.Config{})
		closed := make(chan error, 1)
		go func() { closed <- s.Close(ctx) }()
		<-hooked
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) while the router's leave hook was still running", err)
		default:
		}
		release()
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	})
}
