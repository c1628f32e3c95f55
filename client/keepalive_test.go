package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// TestKeepAliveRawSocketByDefault: a Client on tcp:// with its default
// keep-alive (only shortened) notices a router that stops answering (a
// proxy that stops forwarding, as a SIGSTOPped router) within ping
// interval + timeout, as it does on WebSocket (issue 11).
func TestKeepAliveRawSocketByDefault(t *testing.T) {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeRawSocket(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.Close(ctx)
	}()
	px := freezeProxy(t, l.Addr().String())
	const ping, timeout = 100 * time.Millisecond, 300 * time.Millisecond
	lost := make(chan error, 1)
	c := client.New(client.Config{
		URL:              "tcp://" + px.addr,
		DialOptions:      transport.DialOptions{PingInterval: ping, PongTimeout: timeout},
		Session:          session.Config{Realm: "realm1"},
		DisableReconnect: true,
		OnDisconnect: func(err error) {
			select {
			case lost <- err:
			default:
			}
		},
	})
	defer closeClient(t, c)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		t.Fatalf("healthy idle connection lost: %v", err)
	case <-time.After(5 * ping):
	}
	px.frozen.Store(true)
	start := time.Now()
	select {
	case err := <-lost:
		d := time.Since(start)
		if !errors.Is(err, session.ErrConnectionLost) {
			t.Fatalf("disconnected with %v, want ErrConnectionLost", err)
		}
		t.Logf("noticed after %v: %v", d, err)
		if d > 2*(ping+timeout)+200*time.Millisecond {
			t.Errorf("noticed after %v, want within about ping + timeout (%v)", d, ping+timeout)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frozen router not noticed after 5s")
	}
}

// frozenProxy forwards TCP until frozen, then forwards nothing and keeps
// the connections open.
type frozenProxy struct {
	addr   string
	frozen atomic.Bool
}

func freezeProxy(t *testing.T, target string) *frozenProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &frozenProxy{addr: l.Addr().String()}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.frozen.Load() {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Add(2)
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return p
}
