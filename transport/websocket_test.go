package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/internal/memnet"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

func TestWebSocketNoCommonSubprotocol(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, "ws", ServerOptions{Serializers: []protocol.Serializer{protocol.JSON}}, nil, echo)
	ctx := ctxT(t, 5*time.Second)
	_, err := Dial(ctx, ts.url, DialOptions{Serializers: []protocol.Serializer{protocol.CBOR, protocol.MsgPack}})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "supported: wamp.2.json") {
		t.Fatalf("Dial = %v, want a 400 naming the supported subprotocols", err)
	}
}

func TestWebSocketHandshakeNeverAnswered(t *testing.T) {
	checkLeaks(t)
	u := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, "ws"+strings.TrimPrefix(u, "tcp"), DialOptions{})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want an error matching DeadlineExceeded", err)
	}
	t.Logf("Dial failed after %v: %v", time.Since(start), err)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial took %v", d)
	}
}

func TestWebSocketServerPicksNone(t *testing.T) {
	checkLeaks(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil) // no subprotocols: picks none
		if err != nil {
			return
		}
		c.Read(context.Background())
		c.CloseNow()
	}))
	defer srv.Close()
	ctx := ctxT(t, 5*time.Second)
	_, err := Dial(ctx, wsURL(srv), DialOptions{})
	if err == nil || !strings.Contains(err.Error(), "server picked no subprotocol (offered wamp.2.cbor, wamp.2.msgpack, wamp.2.json)") {
		t.Fatalf("Dial = %v", err)
	}
}

func TestWebSocketHandlerBadOptions(t *testing.T) {
	h := WebSocketHandler(ServerOptions{MaxMessageSize: -5}, func(p Peer) { p.Close() })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("misconfigured handler answered %d, want 500", rec.Code)
	}
}

func TestWebSocketNotAnUpgrade(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, "ws", ServerOptions{}, nil, echo)
	resp, err := http.Get("http" + strings.TrimPrefix(ts.url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("plain GET got %s, want an error status", resp.Status)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestWebSocketFrameTypeMismatch: a binary message on wamp.2.json (client
// side) and a text message on wamp.2.cbor (server side) fail the connection.
func TestWebSocketFrameTypeMismatch(t *testing.T) {
	t.Run("client receives binary on json", func(t *testing.T) {
		checkLeaks(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
			if err != nil {
				return
			}
			c.Write(context.Background(), websocket.MessageBinary, []byte(`[48,1,{},"a"]`))
			c.Read(context.Background())
			c.CloseNow()
		}))
		defer srv.Close()
		ctx := ctxT(t, 5*time.Second)
		p, err := Dial(ctx, wsURL(srv), DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, err = p.Recv(ctx)
		if err == nil || !strings.Contains(err.Error(), "received a binary message but wamp.2.json needs text messages") || !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv = %v", err)
		}
	})
	t.Run("server receives text on cbor", func(t *testing.T) {
		checkLeaks(t)
		errc := make(chan error, 1)
		ts := startServer(t, "ws", ServerOptions{}, nil, func(p Peer) {
			_, err := p.Recv(context.Background())
			errc <- err
		})
		ctx := ctxT(t, 5*time.Second)
		c, _, err := websocket.Dial(ctx, ts.url, &websocket.DialOptions{Subprotocols: []string{"wamp.2.cbor"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.Write(ctx, websocket.MessageText, []byte("hello"))
		err = <-errc
		if err == nil || !strings.Contains(err.Error(), "received a text message but wamp.2.cbor needs binary messages") {
			t.Fatalf("server Recv = %v", err)
		}
		_, _, err = c.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
			t.Errorf("client saw %v, want close status 1003", err)
		}
	})
}

func TestWebSocketHeadersAndUserAgent(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var ua, custom string
	h := WebSocketHandler(ServerOptions{}, func(p Peer) { p.Close() })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ua, custom = r.Header.Get("User-Agent"), r.Header.Get("X-Custom")
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := ctxT(t, 5*time.Second)
	for _, tc := range []struct{ ua, want string }{{"", "izaber-wamp-go"}, {"my-app/1.0", "my-app/1.0"}} {
		p, err := Dial(ctx, wsURL(srv), DialOptions{UserAgent: tc.ua, Header: http.Header{"X-Custom": {"42"}}})
		if err != nil {
			t.Fatal(err)
		}
		p.Recv(ctx)
		p.Close()
		mu.Lock()
		if ua != tc.want || custom != "42" {
			t.Errorf("server saw User-Agent %q, X-Custom %q; want %q, 42", ua, custom, tc.want)
		}
		mu.Unlock()
	}
}

// freezeProxy forwards TCP traffic until frozen, then silently drops
// everything in both directions without closing: a half-open connection.
type freezeProxy struct {
	l       net.Listener
	frozen  atomic.Bool
	stalled atomic.Bool // stop reading too, so the senders' buffers fill
	quit    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startProxy(t testing.TB, target string) *freezeProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fp := &freezeProxy{l: l, quit: make(chan struct{})}
	fp.wg.Add(1)
	go func() {
		defer fp.wg.Done()
		for {
			a, err := l.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			fp.mu.Lock()
			fp.conns = append(fp.conns, a, b)
			fp.mu.Unlock()
			fp.wg.Add(2)
			go fp.pipe(a, b)
			go fp.pipe(b, a)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		close(fp.quit)
		fp.mu.Lock()
		for _, c := range fp.conns {
			c.Close()
		}
		fp.mu.Unlock()
		fp.wg.Wait()
	})
	return fp
}

func (fp *freezeProxy) pipe(dst, src net.Conn) {
	defer fp.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		for fp.stalled.Load() {
			select {
			case <-fp.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		n, err := src.Read(buf)
		if n > 0 && !fp.frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (fp *freezeProxy) addr() string { return fp.l.Addr().String() }

// TestKeepAliveDetectsHalfOpen: once the path silently drops everything,
// the pinging side reports a keep-alive failure from Recv.
func TestKeepAliveDetectsHalfOpen(t *testing.T) {
	// In a synctest bubble over in-memory connections: time moves only
	// when every goroutine waits, so a 200ms pong timeout means 200ms of
	// silence from the peer, not of a busy machine (over loopback sockets
	// this test failed under load).
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u, o := startMemServer(t, scheme, ServerOptions{PingInterval: -1}, echo)
				conns := make(chan *memnet.Conn, 1)
				o.NetDial = dialMem(o, conns)
				o.PingInterval, o.PongTimeout, o.RawSocketPing = 100*time.Millisecond, 200*time.Millisecond, true
				ctx := t.Context()
				p, err := Dial(ctx, u, o)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				conn := <-conns
				// Healthy for several intervals.
				short, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
				_, err = p.Recv(short)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("healthy idle connection: Recv = %v, want DeadlineExceeded", err)
				}
				if err := p.Send(ctx, testCall(1)); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Recv(ctx); err != nil {
					t.Fatal(err)
				}
				conn.Freeze()
				start := time.Now()
				_, err = p.Recv(ctx)
				if err == nil || !strings.Contains(err.Error(), "keep-alive: no pong within 200ms") || !errors.Is(err, ErrClosed) {
					t.Fatalf("Recv on half-open connection = %v", err)
				}
				// A dead peer is noticed within ping interval + timeout.
				if d := time.Since(start); d > 300*time.Millisecond {
					t.Errorf("detected after %v, want at most 300ms", d)
				}
			})
		})
	}
}

// TestKeepAliveDetectsStalledWrites: the path stops taking bytes while a
// large send is in progress; keep-alive cannot even write its ping and sees
// no byte move either way, and declares the connection dead.
func TestKeepAliveDetectsStalledWrites(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{PingInterval: -1}, nil, echo)
			target := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(ts.url, "ws://"), "tcp://"), "/ws")
			fp := startProxy(t, target)
			ctx := ctxT(t, 20*time.Second)
			p, err := Dial(ctx, strings.Replace(ts.url, target, fp.addr(), 1), DialOptions{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond, RawSocketPing: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			fp.frozen.Store(true)
			fp.stalled.Store(true)
			sendErr := make(chan error, 1)
			go func() {
				for {
					if err := p.Send(context.Background(), bigCall(256<<10)); err != nil {
						sendErr <- err
						return
					}
				}
			}()
			_, err = p.Recv(ctx)
			if err == nil || !strings.Contains(err.Error(), "keep-alive") || !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv on stalled connection = %v, want a keep-alive failure", err)
			}
			t.Logf("Recv: %v", err)
			if err := <-sendErr; !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked Send = %v, want ErrClosed", err)
			}
		})
	}
}

// TestServerKeepAlive: the server side pings too (WebSocket by default,
// RawSocket when enabled): a live client (one that reads: pings are
// answered by Recv) keeps the connection up, a half-open one is detected.
func TestServerKeepAlive(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			idle := make(chan error, 1)
			dead := make(chan error, 1)
			ts := startServer(t, scheme, ServerOptions{PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond, RawSocketPing: true}, nil, func(p Peer) {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				_, err := p.Recv(ctx)
				cancel()
				idle <- err
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
				_, err = p.Recv(ctx)
				cancel()
				dead <- err
			})
			target := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(ts.url, "ws://"), "tcp://"), "/ws")
			fp := startProxy(t, target)
			ctx := ctxT(t, 10*time.Second)
			p, err := Dial(ctx, strings.Replace(ts.url, target, fp.addr(), 1), DialOptions{PingInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			reader := make(chan struct{})
			go func() {
				defer close(reader)
				for {
					if _, err := p.Recv(ctx); err != nil {
						return
					}
				}
			}()
			defer func() { p.Close(); <-reader }()
			if err := <-idle; !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("server Recv over a pinged idle connection = %v, want DeadlineExceeded", err)
			}
			fp.frozen.Store(true)
			if err := <-dead; err == nil || !strings.Contains(err.Error(), "keep-alive: no pong within 200ms") {
				t.Fatalf("server Recv over half-open connection = %v, want keep-alive failure", err)
			}
		})
	}
}

func TestTLSVerification(t *testing.T) {
	pki := getPKI(t)
	for _, scheme := range []string{"wss", "tcps"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, pki.serverTLS(false), echo)
			ctx := ctxT(t, 10*time.Second)
			for _, tc := range []struct {
				name string
				opts DialOptions
				want string // "" = success
			}{
				{"system roots reject test CA", DialOptions{}, "certificate signed by unknown authority"},
				{"CA file", DialOptions{CAFile: pki.caFile}, ""},
				{"CA pool in TLS config", DialOptions{TLS: &tls.Config{RootCAs: pki.pool}}, ""},
				{"wrong server name", DialOptions{CAFile: pki.caFile, ServerName: "wrong.example"}, "wrong.example"},
				{"insecure", DialOptions{InsecureSkipVerify: true}, ""},
			} {
				p, err := Dial(ctx, ts.url, tc.opts)
				if tc.want == "" {
					if err != nil {
						t.Errorf("%s: %v", tc.name, err)
						continue
					}
					if err := p.Send(ctx, testCall(1)); err != nil {
						t.Errorf("%s: Send: %v", tc.name, err)
					} else if _, err := p.Recv(ctx); err != nil {
						t.Errorf("%s: Recv: %v", tc.name, err)
					}
					p.Close()
					continue
				}
				if err == nil {
					p.Close()
					t.Errorf("%s: Dial succeeded", tc.name)
				} else if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
				}
			}
		})
	}
}

func TestMutualTLS(t *testing.T) {
	pki := getPKI(t)
	for _, scheme := range []string{"wss", "tcps"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			ts := startServer(t, scheme, ServerOptions{}, pki.serverTLS(true), echo)
			ctx := ctxT(t, 10*time.Second)
			if p, err := Dial(ctx, ts.url, DialOptions{CAFile: pki.caFile}); err == nil {
				// With TLS 1.3 the refusal may arrive after the handshake.
				if err = p.Send(ctx, testCall(1)); err == nil {
					_, err = p.Recv(ctx)
				}
				p.Close()
				if err == nil {
					t.Fatal("no client certificate: connection works")
				}
			}
			p, err := Dial(ctx, ts.url, DialOptions{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey})
			if err != nil {
				t.Fatalf("with client certificate: %v", err)
			}
			defer p.Close()
			if err := p.Send(ctx, testCall(2)); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Recv(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// rawWSServer completes a WebSocket handshake by hand (subprotocol
// wamp.2.cbor) and then writes raw bytes, to test broken servers.
func rawWSServer(t *testing.T, after []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n" +
			"Sec-WebSocket-Protocol: wamp.2.cbor\r\n\r\n")
		brw.Write(after)
		brw.Flush()
		// Half-close, then wait for the client to close: the client reads
		// everything before the FIN, and the server never leaves unread bytes
		// behind (which would turn its close into a reset).
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	}))
	t.Cleanup(srv.Close)
	return wsURL(srv)
}

func TestWebSocketBrokenServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after []byte
		want  string
	}{
		{"closes mid-frame", []byte{0x82, 0x10, 'a', 'b'}, "connection dropped by peer without a close frame"},
		{"closes without close frame", nil, "connection dropped by peer without a close frame"},
		{"reserved opcode", []byte{0x83, 0x01, 'x'}, "unknown opcode"},
		{"close frame 1011", []byte{0x88, 0x07, 0x03, 0xF3, 'o', 'o', 'p', 's', '!'}, "closed by peer with status 1011"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			u := rawWSServer(t, tc.after)
			ctx := ctxT(t, 5*time.Second)
			p, err := Dial(ctx, u, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Recv(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv = %v, want error with %q matching ErrClosed", err, tc.want)
			}
		})
	}
}

// TestMaskBytes checks the word-at-a-time masking against RFC 6455 5.3
// octet by octet, for every length up to a few words.
func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x12, 0x9a, 0xfe, 0x01}
	k := binary.LittleEndian.Uint32(key[:])
	for n := 0; n < 40; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		maskBytes(b, k)
		for i := range b {
			if want := byte(i*7) ^ key[i%4]; b[i] != want {
				t.Fatalf("len %d: octet %d = %#x, want %#x", n, i, b[i], want)
			}
		}
	}
}

// TestWebSocketControlFrames: pings are answered, fragmented messages
// assembled and close frames answered, on both sides, with coder/websocket
// at the other end.
func TestWebSocketControlFrames(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		checkLeaks(t)
		got := make(chan protocol.Message, 1)
		errc := make(chan error, 1)
		ts := startServer(t, "ws", ServerOptions{}, nil, func(p Peer) {
			ctx := context.Background()
			m, err := p.Recv(ctx)
			if err != nil {
				errc <- err
				return
			}
			got <- m
			_, err = p.Recv(ctx)
			errc <- err
		})
		ctx := ctxT(t, 5*time.Second)
		c, _, err := websocket.Dial(ctx, ts.url, &websocket.DialOptions{Subprotocols: []string{"wamp.2.cbor"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		// A message in several frames (coder/websocket flushes a frame
		// per 4 KiB buffer), with a ping in between.
		big := bigCall(10000)
		b, _ := protocol.CBOR.Marshal(big)
		w, err := c.Writer(ctx, websocket.MessageBinary)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b[:5000])
		readDone := make(chan struct{})
		go func() { // reads, so that coder/websocket sees the pong and the close reply
			defer close(readDone)
			c.Read(ctx)
		}()
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		w.Write(b[5000:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if call, ok := m.(*protocol.Call); !ok || call.Request != big.Request {
				t.Fatalf("server got %v", m)
			}
		case err := <-errc:
			t.Fatalf("server Recv = %v", err)
		}
		if err := c.Close(websocket.StatusGoingAway, "bye"); err != nil {
			t.Errorf("close handshake: %v", err)
		}
		err = <-errc
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), `status 1001 "bye"`) {
			t.Errorf("server Recv after close = %v", err)
		}
		<-readDone
	})
	t.Run("client", func(t *testing.T) {
		checkLeaks(t)
		var wg sync.WaitGroup
		srvErr := make(chan error, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wg.Add(1)
			defer wg.Done()
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
			if err != nil {
				srvErr <- err
				return
			}
			defer c.CloseNow()
			ctx := r.Context()
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				c.Read(ctx)
			}()
			if err := c.Ping(ctx); err != nil {
				srvErr <- fmt.Errorf("ping: %w", err)
				return
			}
			srvErr <- c.Close(websocket.StatusNormalClosure, "done")
			<-readDone
		}))
		defer func() { srv.Close(); wg.Wait() }()
		ctx := ctxT(t, 5*time.Second)
		p, err := Dial(ctx, wsURL(srv), DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, err = p.Recv(ctx) // answers the ping, then the close frame
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), `status 1000 "done"`) {
			t.Errorf("client Recv = %v", err)
		}
		if err := <-srvErr; err != nil {
			t.Errorf("server: %v", err)
		}
	})
}

// TestWebSocketProtocolErrors: frames RFC 6455 forbids end the connection
// with close status 1002 (1009 for a message over the limit).
func TestWebSocketProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  []byte
		status int
	}{
		{"unmasked from client", wsFrameBytes(0x81, []byte("[]"), false, 0), 1002},
		{"reserved bits", wsFrameBytes(0xC1, []byte("[]"), true, 1), 1002},
		{"fragmented ping", wsFrameBytes(0x09, nil, true, 1), 1002},
		{"continuation first", wsFrameBytes(0x80, []byte("x"), true, 1), 1002},
		{"close with 1 octet", wsFrameBytes(0x88, []byte{3}, true, 1), 1002},
		{"close with status 1005", wsFrameBytes(0x88, []byte{0x03, 0xED}, true, 1), 1002},
		{"too big", wsFrameBytes(0x81, bytes.Repeat([]byte{' '}, 2000), true, 1), 1009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			errc := make(chan error, 1)
			ts := startServer(t, "ws", ServerOptions{MaxMessageSize: 1024}, nil, func(p Peer) {
				_, err := p.Recv(context.Background())
				errc <- err
			})
			c, br := rawWSClient(t, ts.url, "wamp.2.json")
			defer c.Close()
			c.Write(tc.frame)
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Fatalf("server Recv = %v", err)
			}
			// The server's close frame: 0x88, length, status.
			hdr := make([]byte, 4)
			if _, err := io.ReadFull(br, hdr); err != nil {
				t.Fatalf("reading the close frame: %v", err)
			}
			if hdr[0] != 0x88 || int(binary.BigEndian.Uint16(hdr[2:])) != tc.status {
				t.Fatalf("server sent % x, want a close frame with status %d", hdr, tc.status)
			}
		})
	}
}

// rawWSClient opens a WebSocket to url by hand and returns the connection
// and a reader positioned after the handshake response.
func rawWSClient(t *testing.T, url, subprotocol string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u := strings.TrimPrefix(url, "ws://")
	host, path, _ := strings.Cut(u, "/")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	return c, wsUpgrade(t, c, host, path, subprotocol)
}

// wsUpgrade sends a WebSocket opening handshake on c and reads the reply.
func wsUpgrade(t *testing.T, c net.Conn, host, path, subprotocol string) *bufio.Reader {
	t.Helper()
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		path, host, subprotocol)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		t.Fatalf("handshake: %s", resp.Status)
	}
	return br
}
