package router

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// The benchmarks drive the router with hand-written messages over
// transport.Pipe(nil), so they measure the router, not a client library.

// benchJoin joins n sessions through Router.ServePeer, doing the
// HELLO/WELCOME handshake by hand, and returns the client ends.
func benchJoin(b *testing.B, r *Router, n int) []transport.Peer {
	b.Helper()
	ctx := context.Background()
	peers := make([]transport.Peer, n)
	hello := &protocol.Hello{Realm: "realm1", Details: allFeatures}
	joined := make(chan struct{}, n)
	r.Realm("realm1").OnJoin(func(*SessionInfo) {
		select {
		case joined <- struct{}{}:
		default: // not one of these n
		}
	})
	for i := range peers {
		a, srv := transport.Pipe(nil)
		peers[i] = a
		go r.ServePeer(ctx, srv)
		if err := a.Send(ctx, hello); err != nil {
			b.Fatal(err)
		}
	}
	for _, a := range peers {
		m, err := a.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := m.(*protocol.Welcome); !ok {
			b.Fatalf("got %T, want WELCOME", m)
		}
	}
	// WELCOME is sent before the session is added to the realm.
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-joined:
		case <-timeout:
			b.Fatal("sessions did not join")
		}
	}
	return peers
}

func benchRouter(b *testing.B, cfg Config) *Router {
	cfg.Realms = []RealmConfig{{Name: "realm1"}}
	r, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		r.Close(ctx) // raw benchmark clients never answer GOODBYE
	})
	return r
}

func BenchmarkCalls(b *testing.B) {
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			r := benchRouter(b, Config{})
			peers := benchJoin(b, r, callers+1)
			ctx := context.Background()
			callee := peers[0]
			callee.Send(ctx, &protocol.Register{Request: 1, Options: protocol.Dict{}, Procedure: "bench.echo"})
			if _, err := callee.Recv(ctx); err != nil {
				b.Fatal(err)
			}
			go func() { // the callee: answer every invocation
				for {
					m, err := callee.Recv(ctx)
					if err != nil {
						return
					}
					if inv, ok := m.(*protocol.Invocation); ok {
						callee.Send(ctx, &protocol.Yield{Request: inv.Request, Args: inv.Args})
					}
				}
			}()
			args := protocol.List{"hello", int64(42)}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, p := range peers[1:] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for req := protocol.ID(1); next.Add(1) <= int64(b.N); req++ {
						if err := p.Send(ctx, &protocol.Call{Request: req, Procedure: "bench.echo", Args: args}); err != nil {
							b.Error(err)
							return
						}
						m, err := p.Recv(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						if res, ok := m.(*protocol.Result); !ok || res.Request != req {
							b.Errorf("got %T %+v", m, m)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		})
	}
}

func BenchmarkEventFanout100(b *testing.B) {
	const subscribers = 100
	r := benchRouter(b, Config{})
	peers := benchJoin(b, r, subscribers+1)
	ctx := context.Background()
	pub := peers[0]
	var received atomic.Int64
	var wg sync.WaitGroup
	for _, p := range peers[1:] {
		p.Send(ctx, &protocol.Subscribe{Request: 1, Options: protocol.Dict{}, Topic: "bench.topic"})
		if _, err := p.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, p := range peers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < b.N; i++ {
				if _, err := p.Recv(ctx); err != nil {
					b.Error(err)
					return
				}
				received.Add(1)
			}
		}()
	}
	args := protocol.List{"tick"}
	for i := 0; i < b.N; i++ {
		// Stay within the subscribers' outbound queues: a publisher far
		// ahead of its subscribers would get them dropped as slow.
		for int64(i-1000)*subscribers > received.Load() {
			runtime.Gosched()
		}
		pub.Send(ctx, &protocol.Publish{Request: protocol.ID(i + 1), Topic: "bench.topic", Args: args})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(received.Load())/time.Since(start).Seconds(), "events/s")
}

// BenchmarkIdleSessionMemory joins 10,000 sessions once, whatever b.N (so
// that -benchtime=Nx stays bounded in time), and
// reports the heap and goroutine stack memory they hold, net of the
// in-memory pipes themselves.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 10000
	measure := func() (heap, stack uint64) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, ms.StackInuse
	}
	{
		// Baseline: the pipes alone.
		h0, s0 := measure()
		pipes := make([]transport.Peer, 0, 2*n)
		for j := 0; j < n; j++ {
			a, c := transport.Pipe(nil)
			pipes = append(pipes, a, c)
		}
		h1, s1 := measure()
		runtime.KeepAlive(pipes)
		pipes = nil
		pipeHeap := h1 - h0
		_ = s1 - s0

		r := benchRouter(b, Config{})
		h2, s2 := measure()
		peers := benchJoin(b, r, n)
		h3, s3 := measure()
		runtime.KeepAlive(peers)
		heap := (int64(h3) - int64(h2) - int64(pipeHeap)) / n
		stack := (int64(s3) - int64(s2)) / n
		b.ReportMetric(float64(heap), "heap-B/session")
		b.ReportMetric(float64(stack), "stack-B/session")
		b.ReportMetric(float64(heap+stack), "B/session")
		for _, p := range peers {
			p.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r.Close(ctx)
		cancel()
	}
}
