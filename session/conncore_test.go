package session_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// stuckRouter is a RawSocket (JSON) router that answers the handshake and
// HELLO with WELCOME, then never reads again: the client's writes pile up
// in the socket buffers until they block.
func stuckRouter(t *testing.T) (url string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	t.Cleanup(func() {
		close(done)
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		c, ok := <-accepted
		if !ok {
			return
		}
		conns = append(conns, c)
		c.(*net.TCPConn).SetReadBuffer(4096)
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
	return "tcp://" + l.Addr().String()
}

// TestCallNotHeldByBlockedWriter: the router stops reading while an 8 MiB
// PUBLISH is being written; a Call with a 200 ms context returns at its
// deadline instead of waiting for the writer (issue 11: writer wait bounded
// by the caller's context).
func TestCallNotHeldByBlockedWriter(t *testing.T) {
	url := stuckRouter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
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
	pubDone := make(chan error, 1)
	go func() {
		pubDone <- s.Publish(ctx, "com.example.big", protocol.List{big}, nil, session.Acknowledge(false))
	}()
	// Wait until the publish fills the socket buffers and waits in the
	// connection's outbox.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := p.(transport.NetPeer).Backlog(); n > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 8 MiB publish did not fill the outbox")
		}
		time.Sleep(5 * time.Millisecond)
	}

	cctx, ccancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
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
		if d > time.Second {
			t.Fatalf("Call returned after %v, want about 200ms (its context's deadline)", d)
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

// welcomeServer is a minimal router on both transports: it answers HELLO
// with WELCOME and then reads (and so answers pings) until the end.
func welcomeServer(t *testing.T) (ws, tcp string) {
	t.Helper()
	serve := func(p transport.Peer) {
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
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
	hs := httptest.NewServer(transport.WebSocketHandler(transport.ServerOptions{PingInterval: -1}, serve))
	l, err := transport.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", transport.ServerOptions{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			p, err := l.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serve(p) }()
		}
	}()
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		l.Close()
		wg.Wait()
	})
	return strings.TrimPrefix(hs.URL, "http://"), l.Addr().String()
}

// TestKeepAliveNoticesFrozenRouter: with the default keep-alive (no
// RawSocketPing option), a router that stops answering is noticed within
// ping interval + timeout on RawSocket as on WebSocket, and the session
// ends with ErrConnectionLost. (RawSocket connections used to stay
// "connected" until the OS gave up.)
func TestKeepAliveNoticesFrozenRouter(t *testing.T) {
	wsAddr, tcpAddr := welcomeServer(t)
	const ping, timeout = 100 * time.Millisecond, 300 * time.Millisecond
	for _, tc := range []struct{ name, target, url string }{
		{"rawsocket", tcpAddr, "tcp://%s"},
		{"websocket", wsAddr, "ws://%s/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFreezer(t, tc.target)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := transport.Dial(ctx, fmt.Sprintf(tc.url, f.l.Addr()), transport.DialOptions{PingInterval: ping, PongTimeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
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
			f.frozen.Store(true)
			start := time.Now()
			select {
			case <-s.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("frozen router not noticed after 5s (ping %v + timeout %v)", ping, timeout)
			}
			d := time.Since(start)
			if !errors.Is(s.Err(), session.ErrConnectionLost) {
				t.Fatalf("session ended with %v, want ErrConnectionLost", s.Err())
			}
			t.Logf("noticed after %v: %v", d, s.Err())
			if d > 2*(ping+timeout)+200*time.Millisecond {
				t.Errorf("noticed after %v, want within about ping + timeout (%v)", d, ping+timeout)
			}
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
