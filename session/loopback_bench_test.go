package session_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// BenchmarkCallLoopback: calls with 1 and 256 in flight from one session
// through our router to a callee session, over real loopback sockets
// (WebSocket and RawSocket, JSON), all in this process: the whole stack's
// cost per call, allocations included, and the process's CPU time per call
// (cpu-ns/op), which a busy machine disturbs less than the time per call.
// bench/e2e measures the same with every role in a process of its own.
func BenchmarkCallLoopback(b *testing.B) {
	for _, tr := range []string{"ws", "raw"} {
		for _, inFlight := range []int{1, 256} {
			b.Run(fmt.Sprintf("%s/inflight=%d", tr, inFlight), func(b *testing.B) {
				benchCallLoopback(b, tr, inFlight)
			})
		}
	}
}

func benchCallLoopback(b *testing.B, tr string, inFlight int) {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		r.Close(cctx)
	}()
	var url string
	if tr == "raw" {
		l, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go r.ServeRawSocket(l)
		url = "tcp://" + l.Addr().String()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: r.WebSocketHandler()}
		go srv.Serve(ln)
		defer srv.Close()
		url = "ws://" + ln.Addr().String() + "/"
	}
	join := func() *session.Session {
		p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
		if err != nil {
			b.Fatal(err)
		}
		s, err := session.Join(ctx, p, session.Config{Realm: "realm1"})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	callee, caller := join(), join()
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		caller.Close(cctx)
		callee.Close(cctx)
	}()
	if _, err := callee.Register(ctx, "bench.echo", func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	err = callPipelined(caller, inFlight, b.N, protocol.List{"hello, world"})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	reportCallsPerSecond(b)
}
