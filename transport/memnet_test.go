package transport

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/zabertech/go-izaber-wamp/internal/memnet"
)

// startMemServer serves handle over RawSocket ("tcp") or WebSocket ("ws")
// on an in-memory listener, so that the test can run in a synctest bubble.
// It returns the URL and the options that dial it; the connections dialed
// are memnet.Conns, which the test can freeze (see dialMem).
func startMemServer(t testing.TB, scheme string, opts ServerOptions, handle func(Peer)) (url string, dial DialOptions) {
	t.Helper()
	l := memnet.Listen()
	var wg sync.WaitGroup
	run := func(p Peer) {
		defer wg.Done()
		defer p.Close()
		handle(p)
	}
	switch scheme {
	case "ws":
		srv := &http.Server{Handler: WebSocketHandler(opts, func(p Peer) { wg.Add(1); run(p) })}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close(); wg.Wait() })
		url = "ws://memnet/ws"
	case "tcp":
		rl, err := NewRawSocketListener(l, opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p, err := rl.Accept(context.Background())
				if err != nil {
					return
				}
				wg.Add(1)
				go run(p)
			}
		}()
		t.Cleanup(func() { rl.Close(); wg.Wait() })
		url = "tcp://memnet:1"
	default:
		t.Fatalf("scheme %q", scheme)
	}
	return url, DialOptions{NetDial: l.Dial}
}

// dialMem is DialOptions.NetDial for startMemServer's listener that also
// hands the test each connection made, to freeze it.
func dialMem(o DialOptions, conns chan<- *memnet.Conn) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := o.NetDial(ctx, network, addr)
		if err == nil {
			select {
			case conns <- c.(*memnet.Conn):
			default:
			}
		}
		return c, err
	}
}
