package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// pipeRouter serves an embedded router over in-memory pipes. Drop cuts
// every connection; Down makes new connections fail until Up.
type pipeRouter struct {
	t  *testing.T
	mu sync.Mutex
	r  *router.Router
	// peers are the router ends of live connections.
	peers []transport.Peer
	down  bool
	dials atomic.Int32
}

func newPipeRouter(t *testing.T) *pipeRouter {
	t.Helper()
	pr := &pipeRouter{t: t}
	pr.r = pr.newRouter()
	t.Cleanup(func() {
		pr.mu.Lock()
		r := pr.r
		pr.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return pr
}

func (pr *pipeRouter) newRouter() *router.Router {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		pr.t.Fatal(err)
	}
	return r
}

func (pr *pipeRouter) dial(ctx context.Context) (transport.Peer, error) {
	pr.dials.Add(1)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.down {
		return nil, errors.New("connection refused (test)")
	}
	a, b := transport.Pipe(nil)
	pr.peers = append(pr.peers, b)
	go pr.r.ServePeer(context.Background(), b)
	return a, nil
}

// restart drops every connection and replaces the router with a fresh one
// (no registrations), like a router process restart.
func (pr *pipeRouter) restart(gap time.Duration) {
	pr.mu.Lock()
	peers := pr.peers
	pr.peers = nil
	old := pr.r
	pr.down = true
	pr.mu.Unlock()
	// Newest connection first: in the tests the caller connects after
	// the callee, so its in-flight calls see the connection loss rather
	// than the router's "callee left" error.
	for i := len(peers) - 1; i >= 0; i-- {
		peers[i].Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	old.Close(ctx)
	cancel()
	time.Sleep(gap)
	pr.mu.Lock()
	pr.r = pr.newRouter()
	pr.down = false
	pr.mu.Unlock()
}

func (pr *pipeRouter) config() client.Config {
	return client.Config{
		Dialer:         pr.dial,
		Session:        session.Config{Realm: "realm1"},
		Backoff:        client.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		ConnectTimeout: 2 * time.Second,
	}
}

func closeClient(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func echo(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
	return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name     string
		b        client.Backoff
		n        int
		min, max time.Duration
	}{
		{"first", client.Backoff{Initial: 100 * time.Millisecond, Jitter: -1}, 0, 100 * time.Millisecond, 100 * time.Millisecond},
		{"doubles", client.Backoff{Initial: 100 * time.Millisecond, Jitter: -1}, 3, 800 * time.Millisecond, 800 * time.Millisecond},
		{"multiplier", client.Backoff{Initial: time.Second, Multiplier: 3, Jitter: -1}, 2, 9 * time.Second, 9 * time.Second},
		{"capped", client.Backoff{Initial: time.Second, Max: 5 * time.Second, Jitter: -1}, 10, 5 * time.Second, 5 * time.Second},
		{"huge n capped", client.Backoff{Initial: time.Second, Max: 5 * time.Second}, 1 << 20, 4 * time.Second, 5 * time.Second},
		{"jitter bounds", client.Backoff{Initial: time.Second, Max: time.Hour, Jitter: 0.5}, 1, time.Second, 3 * time.Second},
		{"defaults", client.Backoff{}, 0, 800 * time.Millisecond, 1200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := tt.b.Delay(tt.n)
				if d < tt.min || d > tt.max {
					t.Fatalf("Delay(%d) = %s, want in [%s, %s]", tt.n, d, tt.min, tt.max)
				}
				seen[d] = true
			}
			if tt.min != tt.max && len(seen) < 10 {
				t.Errorf("only %d distinct delays: no jitter?", len(seen))
			}
		})
	}
}

func TestConnectUnreachableTimesOut(t *testing.T) {
	var attempts atomic.Int32
	c := client.New(client.Config{
		Dialer: func(ctx context.Context) (transport.Peer, error) {
			attempts.Add(1)
			<-ctx.Done() // a router that never answers
			return nil, ctx.Err()
		},
		Session:        session.Config{Realm: "realm1"},
		ConnectTimeout: 200 * time.Millisecond,
	})
	start := time.Now()
	err := c.Connect(context.Background())
	if err == nil {
		t.Fatal("Connect succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one matching context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Connect took %s with ConnectTimeout 200ms", el)
	}
	if _, err := c.Call(context.Background(), "x", nil, nil); !errors.Is(err, client.ErrNotStarted) {
		t.Errorf("Call after failed Connect: %v", err)
	}
	closeClient(t, c)
}

// In a synctest bubble: the router comes up after 100 ms of fake time.
func TestConnectRetriesRefusedUntilUp(t *testing.T) {
	synctest.Test(t, testConnectRetriesRefusedUntilUp)
}

func testConnectRetriesRefusedUntilUp(t *testing.T) {
	pr := newPipeRouter(t)
	pr.mu.Lock()
	pr.down = true
	pr.mu.Unlock()
	go func() {
		time.Sleep(100 * time.Millisecond)
		pr.mu.Lock()
		pr.down = false
		pr.mu.Unlock()
	}()
	c := client.New(pr.config())
	defer closeClient(t, c)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pr.dials.Load() < 2 {
		t.Errorf("dials = %d, want retries", pr.dials.Load())
	}
}

func TestConnectAbortNotRetried(t *testing.T) {
	pr := newPipeRouter(t)
	cfg := pr.config()
	cfg.Session.Realm = "no.such.realm"
	c := client.New(cfg)
	defer closeClient(t, c)
	err := c.Connect(context.Background())
	var abort *session.AbortError
	if !errors.As(err, &abort) || !errors.Is(err, session.ErrNoSuchRealm) {
		t.Fatalf("err = %v, want ABORT no_such_realm", err)
	}
	if n := pr.dials.Load(); n != 1 {
		t.Errorf("dials = %d, want 1 (ABORT is final)", n)
	}
}

// TestReconnectRestoresDesiredState registers and subscribes before the
// first connection, then restarts the router twice and checks that
// everything is back with its options, that in-flight calls failed at once,
// and that the lifecycle was reported.
// In a synctest bubble: restarts, backoff and gaps take fake time.
func TestReconnectRestoresDesiredState(t *testing.T) {
	synctest.Test(t, testReconnectRestoresDesiredState)
}

func testReconnectRestoresDesiredState(t *testing.T) {
	pr := newPipeRouter(t)
	var (
		mu     sync.Mutex
		states []client.State
		joins  int
		discs  []error
	)
	joined := make(chan struct{}, 10)
	cfg := pr.config()
	cfg.OnState = func(e client.StateEvent) { mu.Lock(); states = append(states, e.State); mu.Unlock() }
	cfg.OnJoin = func(ctx context.Context, s *session.Session) {
		mu.Lock()
		joins++
		mu.Unlock()
		joined <- struct{}{}
	}
	cfg.OnDisconnect = func(err error) { mu.Lock(); discs = append(discs, err); mu.Unlock() }
	cfg.OnRestoreError = func(err *client.RestoreError) { t.Errorf("restore error: %v", err) }
	c := client.New(cfg)
	defer closeClient(t, c)

	block := make(chan struct{})
	ctx := context.Background()
	reg, err := c.Register(ctx, "com.example.echo", echo, session.Match("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if reg.ID() != 0 {
		t.Error("registration has an ID before connecting")
	}
	if _, err := c.Register(ctx, "com.example.block", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	events := make(chan *session.Event, 100)
	if _, err := c.Subscribe(ctx, "com.example.topic", func(ev *session.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-joined

	caller := client.New(pr.config())
	defer closeClient(t, caller)
	if err := caller.Connect(ctx); err != nil {
		t.Fatal(err)
	}

	check := func(round int) {
		t.Helper()
		// prefix match survives: the original options were replayed
		res, err := caller.Call(ctx, "com.example.echo.sub", protocol.List{round}, nil)
		if err != nil {
			t.Fatalf("round %d: call: %v", round, err)
		}
		if fmt.Sprint(res.Args) != fmt.Sprint([]any{round}) {
			t.Errorf("round %d: result %v", round, res.Args)
		}
		if err := caller.Publish(ctx, "com.example.topic", protocol.List{round}, nil, session.Acknowledge(true)); err != nil {
			t.Fatalf("round %d: publish: %v", round, err)
		}
		select {
		case ev := <-events:
			if fmt.Sprint(ev.Args) != fmt.Sprint([]any{round}) {
				t.Errorf("round %d: event %v", round, ev.Args)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no event", round)
		}
		if reg.ID() == 0 {
			t.Errorf("round %d: registration has no ID", round)
		}
	}
	check(0)

	for round := 1; round <= 2; round++ {
		// A call in flight when the router goes away fails at once.
		inflight := make(chan error, 1)
		go func() {
			_, err := caller.Call(ctx, "com.example.block", nil, nil, session.Timeout(30*time.Second))
			inflight <- err
		}()
		synctest.Wait() // the call is in flight
		pr.restart(100 * time.Millisecond)
		select {
		case err := <-inflight:
			if !errors.Is(err, session.ErrConnectionLost) {
				t.Errorf("round %d: in-flight call: %v, want ErrConnectionLost", round, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: in-flight call still pending after the connection dropped", round)
		}
		select {
		case <-joined:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no rejoin", round)
		}
		if _, err := caller.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		check(round)
	}
	close(block)

	mu.Lock()
	defer mu.Unlock()
	if joins != 3 {
		t.Errorf("joins = %d, want 3", joins)
	}
	if len(discs) != 2 {
		t.Errorf("disconnects = %d, want 2", len(discs))
	}
	want := map[client.State]bool{client.StateConnecting: true, client.StateConnected: true, client.StateDisconnected: true, client.StateReconnecting: true}
	for _, s := range states {
		delete(want, s)
	}
	if len(want) != 0 {
		t.Errorf("states %v never reported (got %v)", want, states)
	}
}

func TestCallWhileDisconnectedFailsFast(t *testing.T) {
	pr := newPipeRouter(t)
	cfg := pr.config()
	lost := make(chan struct{}, 1)
	cfg.OnDisconnect = func(error) {
		select {
		case lost <- struct{}{}:
		default:
		}
	}
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	// Before the first connection: "not connected yet", not a lost
	// connection.
	_, err := c.Call(ctx, "x", nil, nil)
	if !errors.Is(err, client.ErrNotStarted) || errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("call before Connect: err = %v", err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	pr.mu.Lock()
	pr.down = true
	peers := pr.peers
	pr.mu.Unlock()
	for _, p := range peers {
		p.Close()
	}
	<-lost
	_, err = c.Call(ctx, "x", nil, nil)
	if !errors.Is(err, client.ErrNotConnected) || !errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("call while reconnecting: err = %v", err)
	}
	if err := c.Publish(ctx, "x", nil, nil); !errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("publish err = %v", err)
	}
}

func TestMaxRetriesGivesUp(t *testing.T) {
	pr := newPipeRouter(t)
	cfg := pr.config()
	cfg.Backoff.MaxRetries = 3
	gaveUp := make(chan error, 1)
	cfg.OnState = func(e client.StateEvent) {
		if e.State == client.StateGaveUp {
			gaveUp <- e.Err
		}
	}
	c := client.New(cfg)
	defer closeClient(t, c)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := pr.dials.Load()
	pr.mu.Lock()
	pr.down = true
	peers := pr.peers
	pr.mu.Unlock()
	for _, p := range peers {
		p.Close()
	}
	select {
	case err := <-gaveUp:
		if err == nil {
			t.Error("gave up without the last error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("never gave up")
	}
	if n := pr.dials.Load() - before; n != 3 {
		t.Errorf("%d reconnection attempts, want 3", n)
	}
	if _, err := c.Call(context.Background(), "x", nil, nil); !errors.Is(err, client.ErrGaveUp) {
		t.Errorf("call after giving up: %v", err)
	}
}

// In a synctest bubble: synctest.Wait tells when the client has given up.
func TestDisableReconnect(t *testing.T) { synctest.Test(t, testDisableReconnect) }

func testDisableReconnect(t *testing.T) {
	pr := newPipeRouter(t)
	cfg := pr.config()
	cfg.DisableReconnect = true
	c := client.New(cfg)
	defer closeClient(t, c)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	pr.restart(0)
	synctest.Wait()
	if c.State() != client.StateGaveUp {
		t.Fatalf("state %s", c.State())
	}
	if n := pr.dials.Load(); n != 1 {
		t.Errorf("dials = %d, want 1", n)
	}
}

// TestRevocationReportedNotFought: another session takes a registration
// over with force_reregister; the first client reports it and does not take
// it back, not even after reconnecting.
func TestRevocationReportedNotFought(t *testing.T) {
	pr := newPipeRouter(t)
	revoked := make(chan client.Revocation, 1)
	cfg := pr.config()
	cfg.OnRevoked = func(r client.Revocation) { revoked <- r }
	first := client.New(cfg)
	defer closeClient(t, first)
	ctx := context.Background()
	if err := first.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	one := func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"first"}}, nil
	}
	if _, err := first.Register(ctx, "com.example.svc", one); err != nil {
		t.Fatal(err)
	}
	second := client.New(pr.config())
	defer closeClient(t, second)
	if err := second.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	two := func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"second"}}, nil
	}
	if _, err := second.Register(ctx, "com.example.svc", two, session.ForceReregister()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-revoked:
		if r.Kind != "register" || r.URI != "com.example.svc" {
			t.Errorf("revocation %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("revocation not reported")
	}
	res, err := first.Call(ctx, "com.example.svc", nil, nil)
	if err != nil || res.Arg(0) != "second" {
		t.Fatalf("call: %v %v", res, err)
	}
}

func TestSwitchKeepsOldSessionOnFailure(t *testing.T) {
	pr := newPipeRouter(t)
	c := client.New(pr.config())
	defer closeClient(t, c)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "com.example.echo", echo); err != nil {
		t.Fatal(err)
	}
	old := c.Session()
	if err := c.Switch(ctx, session.Config{Realm: "no.such.realm"}); err == nil {
		t.Fatal("switch to a missing realm succeeded")
	}
	if c.Session() != old {
		t.Fatal("failed switch replaced the session")
	}
	if _, err := c.Call(ctx, "com.example.echo", protocol.List{1}, nil); err != nil {
		t.Fatalf("old session broken after failed switch: %v", err)
	}
	// A successful switch moves the registration.
	if err := c.Switch(ctx, session.Config{Realm: "realm1", Agent: "second"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("old session not closed")
	}
	if _, err := c.Call(ctx, "com.example.echo", protocol.List{1}, nil); err != nil {
		t.Fatalf("registration not moved: %v", err)
	}
	if c.State() != client.StateConnected {
		t.Errorf("state %s after switch", c.State())
	}
}

// In a synctest bubble: synctest.Wait tells when Connect is waiting.
func TestCloseAlwaysReturns(t *testing.T) { synctest.Test(t, testCloseAlwaysReturns) }

func testCloseAlwaysReturns(t *testing.T) {
	// Close while Connect is retrying against a router that never answers.
	c := client.New(client.Config{
		Dialer: func(ctx context.Context) (transport.Peer, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
		Session:        session.Config{Realm: "realm1"},
		ConnectTimeout: time.Hour,
	})
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(context.Background()) }()
	synctest.Wait() // Connect is dialing
	closeClient(t, c)
	select {
	case err := <-errc:
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("Connect after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Connect still blocked after Close")
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed")
	}
	if _, err := c.Register(context.Background(), "x", echo); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Register after Close: %v", err)
	}
}

func TestUnregisterRemovesFromDesiredState(t *testing.T) {
	pr := newPipeRouter(t)
	joined := make(chan struct{}, 4)
	cfg := pr.config()
	cfg.OnJoin = func(context.Context, *session.Session) { joined <- struct{}{} }
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	reg, err := c.Register(ctx, "com.example.gone", echo)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, "com.example.gone", func(*session.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-joined
	if err := c.Unregister(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	pr.restart(0)
	select {
	case <-joined:
	case <-time.After(5 * time.Second):
		t.Fatal("no rejoin")
	}
	if _, err := c.Call(ctx, "com.example.gone", nil, nil); !errors.Is(err, session.ErrNoSuchProcedure) {
		t.Fatalf("unregistered procedure came back: %v", err)
	}
}

// TestRestoreFailureReportedAndRetried: when the client comes back, another
// session holds its procedure; the failure is reported once, the other
// items are restored, and the registration is retried until it succeeds.
// In a synctest bubble: retries take fake time.
func TestRestoreFailureReportedAndRetried(t *testing.T) {
	synctest.Test(t, testRestoreFailureReportedAndRetried)
}

func testRestoreFailureReportedAndRetried(t *testing.T) {
	pr := newPipeRouter(t)
	gate := make(chan struct{})
	var gated atomic.Bool
	cfg := pr.config()
	cfg.Dialer = func(ctx context.Context) (transport.Peer, error) {
		if gated.Load() {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return pr.dial(ctx)
	}
	restoreErrs := make(chan *client.RestoreError, 10)
	cfg.OnRestoreError = func(err *client.RestoreError) { restoreErrs <- err }
	joined := make(chan struct{}, 10)
	cfg.OnJoin = func(context.Context, *session.Session) { joined <- struct{}{} }
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	if _, err := c.Register(ctx, "com.example.contested", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"mine"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "com.example.free", echo); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-joined

	gated.Store(true)
	pr.restart(0)
	other := client.New(pr.config())
	defer closeClient(t, other)
	if err := other.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	otherReg, err := other.Register(ctx, "com.example.contested", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"theirs"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gated.Store(false)
	close(gate)
	select {
	case re := <-restoreErrs:
		if re.Kind != "register" || re.URI != "com.example.contested" || !errors.Is(re, session.ErrProcedureAlreadyExists) {
			t.Errorf("restore error %v", re)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("restore failure not reported")
	}
	<-joined
	if _, err := other.Call(ctx, "com.example.free", protocol.List{1}, nil); err != nil {
		t.Errorf("the other registration was not restored: %v", err)
	}
	if err := other.Unregister(ctx, otherReg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := other.Call(ctx, "com.example.contested", nil, nil)
		if err == nil && res.Arg(0) == "mine" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never re-registered: %v %v", res, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case re := <-restoreErrs:
		t.Errorf("retry failures reported again: %v", re)
	default:
	}
}

func TestConcurrentConnect(t *testing.T) {
	pr := newPipeRouter(t)
	var joins atomic.Int32
	cfg := pr.config()
	cfg.OnJoin = func(context.Context, *session.Session) { joins.Add(1) }
	c := client.New(cfg)
	defer closeClient(t, c)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Connect(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := joins.Load(); n != 1 {
		t.Errorf("%d sessions joined for 4 concurrent Connect calls, want 1", n)
	}
	if n := pr.dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

// TestDesiredStateUnderChurn registers and unregisters from several
// goroutines while the router restarts; afterwards exactly the
// registrations still held are callable.
// In a synctest bubble: restarts and the spreading sleeps take fake time.
func TestDesiredStateUnderChurn(t *testing.T) { synctest.Test(t, testDesiredStateUnderChurn) }

func testDesiredStateUnderChurn(t *testing.T) {
	pr := newPipeRouter(t)
	joined := make(chan struct{}, 100)
	cfg := pr.config()
	cfg.OnJoin = func(context.Context, *session.Session) { joined <- struct{}{} }
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 30
	kept := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				time.Sleep(2 * time.Millisecond) // spread over the restarts
				uri := fmt.Sprintf("com.example.churn.%d.%d", w, i)
				reg, err := c.Register(ctx, uri, echo)
				if err != nil {
					t.Errorf("register %s: %v", uri, err)
					return
				}
				if i%3 == 0 {
					if err := c.Unregister(ctx, reg); err != nil && !errors.Is(err, session.ErrConnectionLost) {
						t.Errorf("unregister %s: %v", uri, err)
					}
					continue
				}
				kept[w] = append(kept[w], uri)
			}
		}()
	}
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		pr.restart(10 * time.Millisecond)
	}
	wg.Wait()
	// Let the last restore settle: a fresh restart and rejoin.
	for len(joined) > 0 {
		<-joined
	}
	pr.restart(0)
	select {
	case <-joined:
	case <-time.After(5 * time.Second):
		t.Fatal("no rejoin")
	}
	caller := client.New(pr.config())
	defer closeClient(t, caller)
	if err := caller.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		for i := range rounds {
			uri := fmt.Sprintf("com.example.churn.%d.%d", w, i)
			_, err := caller.Call(ctx, uri, nil, nil)
			if i%3 == 0 {
				if !errors.Is(err, session.ErrNoSuchProcedure) {
					t.Errorf("%s was unregistered but answers: %v", uri, err)
				}
			} else if err != nil {
				t.Errorf("%s lost: %v", uri, err)
			}
		}
	}
}
