package session_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// benchPair joins a caller and a callee (procedure "bench.echo") through a
// miniRouter.
func benchPair(b *testing.B) (caller *session.Session, cleanup func()) {
	b.Helper()
	ctx := context.Background()
	mr := newMiniRouter()
	callee, err := mr.connect(ctx, session.Config{InvocationConcurrency: 128})
	if err != nil {
		b.Fatal(err)
	}
	_, err = callee.Register(ctx, "bench.echo", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	caller, err = mr.connect(ctx, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return caller, func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		caller.Close(cctx)
		callee.Close(cctx)
		mr.close()
	}
}

func reportCallsPerSecond(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "calls/s")
	}
}

// BenchmarkCallRoundTrip: one call at a time, caller -> router -> callee and back.
func BenchmarkCallRoundTrip(b *testing.B) {
	caller, cleanup := benchPair(b)
	defer cleanup()
	ctx := context.Background()
	args := protocol.List{"hello", int64(42)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := caller.Call(ctx, "bench.echo", args, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Args) != 2 {
			b.Fatalf("result %+v", res)
		}
	}
	b.StopTimer()
	reportCallsPerSecond(b)
}

// BenchmarkCallPipelined: 100 calls in flight at any time.
func BenchmarkCallPipelined(b *testing.B) {
	const inFlight = 100
	caller, cleanup := benchPair(b)
	defer cleanup()
	b.ReportAllocs()
	b.ResetTimer()
	err := callPipelined(caller, inFlight, b.N, protocol.List{"hello", int64(42)})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	reportCallsPerSecond(b)
}

// callPipelined makes n calls of bench.echo with args, inFlight at a time,
// and returns the first error.
func callPipelined(caller *session.Session, inFlight, n int, args protocol.List) error {
	ctx := context.Background()
	var remaining atomic.Int64
	remaining.Store(int64(n))
	var wg sync.WaitGroup
	var failed atomic.Value
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for remaining.Add(-1) >= 0 {
				if _, err := caller.Call(ctx, "bench.echo", args, nil); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}

// BenchmarkEventDelivery: publisher -> router -> subscriber handler, with
// an acknowledged publish every 256 events to pace the publisher. Events
// the subscriber's queue had to drop are reported as drops/op.
func BenchmarkEventDelivery(b *testing.B) {
	ctx := context.Background()
	mr := newMiniRouter()
	sub, err := mr.connect(ctx, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	pub, err := mr.connect(ctx, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		pub.Close(cctx)
		sub.Close(cctx)
		mr.close()
	}()
	var got atomic.Int64
	all := make(chan struct{})
	var target atomic.Int64
	target.Store(int64(b.N))
	s, err := sub.Subscribe(ctx, "bench.events", func(*session.Event) {
		if got.Add(1) == target.Load() {
			close(all)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	args := protocol.List{"tick", int64(1)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var opts []session.Option
		if i%256 == 255 {
			opts = append(opts, session.Acknowledge(true))
		}
		if err := pub.Publish(ctx, "bench.events", args, nil, opts...); err != nil {
			b.Fatal(err)
		}
	}
	for {
		if got.Load()+int64(s.Dropped()) >= int64(b.N) {
			break
		}
		select {
		case <-all:
		case <-time.After(time.Millisecond):
		}
	}
	b.StopTimer()
	if el := b.Elapsed().Seconds(); el > 0 {
		b.ReportMetric(float64(b.N)/el, "events/s")
	}
	b.ReportMetric(float64(s.Dropped())/float64(b.N), "drops/op")
}
