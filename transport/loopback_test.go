package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestLoopback runs every scheme with every serializer, client against our
// own server side: messages go both ways intact, the negotiated serializer
// is the one asked for, and closing one end reaches the other.
func TestLoopback(t *testing.T) {
	pki := getPKI(t)
	for _, scheme := range []string{"ws", "wss", "tcp", "tcps", "tcpip", "tcpips", "unix"} {
		for _, ser := range allSers {
			t.Run(scheme+"/"+ser.Name(), func(t *testing.T) {
				checkLeaks(t)
				srvPeers := make(chan Peer, 1)
				srvDone := make(chan error, 1)
				ts := startServer(t, scheme, ServerOptions{}, pki.serverTLS(false), func(p Peer) {
					srvPeers <- p
					// Echo once, then report how the connection ended.
					ctx := context.Background()
					m, err := p.Recv(ctx)
					if err == nil {
						err = p.Send(ctx, m)
					}
					if err == nil {
						_, err = p.Recv(ctx)
					}
					srvDone <- err
				})
				ctx := ctxT(t, 10*time.Second)
				c, err := Dial(ctx, ts.url, dialOpts(t, ser))
				if err != nil {
					t.Fatalf("Dial(%s): %v", ts.url, err)
				}
				defer c.Close()
				if got := c.Serializer().Name(); got != ser.Name() {
					t.Errorf("client serializer = %s, want %s", got, ser.Name())
				}
				want := testCall(42)
				if err := c.Send(ctx, want); err != nil {
					t.Fatalf("Send: %v", err)
				}
				got, err := c.Recv(ctx)
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				if d := cmp.Diff(protocol.Message(want), got); d != "" {
					t.Errorf("echoed message differs (-sent +got):\n%s", d)
				}
				sp := <-srvPeers
				if got := sp.Serializer().Name(); got != ser.Name() {
					t.Errorf("server serializer = %s, want %s", got, ser.Name())
				}
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				select {
				case err := <-srvDone:
					if !errors.Is(err, ErrClosed) {
						t.Errorf("server Recv after client close = %v, want ErrClosed", err)
					}
				case <-ctx.Done():
					t.Fatal("server did not see the close")
				}
				if err := c.Send(ctx, want); !errors.Is(err, ErrClosed) {
					t.Errorf("Send after Close = %v, want ErrClosed", err)
				}
				if _, err := c.Recv(ctx); !errors.Is(err, ErrClosed) {
					t.Errorf("Recv after Close = %v, want ErrClosed", err)
				}
			})
		}
	}
}

// TestServerPicksFromClientOffer checks negotiation with several serializers
// offered: WebSocket gets the client's first choice the server supports,
// RawSocket falls back to the next serializer after a refusal.
func TestServerPicksFromClientOffer(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{Serializers: []protocol.Serializer{protocol.JSON, protocol.MsgPack}}, nil, echo)
			ctx := ctxT(t, 10*time.Second)
			c, err := Dial(ctx, ts.url, DialOptions{}) // default offer: cbor, msgpack, json
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Serializer().Name(); got != "msgpack" {
				t.Errorf("negotiated %s, want msgpack (first of the client's offer the server supports)", got)
			}
			if err := c.Send(ctx, testCall(1)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestManyMessagesConcurrentSend sends from several goroutines at once and
// checks every message arrives exactly once.
func TestManyMessagesConcurrentSend(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, nil, echo)
			ctx := ctxT(t, 20*time.Second)
			c, err := Dial(ctx, ts.url, DialOptions{Serializers: []protocol.Serializer{protocol.MsgPack}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const senders, each = 4, 100
			errc := make(chan error, senders)
			for s := 0; s < senders; s++ {
				go func() {
					for i := 0; i < each; i++ {
						if err := c.Send(ctx, testCall(protocol.ID(s*each+i+1))); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
			}
			seen := map[protocol.ID]bool{}
			for len(seen) < senders*each {
				m, err := c.Recv(ctx)
				if err != nil {
					t.Fatalf("Recv after %d: %v", len(seen), err)
				}
				id := m.(*protocol.Call).Request
				if seen[id] {
					t.Fatalf("message %d twice", id)
				}
				seen[id] = true
			}
			for s := 0; s < senders; s++ {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestDialContextEndsAfterDial: the dial context bounds the dial only.
func TestDialContextEndsAfterDial(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, nil, echo)
			dctx, cancel := context.WithCancel(context.Background())
			c, err := Dial(dctx, ts.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cancel()
			time.Sleep(50 * time.Millisecond)
			ctx := ctxT(t, 5*time.Second)
			if err := c.Send(ctx, testCall(1)); err != nil {
				t.Fatalf("Send after dial ctx cancelled: %v", err)
			}
			if _, err := c.Recv(ctx); err != nil {
				t.Fatalf("Recv after dial ctx cancelled: %v", err)
			}
		})
	}
}

// TestRecvContextDoesNotClose: a Recv whose context ends while no message
// is arriving leaves the connection usable.
func TestRecvContextDoesNotClose(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, nil, echo)
			ctx := ctxT(t, 5*time.Second)
			c, err := Dial(ctx, ts.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			_, err = c.Recv(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv with short ctx = %v, want DeadlineExceeded", err)
			}
			if err := c.Send(ctx, testCall(9)); err != nil {
				t.Fatal(err)
			}
			if m, err := c.Recv(ctx); err != nil || m.(*protocol.Call).Request != 9 {
				t.Fatalf("Recv = %v, %v", m, err)
			}
		})
	}
}

// TestCloseUnblocksRecv: a pending Recv returns ErrClosed on Close.
func TestCloseUnblocksRecv(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, nil, echo)
			ctx := ctxT(t, 5*time.Second)
			c, err := Dial(ctx, ts.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { _, err := c.Recv(ctx); errc <- err }()
			waitParked(t, "TestCloseUnblocksRecv", ").Recv(")
			c.Close()
			c.Close() // idempotent
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv = %v, want ErrClosed", err)
			}
		})
	}
}

// An HTTP answer that is not an upgrade is a *HandshakeError with the
// status, so that callers can tell a wrong path (404) from a proxy whose
// router is down (502).
func TestDialHandshakeError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := Dial(ctxT(t, 5*time.Second), "ws"+strings.TrimPrefix(srv.URL, "http")+"/", DialOptions{})
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound || !strings.Contains(he.Body, "not found") {
		t.Fatalf("Dial = %v, want a *HandshakeError 404", err)
	}
}

func TestDialBadURLs(t *testing.T) {
	ctx := ctxT(t, 5*time.Second)
	for _, tc := range []struct{ url, want string }{
		{"http://localhost:1/ws", "unsupported URL scheme \"http\""},
		{"foo://x", "supported: ws, wss, tcp, tcps, tcpip, tcpips, unix"},
		{"tcp://localhost", "has no port"},
		{"unix://", "no socket path"},
		{"://bad", "bad URL"},
	} {
		_, err := Dial(ctx, tc.url, DialOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadURL) {
			t.Errorf("Dial(%q) = %v, want ErrBadURL containing %q", tc.url, err, tc.want)
		}
	}
	_, err := Dial(ctx, "tcp://127.0.0.1:1", DialOptions{MaxMessageSize: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxMessageSize") {
		t.Errorf("negative MaxMessageSize: %v", err)
	}
	_, err = Dial(ctx, "wss://127.0.0.1:1", DialOptions{CertFile: "x.pem"})
	if err == nil || !strings.Contains(err.Error(), "both CertFile and KeyFile") {
		t.Errorf("CertFile without KeyFile: %v", err)
	}
	_, err = Dial(ctx, "tcps://127.0.0.1:1", DialOptions{CAFile: "/nonexistent/ca.pem"})
	if err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("missing CA file: %v", err)
	}
	_, err = Dial(ctx, "tcp://127.0.0.1:1", DialOptions{Serializers: []protocol.Serializer{nil}})
	if err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("nil serializer: %v", err)
	}
	_ = fmt.Sprint()
}

// TestQueueThenFlush: messages queued (NetPeer.Queue) under a lock of the
// sender's own and flushed after it go out in queue order, from concurrent
// senders, on every transport; and Queue waits for room bounded by its
// context like Send.
func TestQueueThenFlush(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, nil, echo)
			ctx := ctxT(t, 20*time.Second)
			p, err := Dial(ctx, ts.url, DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			np := p.(NetPeer)
			const senders, each = 4, 100
			var mu sync.Mutex // the senders' order lock
			next := protocol.ID(0)
			errc := make(chan error, senders)
			for range senders {
				go func() {
					for range each {
						mu.Lock()
						next++
						err := np.Queue(ctx, testCall(next))
						mu.Unlock()
						np.Flush()
						if err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
			}
			for want := protocol.ID(1); want <= senders*each; want++ {
				m, err := p.Recv(ctx)
				if err != nil {
					t.Fatalf("Recv of message %d: %v", want, err)
				}
				if got := m.(*protocol.Call).Request; got != want {
					t.Fatalf("message %d arrived in place of %d", got, want)
				}
			}
			for range senders {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			done, cancel := context.WithCancel(ctx)
			cancel()
			if err := np.Queue(done, testCall(1)); !errors.Is(err, context.Canceled) {
				t.Fatalf("Queue with an ended context = %v, want context.Canceled", err)
			}
		})
	}
}
