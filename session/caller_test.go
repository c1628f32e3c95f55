package session_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func TestCallResult(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ch := async(func() (*session.Result, error) {
		return s.Call(context.Background(), "com.x.add", protocol.List{int64(1), int64(2)}, protocol.Dict{"k": "v"},
			session.DiscloseMe(), session.WithOption("x_custom", "y"))
	})
	c := expect[*protocol.Call](r)
	if c.Request != 1 || c.Procedure != "com.x.add" {
		t.Errorf("CALL %+v", c)
	}
	if d := cmp.Diff(protocol.Dict{"disclose_me": true, "x_custom": "y"}, c.Options); d != "" {
		t.Errorf("options: %s", d)
	}
	if d := cmp.Diff(protocol.List{int64(1), int64(2)}, c.Args); d != "" {
		t.Errorf("args: %s", d)
	}
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{"callee": int64(3)},
		Args: protocol.List{protocol.Dict{"sum": int64(3), "name": "x"}}, Kwargs: protocol.Dict{"a": "b"}})
	res, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kwargs["a"] != "b" || res.Details["callee"] != int64(3) || res.Arg(5) != nil {
		t.Errorf("result %+v", res)
	}
	var v struct {
		Sum  int    `json:"sum"`
		Name string `json:"name"`
	}
	if err := res.Decode(&v); err != nil || v.Sum != 3 || v.Name != "x" {
		t.Errorf("Decode = %+v, %v", v, err)
	}
	var n int
	if err := res.Decode(&n); err == nil {
		t.Error("decoding a dict into an int succeeded")
	}
	if err := (&session.Result{}).Decode(&n); err == nil {
		t.Error("decoding an empty result succeeded")
	}
	// Request ids are sequential across request kinds.
	pub := async(func() (struct{}, error) {
		return struct{}{}, s.Publish(context.Background(), "com.x.topic", nil, nil)
	})
	if p := expect[*protocol.Publish](r); p.Request != 2 {
		t.Errorf("PUBLISH request id %d, want 2", p.Request)
	}
	if _, err := wait(t, pub); err != nil {
		t.Fatal(err)
	}
	ch = async(func() (*session.Result, error) { return s.Call(context.Background(), "com.x.nop", nil, nil) })
	c = expect[*protocol.Call](r)
	if c.Request != 3 || len(c.Options) != 0 || c.Args != nil {
		t.Errorf("CALL %+v", c)
	}
	r.send(&protocol.Result{Request: 3, Details: protocol.Dict{}})
	if res, err := wait(t, ch); err != nil || len(res.Args) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestCallError(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ch := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
	c := expect[*protocol.Call](r)
	r.send(&protocol.Error{RequestType: protocol.CodeCall, Request: c.Request, Details: protocol.Dict{},
		URI: "wamp.error.no_such_procedure", Args: protocol.List{"no callee registered for procedure x"}})
	_, err := wait(t, ch)
	if !errors.Is(err, session.ErrNoSuchProcedure) || errors.Is(err, session.ErrCanceled) {
		t.Fatalf("err = %v", err)
	}
	if got := err.Error(); got != "wamp.error.no_such_procedure: no callee registered for procedure x" {
		t.Errorf("Error() = %q", got)
	}
	var we *session.Error
	if !errors.As(err, &we) || we.URI != "wamp.error.no_such_procedure" {
		t.Errorf("As = %+v", we)
	}
}

// In a synctest bubble the slow progress callback sleeps in fake time: the
// reader goes on queueing results while it sleeps, at no cost in real time.
func TestCallProgressiveResults(t *testing.T) { synctest.Test(t, testCallProgressiveResults) }

func testCallProgressiveResults(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	var got []any
	ch := async(func() (*session.Result, error) {
		return s.Call(context.Background(), "x", nil, nil, session.ReceiveProgress(func(p *session.Result) {
			time.Sleep(time.Millisecond) // a slow callback must not reorder anything
			got = append(got, p.Arg(0))
		}))
	})
	c := expect[*protocol.Call](r)
	if c.Options["receive_progress"] != true {
		t.Fatalf("options %+v", c.Options)
	}
	for i := range 20 {
		r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{"progress": true}, Args: protocol.List{int64(i)}})
	}
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}, Args: protocol.List{"final"}})
	res, err := wait(t, ch)
	if err != nil || res.Arg(0) != "final" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(got) != 20 {
		t.Fatalf("got %d progressive results", len(got))
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("progress %d = %v", i, v)
		}
	}
}

func TestCallContextCancel(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := async(func() (*session.Result, error) { return s.Call(ctx, "slow", nil, nil) })
	c := expect[*protocol.Call](r)
	cancel()
	_, err := wait(t, ch)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	cn := expect[*protocol.Cancel](r)
	if cn.Request != c.Request || cn.Options["mode"] != "killnowait" {
		t.Errorf("CANCEL %+v", cn)
	}
	// The router's answers for the cancelled call are ignored quietly.
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{"progress": true}})
	r.send(&protocol.Error{RequestType: protocol.CodeCall, Request: c.Request, Details: protocol.Dict{}, URI: session.URICanceled})
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}})
	// The session still works.
	ch = async(func() (*session.Result, error) { return s.Call(context.Background(), "next", nil, nil) })
	c2 := expect[*protocol.Call](r)
	r.send(&protocol.Result{Request: c2.Request, Details: protocol.Dict{}, Args: protocol.List{"ok"}})
	if res, err := wait(t, ch); err != nil || res.Arg(0) != "ok" {
		t.Fatalf("%+v %v", res, err)
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}

func TestCallAlreadyCancelledContext(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Call(ctx, "x", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	r.noMessage(20 * time.Millisecond)
}

func TestCallTimeout(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s, r := join(t, session.Config{})
		start := time.Now()
		ch := async(func() (*session.Result, error) {
			return s.Call(context.Background(), "slow", nil, nil, session.Timeout(3*time.Second), session.CancelMode("kill"))
		})
		c := expect[*protocol.Call](r)
		if _, ok := c.Options["timeout"]; ok {
			t.Errorf("CALL carries a timeout option: %+v", c.Options)
		}
		cn := expect[*protocol.Cancel](r) // arrives when the timer fires
		if el := time.Since(start); el != 3*time.Second {
			t.Errorf("CANCEL after %v, want 3s", el)
		}
		if cn.Options["mode"] != "kill" {
			t.Errorf("CANCEL %+v", cn)
		}
		_, err := wait(t, ch)
		if !errors.Is(err, session.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		r.send(&protocol.Error{RequestType: protocol.CodeCall, Request: c.Request, Details: protocol.Dict{}, URI: session.URICanceled})
		closeWithGoodbye(t, s, r, "wamp.close.normal")
	})
}

func TestCallCrossbarTimeoutAnswer(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ch := async(func() (*session.Result, error) {
		return s.Call(context.Background(), "slow", nil, nil, session.WithOption("timeout", int64(1)))
	})
	c := expect[*protocol.Call](r)
	if c.Options["timeout"] != int64(1) {
		t.Errorf("options %+v", c.Options)
	}
	// crossbar: seconds-based timeout answered with canceled ["timeout reached"].
	r.send(&protocol.Error{RequestType: protocol.CodeCall, Request: c.Request, Details: protocol.Dict{},
		URI: "wamp.error.canceled", Args: protocol.List{"timeout reached"}})
	_, err := wait(t, ch)
	if !errors.Is(err, session.ErrCanceled) || !errors.Is(err, session.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	// A plain cancel is not a timeout.
	if errors.Is(&session.Error{URI: session.URICanceled}, session.ErrTimeout) {
		t.Error("plain canceled matches ErrTimeout")
	}
}

func TestOptionsNotApplicable(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx := context.Background()
	h := func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil }
	checks := []struct {
		name string
		err  error
	}{
		{"Call+Match", func() error { _, err := s.Call(ctx, "x", nil, nil, session.Match("prefix")); return err }()},
		{"Call+Acknowledge", func() error { _, err := s.Call(ctx, "x", nil, nil, session.Acknowledge(true)); return err }()},
		{"Register+ReceiveProgress", func() error {
			_, err := s.Register(ctx, "x", h, session.ReceiveProgress(func(*session.Result) {}))
			return err
		}()},
		{"Subscribe+Invoke", func() error {
			_, err := s.Subscribe(ctx, "x", func(*session.Event) {}, session.Invoke("roundrobin"))
			return err
		}()},
		{"Publish+CancelMode", s.Publish(ctx, "x", nil, nil, session.CancelMode("kill"))},
		{"zero option", s.Publish(ctx, "x", nil, nil, session.Option{})},
		{"bad cancel mode", func() error { _, err := s.Call(ctx, "x", nil, nil, session.CancelMode("later")); return err }()},
		{"bad match", func() error {
			_, err := s.Subscribe(ctx, "x", func(*session.Event) {}, session.Match("regex"))
			return err
		}()},
		{"bad invoke", func() error { _, err := s.Register(ctx, "x", h, session.Invoke("all")); return err }()},
		{"empty procedure", func() error { _, err := s.Call(ctx, "", nil, nil); return err }()},
		{"nil handler", func() error { _, err := s.Register(ctx, "x", nil); return err }()},
	}
	for _, c := range checks {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	r.noMessage(20 * time.Millisecond)
}
