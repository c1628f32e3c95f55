package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// TestConcurrentUse hammers two sessions through the mini router with
// calls (some cancelled), progressive results, publications and
// subscription churn from many goroutines, then closes them mid-flight.
func TestConcurrentUse(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	mr := newMiniRouter()
	defer mr.close()
	callee, err := mr.connect(ctx, session.Config{InvocationConcurrency: 4, EventQueueSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := mr.connect(ctx, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = callee.Register(ctx, "echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		if inv.Details["receive_progress"] == true {
			if err := inv.Progress(ctx, protocol.List{"p"}, nil); err != nil {
				return nil, err
			}
		}
		if inv.Arg(1) == true {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return &session.Result{Args: inv.Args}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var events atomic.Int64
	if _, err := callee.Subscribe(ctx, "news", func(*session.Event) { events.Add(1) }); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var opts []session.Option
				slow := i%5 == 0
				if slow {
					opts = append(opts, session.Timeout(200*time.Microsecond))
				}
				if i%3 == 0 {
					opts = append(opts, session.ReceiveProgress(func(*session.Result) {}))
				}
				res, err := caller.Call(ctx, "echo", protocol.List{int64(g*1000 + i), slow}, nil, opts...)
				switch {
				case err == nil:
					if res.Arg(0) != int64(g*1000+i) {
						t.Errorf("call %d got %v", g*1000+i, res.Arg(0))
					}
					ok.Add(1)
				case slow && errors.Is(err, session.ErrTimeout):
					failed.Add(1)
				default:
					t.Errorf("call: %v", err)
					return
				}
				if i%10 == 0 {
					if err := caller.Publish(ctx, "news", protocol.List{i}, nil); err != nil {
						t.Errorf("publish: %v", err)
					}
					sub, err := caller.Subscribe(ctx, "churn", func(*session.Event) {})
					if err != nil {
						t.Errorf("subscribe: %v", err)
						return
					}
					if err := caller.Unsubscribe(ctx, sub); err != nil {
						t.Errorf("unsubscribe: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 {
		t.Fatal("no call succeeded")
	}
	// Close while calls are in flight: they fail with ErrSessionClosed.
	var inflight sync.WaitGroup
	looping := make(chan struct{}, 8) // one per goroutine, after its first call
	for range 8 {
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			for first := true; ; first = false {
				_, err := caller.Call(ctx, "echo", protocol.List{int64(0), true}, nil)
				if first {
					looping <- struct{}{}
				}
				if err != nil {
					if !errors.Is(err, session.ErrSessionClosed) && !errors.Is(err, session.ErrConnectionLost) {
						t.Errorf("in-flight call: %v", err)
					}
					return
				}
			}
		}()
	}
	for range 8 {
		<-looping
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := caller.Close(cctx); err != nil {
		t.Errorf("caller Close: %v", err)
	}
	inflight.Wait()
	if err := callee.Close(cctx); err != nil {
		t.Errorf("callee Close: %v", err)
	}
	t.Logf("%d calls ok, %d timed out, %d events", ok.Load(), failed.Load(), events.Load())
}
