package izaber_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/izaber/izabertest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func newRouter(t *testing.T) *izabertest.Router {
	t.Helper()
	nr, err := izabertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nr.Close)
	return nr
}

// login connects user to nr with nr.YAML(user), changed by edits.
func login(t *testing.T, nr *izabertest.Router, user string, edits ...func(*izaber.Config)) *izaber.Client {
	t.Helper()
	c := loginLater(t, nr, user, edits...)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// loginLater is login without connecting (delayed login).
func loginLater(t *testing.T, nr *izabertest.Router, user string, edits ...func(*izaber.Config)) *izaber.Client {
	t.Helper()
	s, err := izaber.Load(izaber.Source{YAML: nr.YAML(user)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(&s.Config)
	}
	c, err := izaber.New(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

func TestURIRule(t *testing.T) {
	tests := []struct {
		name string
		cfg  izaber.Config
		in   string
		want string
	}{
		{"relative", izaber.Config{}, "auth.whoami", "com.izaber.wamp.auth.whoami"},
		{"already prefixed", izaber.Config{}, "com.izaber.wamp.auth.whoami", "com.izaber.wamp.auth.whoami"},
		{"wamp reserved", izaber.Config{}, "wamp.session.list", "wamp.session.list"},
		{"similar but not the base", izaber.Config{}, "com.izaber.wampx.a", "com.izaber.wamp.com.izaber.wampx.a"},
		{"zerp style", izaber.Config{}, "zerp:db:model:object.execute.read", "com.izaber.wamp.zerp:db:model:object.execute.read"},
		{"custom base", izaber.Config{URIBase: "org.example"}, "a.b", "org.example.a.b"},
		{"custom base keeps izaber uris prefixed", izaber.Config{URIBase: "org.example"}, "com.izaber.wamp.a", "org.example.com.izaber.wamp.a"},
		{"no base", izaber.Config{NoURIBase: true}, "a.b", "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := izaber.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.URI(tt.in); got != tt.want {
				t.Errorf("URI(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestPrefixOnTheWire checks what the router actually sees.
func TestPrefixOnTheWire(t *testing.T) {
	nr := newRouter(t)
	// trust-1: Nexus's backend rules allow only com.izaber.wamp.* URIs.
	c := login(t, nr, "trust-1")
	ctx := context.Background()
	procedure := func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield(inv.Procedure), nil
	}
	if _, err := c.Register(ctx, "pfx.rel", procedure); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "pfx.abs", procedure, izaber.Absolute()); err != nil {
		t.Fatal(err)
	}
	raw, err := izaber.New(izaber.Config{URL: nr.URL(), Username: "trust-1", Password: nr.Password("trust-1"), NoURIBase: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(ctx)
	if err := raw.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		client *izaber.Client
		uri    string
		opts   []session.Option
		want   string // "" = no such procedure
	}{
		{raw, "com.izaber.wamp.pfx.rel", nil, "com.izaber.wamp.pfx.rel"},
		{raw, "pfx.abs", nil, "pfx.abs"},
		{raw, "pfx.rel", nil, ""},
		{c, "pfx.rel", nil, "com.izaber.wamp.pfx.rel"},
		{c, "com.izaber.wamp.pfx.rel", nil, "com.izaber.wamp.pfx.rel"},
		{c, "pfx.abs", []session.Option{izaber.Absolute()}, "pfx.abs"},
		{c, "pfx.abs", nil, ""},
	}
	for _, tc := range calls {
		got, err := izaber.CallAs[string](ctx, tc.client, tc.uri, nil, nil, tc.opts...)
		if tc.want == "" {
			if !errors.Is(err, session.ErrNoSuchProcedure) {
				t.Errorf("call %q: %v, %v; want no_such_procedure", tc.uri, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("call %q reached %q (%v), want %q", tc.uri, got, err, tc.want)
		}
	}
	// wamp.* meta procedures are never prefixed.
	_, err = c.Call(ctx, "wamp.session.count", nil, nil)
	var werr *session.Error
	if errors.As(err, &werr) && strings.HasPrefix(werr.URI, "com.izaber.wamp") {
		t.Errorf("wamp.* URI was prefixed: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	nr := newRouter(t)
	callee := login(t, nr, "backend-1")
	caller := login(t, nr, "backend-2")
	ctx := context.Background()
	handlers := map[string]session.Handler{
		"err.plain": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return nil, errors.New("disk on fire")
		},
		"err.typed": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return nil, session.NewError("com.example.error.custom", protocol.List{"bad input", 7}, protocol.Dict{"field": "x"})
		},
		"err.wrapped": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return nil, fmt.Errorf("context: %w", session.NewError("com.example.error.wrapped", nil, nil))
		},
		"err.panic": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			panic("oops")
		},
	}
	for uri, h := range handlers {
		if _, err := callee.Register(ctx, uri, h); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		uri    string
		want   string
		args   string
		kwargs string
	}{
		{"err.plain", "com.izaber.wamp.error.invoke.failure", "[Call failed: disk on fire]", "map[]"},
		{"err.typed", "com.example.error.custom", "[bad input 7]", "map[field:x]"},
		{"err.wrapped", "com.example.error.wrapped", "[]", "map[]"},
		{"err.panic", "com.izaber.wamp.error.invoke.failure", "", ""},
		{"err.missing", "wamp.error.no_such_procedure", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			_, err := caller.Call(ctx, tt.uri, nil, nil)
			var werr *session.Error
			if !errors.As(err, &werr) {
				t.Fatalf("err = %v (%T), want *session.Error", err, err)
			}
			if werr.URI != tt.want {
				t.Errorf("URI = %q, want %q", werr.URI, tt.want)
			}
			if tt.args != "" && fmt.Sprint(werr.Args) != tt.args {
				t.Errorf("args = %v, want %s", werr.Args, tt.args)
			}
			if tt.kwargs != "" && fmt.Sprint(werr.Kwargs) != tt.kwargs && !(tt.kwargs == "map[]" && len(werr.Kwargs) == 0) {
				t.Errorf("kwargs = %v, want %s", werr.Kwargs, tt.kwargs)
			}
		})
	}

	// Authorization: a frontend user may not register.
	frontend := login(t, nr, "frontend-1")
	_, err := frontend.Register(ctx, "not.mine", handlers["err.plain"])
	if !errors.Is(err, session.ErrNotAuthorized) || !strings.Contains(err.Error(), "is not authorized") {
		t.Errorf("register as frontend: %v", err)
	}

	// Bad login: ABORT with Nexus's reason and message, no password in it.
	_, err = izaber.Initialize(ctx, izaber.Source{YAML: strings.Replace(nr.YAML("backend-1"), nr.Password("backend-1"), "s3cret-wrong", 1)})
	var abort *session.AbortError
	if !errors.As(err, &abort) || !errors.Is(err, izaber.ErrPermissionDenied) || abort.Message != "Permission Denied" {
		t.Errorf("bad login: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret-wrong") {
		t.Errorf("password in error: %v", err)
	}

	// A timeout is its own error.
	if _, err := callee.Register(ctx, "slow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	_, err = caller.Call(ctx, "slow", nil, nil, session.Timeout(100*time.Millisecond))
	if !errors.Is(err, session.ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}
}

func TestUnreachableRouterFailsWithinTimeout(t *testing.T) {
	// A port nothing listens on, and a listener that accepts but never
	// answers the handshake.
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held sync.WaitGroup
	conns := make(chan net.Conn, 100)
	held.Add(1)
	go func() {
		defer held.Done()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	defer func() {
		silent.Close()
		held.Wait()
		close(conns)
		for c := range conns {
			c.Close()
		}
	}()

	for _, addr := range []string{refusedAddr, silent.Addr().String()} {
		t.Run(addr, func(t *testing.T) {
			yaml := fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: ws://%s/ws\n      username: u\n      password: p\n      connect_timeout: 0.3\n      backoff_initial: 0.05\n", addr)
			start := time.Now()
			c, err := izaber.Initialize(context.Background(), izaber.Source{YAML: yaml})
			if err == nil {
				c.Close(context.Background())
				t.Fatal("Initialize succeeded")
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s with connect_timeout 0.3s", el)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q does not name the router", err)
			}
		})
	}
}

// TestReconnectMidTraffic stops the router while calls and events flow,
// starts it again on the same address, and checks that every request
// either succeeded or failed visibly, and that registrations,
// subscriptions and roster entries are back.
func TestReconnectMidTraffic(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()

	service := loginLater(t, nr, "backend-1")
	var (
		joins, disconnects atomic.Int32
		restoreErrs        []error
		mu                 sync.Mutex
	)
	joined := make(chan struct{}, 10)
	service.OnJoin(func(ctx context.Context, info session.Info) {
		joins.Add(1)
		joined <- struct{}{}
	})
	service.OnDisconnect(func(err error) { disconnects.Add(1) })
	service.OnRestoreError(func(err error) { mu.Lock(); restoreErrs = append(restoreErrs, err); mu.Unlock() })

	var served atomic.Int64
	if _, err := service.Register(ctx, "rc.echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		served.Add(1)
		return izaber.Yield(inv.Arg(0)), nil
	}, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	var evMu sync.Mutex
	var events []int64
	evc := make(chan struct{}, 1) // an event arrived
	if _, err := service.Subscribe(ctx, "rc.topic", func(ev *session.Event) {
		n, _ := ev.Arg(0).(int64)
		if u, ok := ev.Arg(0).(uint64); ok {
			n = int64(u)
		}
		evMu.Lock()
		events = append(events, n)
		evMu.Unlock()
		select {
		case evc <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := service.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-joined
	if _, err := service.RosterRegister(ctx, "roster.rc.test", protocol.Dict{"who": "service"}, nil); err != nil {
		t.Fatal(err)
	}

	user := login(t, nr, "backend-2")
	userJoined := make(chan struct{}, 10)
	user.OnJoin(func(context.Context, session.Info) { userJoined <- struct{}{} })

	// Traffic: calls in a loop until told to stop; every outcome counted
	// and signalled on progress.
	stop := make(chan struct{})
	var ok, failed, wrong atomic.Int64
	progress := make(chan struct{}, 1)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for !cond() {
			select {
			case <-progress:
			case <-timeout:
				t.Fatalf("no %s within 10s (ok %d, failed %d)", what, ok.Load(), failed.Load())
			}
		}
	}
	var trafficDone sync.WaitGroup
	trafficDone.Add(1)
	go func() {
		defer trafficDone.Done()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			got, err := izaber.CallAs[int64](ctx, user, "rc.echo.x", protocol.List{i}, nil, session.Timeout(5*time.Second))
			select {
			case progress <- struct{}{}:
			default:
			}
			switch {
			case err == nil && got == i:
				ok.Add(1)
			case err == nil:
				wrong.Add(1)
			case errors.Is(err, session.ErrConnectionLost), errors.Is(err, session.ErrNoSuchProcedure),
				errors.Is(err, session.ErrCanceled):
				// visible failure while the router is down, the callee
				// dropped mid-call ("callee left before answering"), or
				// the callee is not back yet
				failed.Add(1)
				time.Sleep(5 * time.Millisecond)
			default:
				t.Errorf("call %d: unexpected error %v", i, err)
				failed.Add(1)
			}
		}
	}()

	waitFor("20 calls before the restart", func() bool { return ok.Load() >= 20 })
	okBefore := ok.Load()
	nr.Stop()
	failedBefore := failed.Load()
	waitFor("failed call with the router down", func() bool { return failed.Load() > failedBefore })
	waitFor("disconnect of the service", func() bool { return !service.Connected() })
	if err := nr.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan struct{}{joined, userJoined} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no rejoin within 10s")
		}
	}
	okAt := ok.Load()
	waitFor("20 calls after the restart", func() bool { return ok.Load() >= okAt+20 })
	close(stop)
	trafficDone.Wait()

	if okBefore == 0 {
		t.Error("no successful call before the restart")
	}
	if ok.Load() <= okAt {
		t.Errorf("calls did not resume after the restart (ok %d at rejoin, %d at end)", okAt, ok.Load())
	}
	if wrong.Load() != 0 {
		t.Errorf("%d calls returned a wrong result", wrong.Load())
	}
	if failed.Load() == 0 {
		t.Error("no call failed while the router was down: failures were hidden")
	}
	if int64(served.Load()) < ok.Load() {
		t.Errorf("served %d < ok %d", served.Load(), ok.Load())
	}

	// Subscriptions are back: events published now arrive, in order.
	for i := int64(1); i <= 50; i++ {
		if err := user.Publish(ctx, "rc.topic", protocol.List{i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(5 * time.Second)
	for waiting := true; waiting; {
		evMu.Lock()
		n := len(events)
		evMu.Unlock()
		if n >= 50 {
			break
		}
		select {
		case <-evc:
		case <-timeout:
			waiting = false
		}
	}
	evMu.Lock()
	if len(events) != 50 {
		t.Errorf("%d of 50 events after reconnect", len(events))
	}
	for i, n := range events {
		if n != int64(i+1) {
			t.Errorf("event %d = %d: out of order", i, n)
			break
		}
	}
	evMu.Unlock()

	// The roster entry made through the facade is back.
	data, err := user.RosterQuery(ctx, "roster.rc.test")
	if err != nil || len(data) != 1 || fmt.Sprint(data[0]) != "map[who:service]" {
		t.Errorf("roster after reconnect: %v %v", data, err)
	}
	if joins.Load() != 2 || disconnects.Load() != 1 {
		t.Errorf("joins %d disconnects %d, want 2 and 1", joins.Load(), disconnects.Load())
	}
	mu.Lock()
	if len(restoreErrs) != 0 {
		t.Errorf("restore errors: %v", restoreErrs)
	}
	mu.Unlock()
}

// TestRestoreFailureReported: after a restart another session holds the
// procedure, so restoring it fails; that is reported, retried, and succeeds
// once the procedure is free.
func TestRestoreFailureReported(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	service := login(t, nr, "backend-1")
	restoreErr := make(chan error, 10)
	service.OnRestoreError(func(err error) { restoreErr <- err })
	joined := make(chan struct{}, 10)
	service.OnJoin(func(context.Context, session.Info) { joined <- struct{}{} })
	if _, err := service.Register(ctx, "rf.proc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("service"), nil
	}); err != nil {
		t.Fatal(err)
	}
	nr.Stop()
	// Bring the router back with an interloper grabbing the URI first:
	// the service's backoff (50ms+) gives it time.
	if err := nr.Restart(); err != nil {
		t.Fatal(err)
	}
	interloper, err := izaber.New(izaber.Config{URL: nr.URL(), Username: "backend-2", Password: nr.Password("backend-2"), DisableReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := interloper.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := interloper.Register(ctx, "rf.proc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("interloper"), nil
	}); err != nil {
		interloper.Close(ctx)
		t.Skipf("service won the race to re-register (%v); nothing to test", err)
	}
	select {
	case err := <-restoreErr:
		var re *client.RestoreError
		if !errors.As(err, &re) || re.URI != "com.izaber.wamp.rf.proc" || !errors.Is(err, session.ErrProcedureAlreadyExists) {
			t.Errorf("restore error = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("restore failure not reported")
	}
	<-joined
	interloper.Close(ctx) // frees the procedure; the retry takes it
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := izaber.CallAs[string](ctx, service, "rf.proc", nil, nil)
		if err == nil && got == "service" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration never restored: %q %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRevokedByForceReregister(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	first := login(t, nr, "backend-1")
	revoked := make(chan client.Revocation, 1)
	first.OnRevoked(func(r client.Revocation) { revoked <- r })
	if _, err := first.Register(ctx, "rv.proc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("first"), nil
	}); err != nil {
		t.Fatal(err)
	}
	second := login(t, nr, "backend-2")
	if _, err := second.Register(ctx, "rv.proc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("second"), nil
	}, session.ForceReregister()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-revoked:
		if r.URI != "com.izaber.wamp.rv.proc" {
			t.Errorf("revocation %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("revocation not reported")
	}
}

func TestChangeUserMovesRegistrations(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := login(t, nr, "backend-1")
	var joins atomic.Int32
	c.OnJoin(func(context.Context, session.Info) { joins.Add(1) })
	left := make(chan string, 2)
	c.OnLeave(func(info session.Info) { left <- info.AuthID })
	if _, err := c.Register(ctx, "cu.who", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		me, err := c.WhoAmI(ctx) // a handler may call the client
		return izaber.Yield(me.AuthID), err
	}); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 4)
	if _, err := c.Subscribe(ctx, "cu.topic", func(ev *session.Event) { events <- fmt.Sprint(ev.Arg(0)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RosterRegister(ctx, "roster.cu", "entry", nil); err != nil {
		t.Fatal(err)
	}
	other := login(t, nr, "trust-1")
	c.OnRestoreError(func(err error) { t.Errorf("restore error during ChangeUser: %v", err) })

	if err := c.ChangeUser(ctx, "backend-2", nr.Password("backend-2")); err != nil {
		t.Fatal(err)
	}
	if got := <-left; got != "backend-1" {
		t.Errorf("leave hook saw %q", got)
	}
	if got, err := izaber.CallAs[string](ctx, other, "cu.who", nil, nil); err != nil || got != "backend-2" {
		t.Errorf("cu.who after ChangeUser: %q %v", got, err)
	}
	if err := other.Publish(ctx, "cu.topic", protocol.List{"after"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events:
		if got != "after" {
			t.Errorf("event %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("subscription not moved")
	}
	if data, err := other.RosterQuery(ctx, "roster.cu"); err != nil || len(data) != 1 {
		t.Errorf("roster after ChangeUser: %v %v (want exactly one entry: the old session's went with it)", data, err)
	}
	if joins.Load() != 1 {
		t.Errorf("join hooks ran %d times for the switch", joins.Load())
	}
	if c.Config().Username != "backend-2" {
		t.Errorf("username %q after switch", c.Config().Username)
	}

	// A failed switch changes nothing.
	if err := c.ChangeUser(ctx, "backend-1", "bad-pass-7Qx"); err == nil {
		t.Fatal("switch with a bad password succeeded")
	} else if strings.Contains(err.Error(), "bad-pass-7Qx") {
		t.Errorf("password in error: %v", err)
	}
	if got, err := izaber.CallAs[string](ctx, other, "cu.who", nil, nil); err != nil || got != "backend-2" {
		t.Errorf("after failed switch: %q %v", got, err)
	}
	if c.Config().Username != "backend-2" || c.Config().Password != nr.Password("backend-2") {
		t.Error("failed switch changed the stored credentials")
	}
	if s := c.String(); strings.Contains(s, nr.Password("backend-2")) {
		t.Errorf("String leaks the password: %s", s)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	callee := login(t, nr, "backend-1", func(c *izaber.Config) { c.ConcurrencyMax = 2 })
	var running, peak atomic.Int32
	if _, err := callee.Register(ctx, "cc.work", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		running.Add(-1)
		return izaber.Yield(true), nil
	}); err != nil {
		t.Fatal(err)
	}
	caller := login(t, nr, "backend-2")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := caller.Call(ctx, "cc.work", nil, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak concurrency %d, limit 2", p)
	}
}

func TestInitializeRunFalse(t *testing.T) {
	nr := newRouter(t)
	yaml := strings.Replace(nr.YAML("backend-1"), "  wamp:\n", "  wamp:\n    run: false\n", 1)
	c, err := izaber.Initialize(context.Background(), izaber.Source{YAML: yaml})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if c.Connected() || c.Settings().Run {
		t.Fatal("wamp.run: false connected")
	}
	// A request before the delayed login says so (not "connection lost").
	_, err = c.Call(context.Background(), "auth.whoami", nil, nil)
	if !errors.Is(err, client.ErrNotStarted) || errors.Is(err, session.ErrConnectionLost) {
		t.Errorf("call before connecting: %v", err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	me, err := c.WhoAmI(context.Background())
	if err != nil || me.AuthID != "backend-1" {
		t.Errorf("whoami %v %v", me, err)
	}
}

func TestHelpersWireShapes(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := login(t, nr, "backend-1")
	// Roster with a visibility list; role-filtered queries.
	if _, err := c.RosterRegister(ctx, "roster.vis", "backend-only", []any{"backend"}); err != nil {
		t.Fatal(err)
	}
	fe := login(t, nr, "frontend-1")
	if data, err := fe.RosterQuery(ctx, "roster.vis"); err != nil || len(data) != 0 {
		t.Errorf("frontend sees backend-only entry: %v %v", data, err)
	}
	other := login(t, nr, "backend-2")
	if data, err := other.RosterQuery(ctx, "roster.vis"); err != nil || len(data) != 1 {
		t.Errorf("backend query: %v %v", data, err)
	}
	// Metadata as YAML text.
	v, err := fe.MetadataSet(ctx, "yaml.key", "a: 1\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(string); !ok || !strings.Contains(s, "a: 1") {
		t.Errorf("metadata yaml set returned %#v", v)
	}
	// OTP list and delete through the plural URIs.
	otp, err := fe.OTPCreate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := fe.OTPList(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("otp list %v %v", list, err)
	}
	if list[0]["plaintext_key"] != nil {
		t.Error("otp list returns the plaintext key")
	}
	if err := fe.OTPDelete(ctx, otp["uuid"].(string)); err != nil {
		t.Fatal(err)
	}
	if list, err := fe.OTPList(ctx); err != nil || len(list) != 0 {
		t.Errorf("otp list after delete %v %v", list, err)
	}
}

// TestNoSecretsInLogs logs everything at debug level through a login, a
// failed ChangeUser, an OTP login and a reconnection, and checks that no
// password, key or OTP appears in the log, in errors or in String output.
func TestNoSecretsInLogs(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	var buf safeBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := login(t, nr, "frontend-1", func(c *izaber.Config) { c.Logger = logger })
	var secrets []string
	for _, login := range nr.Logins() {
		secrets = append(secrets, nr.Password(login))
	}
	changeErr := c.ChangeUser(ctx, "backend-1", "not-the-password-xyz")
	if changeErr == nil {
		t.Fatal("bad password accepted")
	}
	secrets = append(secrets, "not-the-password-xyz")
	otp, err := c.OTPCreate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := otp["plaintext_key"].(string)
	secrets = append(secrets, key)
	spawned, err := c.Spawn(ctx, "frontend-1", key)
	if err != nil {
		t.Fatal(err)
	}
	spawned.Close(ctx)
	joined := make(chan struct{}, 1)
	c.OnJoin(func(context.Context, session.Info) { joined <- struct{}{} })
	nr.Stop()
	if err := nr.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("no rejoin")
	}
	out := buf.String() + changeErr.Error() + c.String() + fmt.Sprintf("%v %+v %#v", c.Config(), c.Config(), c.Config())
	if st, err := izaber.Load(izaber.Source{YAML: nr.YAML("frontend-1")}); err == nil {
		out += st.String() + fmt.Sprintf("%v %+v", st, st.Values)
	}
	if len(buf.String()) == 0 {
		t.Fatal("nothing was logged: the test proves nothing")
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("secret %q... leaked into logs or output", s[:3])
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHooksOnCloseAndRemoval(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := loginLater(t, nr, "backend-1")
	var got []string
	var mu sync.Mutex
	add := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	c.OnJoin(func(_ context.Context, info session.Info) { add("join " + info.AuthID) })
	remove := c.OnJoin(func(context.Context, session.Info) { add("removed hook ran") })
	remove()
	c.OnLeave(func(info session.Info) { add("leave " + info.AuthID) })
	c.OnDisconnect(func(err error) { add(fmt.Sprint("disconnect ", err)) })
	var states []client.State
	c.OnState(func(e client.StateEvent) { mu.Lock(); states = append(states, e.State); mu.Unlock() })
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[join backend-1 leave backend-1 disconnect <nil>]" {
		t.Errorf("hooks ran: %q", got)
	}
	if fmt.Sprint(states) != "[connecting connected closed]" {
		t.Errorf("states: %v", states)
	}
	if _, err := c.Call(ctx, "auth.whoami", nil, nil); !errors.Is(err, client.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

func TestOverrideMismatchIsAnError(t *testing.T) {
	_, err := izaber.Initialize(context.Background(), izaber.Source{
		YAML:      "default: {wamp: {run: false}}\n",
		Overrides: map[string]any{"wamp": "not a map"},
	})
	if err == nil || !strings.Contains(err.Error(), "wamp") {
		t.Fatalf("err = %v", err)
	}
}

// TestSerializers connects over WebSocket and RawSocket (tcpip://) with
// each serializer named in izaber.yaml and
// round-trips binary data and nested values through a callee.
func TestSerializers(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	callee := login(t, nr, "backend-1")
	if _, err := callee.Register(ctx, "ser.echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	type tc struct{ name, url, ser string }
	var cases []tc
	for _, ser := range []string{"cbor", "msgpack", "json", "[json, cbor]"} {
		cases = append(cases, tc{"websocket " + ser, nr.URL(), ser}, tc{"rawsocket " + ser, nr.RawURL(), ser})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yaml := strings.Replace(nr.YAML("backend-2"), "      timeout: 10\n", "      timeout: 10\n      serializers: "+tc.ser+"\n", 1)
			yaml = strings.Replace(yaml, nr.URL(), tc.url, 1)
			if !strings.Contains(yaml, "serializers") {
				t.Fatal("test YAML not patched")
			}
			c, err := izaber.Initialize(ctx, izaber.Source{YAML: yaml})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			blob := []byte{0, 1, 2, 0xff}
			res, err := c.Call(ctx, "ser.echo", protocol.List{blob, "text", protocol.List{int64(1), 2.5, nil, true}}, protocol.Dict{"k": protocol.Dict{"n": int64(-3)}})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := res.Arg(0).([]byte); !ok || string(got) != string(blob) {
				t.Errorf("binary came back as %#v", res.Arg(0))
			}
			if fmt.Sprint(res.Args[1:]) != "[text [1 2.5 <nil> true]]" || fmt.Sprint(res.Kwargs) != "map[k:map[n:-3]]" {
				t.Errorf("values came back as %v %v", res.Args[1:], res.Kwargs)
			}
		})
	}
}

// TestRestoreFailureLoggedOnce: a registration the new user of ChangeUser
// may not hold is reported to the hook and warned about once, not once by
// the client and again by the facade.
func TestRestoreFailureLoggedOnce(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	var buf safeBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := login(t, nr, "backend-1", func(c *izaber.Config) { c.Logger = logger })
	restoreErrs := make(chan error, 4)
	c.OnRestoreError(func(err error) { restoreErrs <- err })
	if _, err := c.Register(ctx, "lo.proc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("x"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeUser(ctx, "frontend-1", nr.Password("frontend-1")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-restoreErrs:
		if !strings.Contains(err.Error(), "com.izaber.wamp.lo.proc") {
			t.Errorf("restore error %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("restore failure not reported")
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Errorf("the restore failure was logged %d times, want once:\n%s", n, buf.String())
	}
}
