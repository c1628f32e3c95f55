package session_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/memnet"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// stuckRouter is a RawSocket (JSON) router on an in-memory listener that
// answers the handshake and HELLO with WELCOME, then never reads again: the
// client's writes block. It returns the DialOptions.NetDial to reach it.
func stuckRouter(t *testing.T) func(ctx context.Context, network, addr string) (net.Conn, error) {
	t.Helper()
	l := memnet.Listen()
	done := make(chan struct{})
	served := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		l.Close()
		<-served
	})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var hs [4]byte
		if _, err := io.ReadFull(c, hs[:]); err != nil {
			return
		}
		c.Write([]byte{0x7F, 0xF1, 0, 0}) // JSON, 16 MiB
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:]) & 0xFFFFFF)
		if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
			return
		}
		w, _ := protocol.JSON.Marshal(&protocol.Welcome{Session: 1, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{}, "dealer": protocol.Dict{}}}})
		binary.BigEndian.PutUint32(hdr[:], uint32(len(w)))
		c.Write(append(hdr[:], w...))
		<-done // never read again
	}()
	return l.Dial
}

// TestCallNotHeldByBlockedWriter: the router stops reading while an 8 MiB
// PUBLISH is being written; a Call with a 200 ms context returns at its
// deadline instead of waiting for the writer (issue 11: writer wait bounded
// by the caller's context). In a synctest bubble over in-memory
// connections: over loopback sockets, on a loaded machine, encoding and
// queueing 8 MiB under -race could take longer than the test waited.
func TestCallNotHeldByBlockedWriter(t *testing.T) {
	synctest.Test(t, testCallNotHeldByBlockedWriter)
}

func testCallNotHeldByBlockedWriter(t *testing.T) {
	ctx := t.Context()
	p, err := transport.Dial(ctx, "tcp://memnet:1", transport.DialOptions{Serializers: []protocol.Serializer{protocol.JSON}, NetDial: stuckRouter(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Join(ctx, p, session.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Close(cctx)
	}()
	big := strings.Repeat("x", 8<<20)
	go s.Publish(ctx, "com.example.big", protocol.List{big}, nil, session.Acknowledge(false))
	// The publish now waits in the connection's outbox, its writer blocked.
	synctest.Wait()
	if n, _ := p.(transport.NetPeer).Backlog(); n < 8<<20 {
		t.Fatalf("backlog %d bytes, want the 8 MiB publish waiting in the outbox", n)
	}
	cctx, ccancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer ccancel()
	start := time.Now()
	res := make(chan error, 1)
	go func() {
		_, err := s.Call(cctx, "com.example.echo", nil, nil)
		res <- err
	}()
	select {
	case err := <-res:
		d := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call = %v, want context.DeadlineExceeded", err)
		}
		if d != 200*time.Millisecond {
			t.Fatalf("Call returned after %v, want 200ms (its context's deadline)", d)
		}
		t.Logf("Call returned after %v: %v", d, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Call with a 200 ms context still blocked after 3 s (waiting for the writer)")
	}
}

// freezer forwards TCP connections to target until frozen, then forwards
// nothing in either direction and keeps the connections open: a peer that
// was SIGSTOPped, or a path that silently drops everything.
type freezer struct {
	l      net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		wg.Wait()
	})
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
			f.mu.Lock()
			f.conns = append(f.conns, c, u)
			f.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); f.pipe(u, c) }()
			go func() { defer wg.Done(); f.pipe(c, u) }()
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !f.frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// welcomeServe is a minimal router: it answers HELLO with WELCOME and then
// reads (and so answers pings) until the end.
func welcomeServe(p transport.Peer) {
	defer p.Close()
	ctx := context.Background()
	if _, err := p.Recv(ctx); err != nil {
		return
	}
	if err := p.Send(ctx, &protocol.Welcome{Session: 1, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{}, "dealer": protocol.Dict{}}}}); err != nil {
		return
	}
	for {
		if _, err := p.Recv(ctx); err != nil {
			return
		}
	}
}

// memRouter serves welcomeServe over WebSocket and RawSocket on in-memory
// listeners, for tests in a synctest bubble; dial returns the
// DialOptions.NetDial of each, which passes every connection made to conns.
func memRouter(t *testing.T, conns chan<- *memnet.Conn) (dial func(scheme string) func(ctx context.Context, network, addr string) (net.Conn, error)) {
	t.Helper()
	opts := transport.ServerOptions{PingInterval: -1}
	var wg sync.WaitGroup
	wsl, rsl := memnet.Listen(), memnet.Listen()
	hs := &http.Server{Handler: transport.WebSocketHandler(opts, welcomeServe)}
	go hs.Serve(wsl)
	rl, err := transport.NewRawSocketListener(rsl, opts)
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
			go func() { defer wg.Done(); welcomeServe(p) }()
		}
	}()
	t.Cleanup(func() {
		hs.Close()
		rl.Close()
		wg.Wait()
	})
	return func(scheme string) func(ctx context.Context, network, addr string) (net.Conn, error) {
		l := rsl
		if scheme == "ws" {
			l = wsl
		}
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := l.Dial(ctx, network, addr)
			if err == nil {
				conns <- c.(*memnet.Conn)
			}
			return c, err
		}
	}
}

// TestKeepAliveNoticesFrozenRouter: with the default keep-alive (no
// RawSocketPing option), a router that stops answering is noticed within
// ping interval + timeout on RawSocket as on WebSocket, and the session
// ends with ErrConnectionLost. (RawSocket connections used to stay
// "connected" until the OS gave up.) It runs in a synctest bubble over
// in-memory connections, so the bound holds on a loaded machine too (over
// loopback sockets it did not).
func TestKeepAliveNoticesFrozenRouter(t *testing.T) {
	const ping, timeout = 100 * time.Millisecond, 300 * time.Millisecond
	for _, tc := range []struct{ name, url string }{
		{"rawsocket", "tcp://memnet:1"},
		{"websocket", "ws://memnet/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conns := make(chan *memnet.Conn, 1)
				dial := memRouter(t, conns)
				ctx := t.Context()
				p, err := transport.Dial(ctx, tc.url, transport.DialOptions{PingInterval: ping, PongTimeout: timeout, NetDial: dial(tc.url[:2])})
				if err != nil {
					t.Fatal(err)
				}
				conn := <-conns
				s, err := session.Join(ctx, p, session.Config{Realm: "realm1"})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close(ctx)
				// Alive through several ping intervals.
				select {
				case <-s.Done():
					t.Fatalf("healthy idle session ended: %v", s.Err())
				case <-time.After(5 * ping):
				}
				conn.Freeze()
				start := time.Now()
				<-s.Done()
				d := time.Since(start)
				if !errors.Is(s.Err(), session.ErrConnectionLost) {
					t.Fatalf("session ended with %v, want ErrConnectionLost", s.Err())
				}
				t.Logf("noticed after %v: %v", d, s.Err())
				if d > ping+timeout {
					t.Errorf("noticed after %v, want within ping + timeout (%v)", d, ping+timeout)
				}
			})
		})
	}
}

// TestCrossbarRawSocketKeepAlive: towards crossbar over RawSocket (which
// drops a connection that sends it a PING) the session probes with WAMP
// calls instead: an idle session stays up through many intervals, and a
// frozen crossbar is noticed within ping + timeout. Needs a crossbar node
// (scripts/crossbar.sh start; WAMP_CONFORMANCE_TCP from scripts/crossbar.sh
// env).
func TestCrossbarRawSocketKeepAlive(t *testing.T) {
	u := os.Getenv("WAMP_CONFORMANCE_TCP")
	if u == "" {
		t.Skip("no crossbar node: set WAMP_CONFORMANCE_TCP (scripts/crossbar.sh env)")
	}
	const ping, timeout = 100 * time.Millisecond, 500 * time.Millisecond
	f := startFreezer(t, strings.TrimPrefix(u, "tcp://"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := transport.Dial(ctx, "tcp://"+f.l.Addr().String(), transport.DialOptions{PingInterval: ping, PongTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Join(ctx, p, session.Config{Realm: "izaber"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, _, pinging := p.(transport.NetPeer).KeepAlive(); pinging {
		t.Fatal("RawSocket PINGs started towards crossbar")
	}
	select {
	case <-s.Done():
		t.Fatalf("idle session to crossbar ended: %v", s.Err())
	case <-time.After(20 * ping):
	}
	if _, err := s.Call(ctx, "wamp.session.count", nil, nil); err != nil {
		t.Fatalf("call after idling: %v", err)
	}
	f.frozen.Store(true)
	start := time.Now()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("frozen crossbar not noticed after 10s")
	}
	d := time.Since(start)
	if !errors.Is(s.Err(), session.ErrConnectionLost) || !strings.Contains(s.Err().Error(), "liveness probe") {
		t.Fatalf("session ended with %v, want ErrConnectionLost from the liveness probe", s.Err())
	}
	t.Logf("noticed after %v: %v", d, s.Err())
	if d > 2*(ping+timeout)+500*time.Millisecond {
		t.Errorf("noticed after %v, want within about ping + timeout (%v)", d, ping+timeout)
	}
}
