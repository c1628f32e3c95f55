package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// register registers h and answers REGISTERED with regID.
func register(t *testing.T, s *session.Session, r *fakeRouter, proc string, regID protocol.ID, h session.Handler, opts ...session.Option) *session.Registration {
	t.Helper()
	ch := async(func() (*session.Registration, error) { return s.Register(context.Background(), proc, h, opts...) })
	m := expect[*protocol.Register](r)
	if m.Procedure != proc {
		t.Fatalf("REGISTER %+v", m)
	}
	r.send(&protocol.Registered{Request: m.Request, Registration: regID})
	reg, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	if reg.ID != regID || reg.Procedure != proc {
		t.Fatalf("registration %+v", reg)
	}
	return reg
}

func TestRegisterOptionsAndError(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	h := func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil }
	ch := async(func() (*session.Registration, error) {
		return s.Register(context.Background(), "com.p", h, session.Match("prefix"), session.Invoke("roundrobin"),
			session.ForceReregister(), session.WithOption("disclose_caller", true))
	})
	m := expect[*protocol.Register](r)
	want := protocol.Dict{"match": "prefix", "invoke": "roundrobin", "force_reregister": true, "disclose_caller": true}
	if d := cmp.Diff(want, m.Options); d != "" {
		t.Errorf("options: %s", d)
	}
	r.send(&protocol.Error{RequestType: protocol.CodeRegister, Request: m.Request, Details: protocol.Dict{},
		URI: "wamp.error.procedure_already_exists"})
	if _, err := wait(t, ch); !errors.Is(err, session.ErrProcedureAlreadyExists) {
		t.Fatalf("err = %v", err)
	}
}

func TestInvocationReplies(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{ErrorURI: "com.izaber.error.invoke.failure"})
	register(t, s, r, "com.app.", 100, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		switch inv.Procedure {
		case "com.app.ok":
			return &session.Result{Args: protocol.List{inv.Arg(0)}, Kwargs: protocol.Dict{"k": inv.Kwargs["k"]}}, nil
		case "com.app.nil":
			return nil, nil
		case "com.app.wamp":
			return nil, session.NewError("com.app.error.bad", protocol.List{"bad thing"}, protocol.Dict{"code": int64(7)})
		case "com.app.plain":
			return nil, fmt.Errorf("wrapped: %w", errors.New("boom"))
		case "com.app.panic":
			panic("kaboom with a secret")
		}
		return nil, fmt.Errorf("unexpected procedure %q", inv.Procedure)
	}, session.Match("prefix"))

	tests := []struct {
		proc string
		want protocol.Message
	}{
		// Options nil: no options, written as {}.
		{"com.app.ok", &protocol.Yield{Args: protocol.List{"a"}, Kwargs: protocol.Dict{"k": "v"}}},
		{"com.app.nil", &protocol.Yield{}},
		{"com.app.wamp", &protocol.Error{RequestType: protocol.CodeInvocation, Details: protocol.Dict{}, URI: "com.app.error.bad",
			Args: protocol.List{"bad thing"}, Kwargs: protocol.Dict{"code": int64(7)}}},
		{"com.app.plain", &protocol.Error{RequestType: protocol.CodeInvocation, Details: protocol.Dict{},
			URI: "com.izaber.error.invoke.failure", Args: protocol.List{"wrapped: boom"}}},
		{"com.app.panic", &protocol.Error{RequestType: protocol.CodeInvocation, Details: protocol.Dict{},
			URI: "com.izaber.error.invoke.failure", Args: protocol.List{"handler panicked"}}},
	}
	// Crossbar's invocation ids have gaps; they are not sequential.
	req := protocol.ID(1000)
	for _, tt := range tests {
		req += 7
		r.send(&protocol.Invocation{Request: req, Registration: 100, Details: protocol.Dict{"procedure": tt.proc},
			Args: protocol.List{"a"}, Kwargs: protocol.Dict{"k": "v"}})
		got := r.recv()
		switch w := tt.want.(type) {
		case *protocol.Yield:
			w.Request = req
		case *protocol.Error:
			w.Request = req
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s: reply (-want +got):\n%s", tt.proc, d)
		}
	}
	// Procedure falls back to the registered URI.
	r.send(&protocol.Invocation{Request: 1, Registration: 100, Details: protocol.Dict{}})
	if e := expect[*protocol.Error](r); e.Args[0] != `unexpected procedure "com.app."` {
		t.Errorf("ERROR %+v", e)
	}
	// Unknown registration.
	r.send(&protocol.Invocation{Request: 2, Registration: 555, Details: protocol.Dict{}})
	if e := expect[*protocol.Error](r); e.URI != session.URINoSuchRegistration || e.Request != 2 || e.RequestType != protocol.CodeInvocation {
		t.Errorf("ERROR %+v", e)
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestInvocationProgress(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	progErr := make(chan error, 1)
	register(t, s, r, "p", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		if inv.Details["receive_progress"] != true {
			progErr <- inv.Progress(ctx, protocol.List{"x"}, nil)
			return nil, nil
		}
		for i := range 3 {
			if err := inv.Progress(ctx, protocol.List{int64(i)}, nil); err != nil {
				return nil, err
			}
		}
		return &session.Result{Args: protocol.List{"done"}}, nil
	})
	r.send(&protocol.Invocation{Request: 9, Registration: 1, Details: protocol.Dict{"receive_progress": true}})
	for i := range 3 {
		y := expect[*protocol.Yield](r)
		if y.Options["progress"] != true || y.Args[0] != int64(i) || y.Request != 9 {
			t.Fatalf("YIELD %+v", y)
		}
	}
	if y := expect[*protocol.Yield](r); y.Options["progress"] == true || y.Args[0] != "done" {
		t.Fatalf("final YIELD %+v", y)
	}
	r.send(&protocol.Invocation{Request: 10, Registration: 1, Details: protocol.Dict{}})
	if y := expect[*protocol.Yield](r); y.Request != 10 {
		t.Fatalf("YIELD %+v", y)
	}
	if err := <-progErr; err == nil {
		t.Error("Progress without receive_progress succeeded")
	}
	if err := (&session.Invocation{}).Progress(context.Background(), nil, nil); err == nil {
		t.Error("Progress on a bare Invocation succeeded")
	}
}

func TestInterrupt(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	started := make(chan protocol.ID, 4)
	register(t, s, r, "slow", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		started <- inv.Request
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// killnowait: the handler's context ends and no reply is sent.
	r.send(&protocol.Invocation{Request: 5, Registration: 1, Details: protocol.Dict{}})
	<-started
	r.send(&protocol.Interrupt{Request: 5, Options: protocol.Dict{"mode": "killnowait"}})
	// kill: the handler's context ends and the reply is ERROR canceled.
	r.send(&protocol.Invocation{Request: 6, Registration: 1, Details: protocol.Dict{}})
	<-started
	r.send(&protocol.Interrupt{Request: 6, Options: protocol.Dict{"mode": "kill"}})
	e := expect[*protocol.Error](r)
	if e.Request != 6 || e.URI != session.URICanceled {
		t.Fatalf("ERROR %+v", e)
	}
	// INTERRUPT for an unknown invocation is ignored.
	r.send(&protocol.Interrupt{Request: 5, Options: protocol.Dict{"mode": "killnowait"}})
	r.send(&protocol.Interrupt{Request: 12345, Options: protocol.Dict{}})
	r.noMessage(30 * time.Millisecond)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestInvocationConcurrencyBound(t *testing.T) {
	checkLeaks(t)
	const limit = 2
	s, r := join(t, session.Config{InvocationConcurrency: limit})
	var running, peak atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	register(t, s, r, "busy", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
		return &session.Result{Args: protocol.List{inv.Request}}, nil
	})
	// limit running + 8*limit queued are accepted; the rest is refused.
	total := limit + 8*limit + 3
	for i := 1; i <= limit; i++ {
		r.send(&protocol.Invocation{Request: protocol.ID(i), Registration: 1, Details: protocol.Dict{}})
	}
	for range limit {
		<-started
	}
	for i := limit + 1; i <= total; i++ {
		r.send(&protocol.Invocation{Request: protocol.ID(i), Registration: 1, Details: protocol.Dict{}})
	}
	refused := map[protocol.ID]bool{}
	for range 3 {
		e := expect[*protocol.Error](r)
		if e.URI != session.URIRuntimeError || e.Args[0] != "callee overloaded" {
			t.Fatalf("ERROR %+v", e)
		}
		refused[e.Request] = true
	}
	close(release)
	yields := 0
	for yields < total-3 {
		y := expect[*protocol.Yield](r)
		if refused[y.Request] {
			t.Fatalf("refused invocation %d answered", y.Request)
		}
		yields++
	}
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrency %d, want %d", p, limit)
	}
}

func TestHandlerCallsBackIntoSession(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{InvocationConcurrency: 1})
	register(t, s, r, "outer", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		res, err := s.Call(ctx, "inner", nil, nil)
		if err != nil {
			return nil, err
		}
		return res, nil
	})
	r.send(&protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}})
	c := expect[*protocol.Call](r)
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}, Args: protocol.List{"inner-result"}})
	if y := expect[*protocol.Yield](r); y.Args[0] != "inner-result" {
		t.Fatalf("YIELD %+v", y)
	}
}

func TestUnregister(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	h := func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil }
	reg := register(t, s, r, "p", 77, h)
	ch := async(func() (struct{}, error) { return struct{}{}, s.Unregister(context.Background(), reg) })
	u := expect[*protocol.Unregister](r)
	if u.Registration != 77 {
		t.Fatalf("UNREGISTER %+v", u)
	}
	r.send(&protocol.Unregistered{Request: u.Request})
	if _, err := wait(t, ch); err != nil {
		t.Fatal(err)
	}
	if err := s.Unregister(context.Background(), reg); !errors.Is(err, session.ErrNoSuchRegistration) {
		t.Fatalf("second Unregister: %v", err)
	}
	r.send(&protocol.Invocation{Request: 3, Registration: 77, Details: protocol.Dict{}})
	if e := expect[*protocol.Error](r); e.URI != session.URINoSuchRegistration {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestRegistrationRevoked(t *testing.T) {
	checkLeaks(t)
	type revoked struct {
		reg    *session.Registration
		reason string
	}
	got := make(chan revoked, 1)
	s, r := join(t, session.Config{OnUnregistered: func(reg *session.Registration, reason string) {
		got <- revoked{reg, reason}
	}})
	h := func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil }
	reg := register(t, s, r, "p", 8, h)
	r.send(&protocol.Unregistered{Request: 0, Details: protocol.Dict{"registration": int64(8), "reason": "wamp.error.unregistered"}})
	select {
	case rv := <-got:
		if rv.reg != reg || rv.reason != "wamp.error.unregistered" {
			t.Errorf("revoked %+v", rv)
		}
	case <-time.After(waitLong):
		t.Fatal("OnUnregistered not called")
	}
	if err := s.Unregister(context.Background(), reg); !errors.Is(err, session.ErrNoSuchRegistration) {
		t.Errorf("Unregister after revocation: %v", err)
	}
}

func TestRegisterAbandonedIsUndone(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	h := func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil }
	ch := async(func() (*session.Registration, error) { return s.Register(ctx, "p", h) })
	m := expect[*protocol.Register](r)
	cancel()
	if _, err := wait(t, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	r.send(&protocol.Registered{Request: m.Request, Registration: 31})
	u := expect[*protocol.Unregister](r)
	if u.Registration != 31 {
		t.Fatalf("UNREGISTER %+v", u)
	}
	r.send(&protocol.Unregistered{Request: u.Request})
	r.noMessage(20 * time.Millisecond)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}
