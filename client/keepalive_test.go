package client_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/internal/memnet"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// TestKeepAliveRawSocketByDefault: a Client on tcp:// with its default
// keep-alive (only shortened) notices a router that stops answering (a
// connection that goes silent both ways, as with a SIGSTOPped router)
// within ping interval + timeout, as it does on WebSocket (issue 11). It
// runs in a synctest bubble over in-memory connections, so that a 300 ms
// pong timeout means 300 ms of silence from the router, not of a busy
// machine.
func TestKeepAliveRawSocketByDefault(t *testing.T) {
	synctest.Test(t, testKeepAliveRawSocketByDefault)
}

func testKeepAliveRawSocketByDefault(t *testing.T) {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ml := memnet.Listen()
	l, err := r.RawSocketListener(ml)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { r.ServeRawSocket(l); close(served) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.Close(ctx)
		<-served
	}()
	conns := make(chan *memnet.Conn, 1)
	const ping, timeout = 100 * time.Millisecond, 300 * time.Millisecond
	lost := make(chan error, 1)
	c := client.New(client.Config{
		URL: "tcp://memnet:1",
		DialOptions: transport.DialOptions{PingInterval: ping, PongTimeout: timeout,
			NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := ml.Dial(ctx, network, addr)
				if err == nil {
					conns <- c.(*memnet.Conn)
				}
				return c, err
			}},
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
	conn := <-conns
	select {
	case err := <-lost:
		t.Fatalf("healthy idle connection lost: %v", err)
	case <-time.After(5 * ping):
	}
	conn.Freeze()
	start := time.Now()
	select {
	case err := <-lost:
		d := time.Since(start)
		if !errors.Is(err, session.ErrConnectionLost) {
			t.Fatalf("disconnected with %v, want ErrConnectionLost", err)
		}
		t.Logf("noticed after %v: %v", d, err)
		if d > ping+timeout {
			t.Errorf("noticed after %v, want within ping + timeout (%v)", d, ping+timeout)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frozen router not noticed after 5s")
	}
}
