package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Connect gives up at once on what retrying cannot fix, and retries what
// a restarting router behind a proxy answers. ConnectTimeout is an hour:
// a retry of a permanent error would show as the test's own deadline.
func TestConnectFailsFastOnPermanentErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"bad URL", fmt.Errorf("dial: %w: unsupported URL scheme \"http\"", transport.ErrBadURL)},
		{"404", &transport.HandshakeError{StatusCode: http.StatusNotFound, Status: "404 Not Found"}},
		{"certificate", fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})},
		{"abort", &session.AbortError{Reason: "wamp.error.not_authorized"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int32
			c := client.New(client.Config{
				Dialer: func(context.Context) (transport.Peer, error) {
					dials.Add(1)
					return nil, tt.err
				},
				Session:        session.Config{Realm: "realm1"},
				ConnectTimeout: time.Hour,
				Backoff:        client.Backoff{Initial: time.Millisecond},
			})
			defer closeClient(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := c.Connect(ctx)
			if !errors.Is(err, tt.err) || errors.Is(err, context.DeadlineExceeded) || !client.Permanent(err) {
				t.Fatalf("err = %v, want %v at once", err, tt.err)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	}
	t.Run("503 is retried", func(t *testing.T) {
		pr := newPipeRouter(t)
		cfg := pr.config()
		var dials atomic.Int32
		cfg.Dialer = func(ctx context.Context) (transport.Peer, error) {
			if dials.Add(1) <= 2 {
				return nil, &transport.HandshakeError{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable"}
			}
			return pr.dial(ctx)
		}
		c := client.New(cfg)
		defer closeClient(t, c)
		if err := c.Connect(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := dials.Load(); n != 3 {
			t.Errorf("%d dials, want 3", n)
		}
	})
}

// Each failed attempt of the first connection is announced once, with
// the failure, the number of the next attempt and the delay before it.
func TestConnectAnnouncesEachRetry(t *testing.T) {
	pr := newPipeRouter(t)
	cfg := pr.config()
	var dials atomic.Int32
	cfg.Dialer = func(ctx context.Context) (transport.Peer, error) {
		if dials.Add(1) <= 3 {
			return nil, errors.New("connection refused (test)")
		}
		return pr.dial(ctx)
	}
	var mu sync.Mutex
	var retries []client.StateEvent
	cfg.OnState = func(e client.StateEvent) {
		if e.State == client.StateConnecting && e.Err != nil {
			mu.Lock()
			retries = append(retries, e)
			mu.Unlock()
		}
	}
	c := client.New(cfg)
	defer closeClient(t, c)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(retries) != 3 {
		t.Fatalf("%d retries announced for 3 failed attempts: %+v", len(retries), retries)
	}
	for i, e := range retries {
		if e.Attempt != i+2 || e.Delay <= 0 || !strings.Contains(e.Err.Error(), "connection refused") {
			t.Errorf("retry %d: %+v", i, e)
		}
	}
}

// The hooks run one at a time and in order (each join is followed by the
// disconnect of its session before the next join), while the router
// restarts, the client switches sessions and another client takes its
// registration over, all at once.
func TestHooksOrderedAndNeverConcurrent(t *testing.T) {
	pr := newPipeRouter(t)
	var active, overlaps atomic.Int32
	var mu sync.Mutex
	var events []string
	hook := func(name string) {
		if active.Add(1) > 1 {
			overlaps.Add(1)
		}
		mu.Lock()
		events = append(events, name)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		active.Add(-1)
	}
	cfg := pr.config()
	cfg.OnJoin = func(context.Context, *session.Session) { hook("join") }
	cfg.OnLeave = func(session.Info) { hook("leave") }
	cfg.OnDisconnect = func(error) { hook("disconnect") }
	cfg.OnState = func(e client.StateEvent) { hook("state " + e.State.String()) }
	cfg.OnRevoked = func(client.Revocation) { hook("revoked") }
	cfg.OnRestoreError = func(*client.RestoreError) { hook("restore error") }
	c := client.New(cfg)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // the router restarts
		defer wg.Done()
		for range 3 {
			pr.restart(5 * time.Millisecond)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	go func() { // the program switches sessions
		defer wg.Done()
		for i := range 6 {
			c.Switch(ctx, session.Config{Realm: "realm1", Agent: fmt.Sprint("switch ", i)})
		}
	}()
	go func() { // registrations come and go, and get taken over
		defer wg.Done()
		other := client.New(pr.config())
		defer closeClient(t, other)
		other.Connect(ctx)
		for i := range 10 {
			uri := fmt.Sprint("com.example.taken.", i)
			c.Register(ctx, uri, echo)
			other.Register(ctx, uri, echo, session.ForceReregister())
		}
	}()
	wg.Wait()
	closeClient(t, c)
	if n := overlaps.Load(); n != 0 {
		t.Errorf("hooks ran concurrently %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	sessions := 0 // joined and not yet disconnected
	for i, e := range events {
		switch e {
		case "join":
			if sessions != 0 {
				t.Fatalf("event %d: a join before the previous session's disconnect: %q", i, events)
			}
			sessions++
		case "disconnect":
			sessions--
			if sessions != 0 {
				t.Fatalf("event %d: a disconnect without a join: %q", i, events)
			}
		}
	}
	if events[len(events)-1] != "state closed" {
		t.Errorf("last event %q, want state closed", events[len(events)-1])
	}
}

// A revoked registration's handler, a session's callbacks and the hooks
// may call the client while it changes sessions: nothing deadlocks.
func TestRequestsFromHandlersDuringSwitch(t *testing.T) {
	pr := newPipeRouter(t)
	c := client.New(pr.config())
	defer closeClient(t, c)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64 // invocations may overlap while the client switches sessions
	if _, err := c.Register(ctx, "com.example.reg", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		_, err := c.Register(ctx, fmt.Sprint("com.example.reg.", n.Add(1)), echo)
		return &session.Result{Args: protocol.List{err == nil}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3 {
			if err := c.Switch(ctx, session.Config{Realm: "realm1", Agent: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 5 {
		c.Call(ctx, "com.example.reg", nil, nil, session.Timeout(5*time.Second))
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Switch blocked")
	}
}

// A hook that blocks holds back the hooks after it: a revocation that
// arrives while OnJoin runs is reported after OnJoin returned, never at
// the same time (the router's UNREGISTERED is read on another goroutine).
func TestRevocationWaitsForJoinHook(t *testing.T) {
	pr := newPipeRouter(t)
	gate := make(chan struct{})
	inJoin := make(chan struct{})
	var joining, overlap atomic.Bool
	revoked := make(chan struct{})
	var joins atomic.Int32
	cfg := pr.config()
	cfg.OnJoin = func(context.Context, *session.Session) {
		if joins.Add(1) != 2 {
			return
		}
		joining.Store(true)
		close(inJoin)
		<-gate
		joining.Store(false)
	}
	cfg.OnRevoked = func(client.Revocation) {
		if joining.Load() {
			overlap.Store(true)
		}
		close(revoked)
	}
	c := client.New(cfg)
	defer closeClient(t, c)
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "com.example.svc", echo); err != nil {
		t.Fatal(err)
	}
	switched := make(chan error, 1)
	go func() { switched <- c.Switch(ctx, session.Config{Realm: "realm1", Agent: "second"}) }()
	<-inJoin // the second session holds the registration; its OnJoin blocks
	other := client.New(pr.config())
	defer closeClient(t, other)
	if err := other.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Register(ctx, "com.example.svc", echo, session.ForceReregister()); err != nil {
		t.Fatal(err)
	}
	// The router has sent UNREGISTERED to c; a round trip on c's session
	// makes sure c has read it.
	c.Call(ctx, "com.example.nothing", nil, nil)
	select { // give a concurrent report the chance to happen (old code)
	case <-revoked:
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	if err := <-switched; err != nil {
		t.Fatal(err)
	}
	<-revoked
	if overlap.Load() {
		t.Error("OnRevoked ran while OnJoin was running")
	}
}
