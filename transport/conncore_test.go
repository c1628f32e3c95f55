package transport

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
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

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestRecvContextResumesRawSocketFrame: a Recv whose context ends in the
// middle of a frame returns the context's error; the next Recv picks the
// frame up where it stopped.
func TestRecvContextResumesRawSocketFrame(t *testing.T) {
	checkLeaks(t)
	rest := make(chan struct{})
	u := rawServer(t, func(c net.Conn) {
		ser := rawAcceptHandshake(t, c, 15)
		b, _ := ser.Marshal(testCall(7))
		f := frameBytes(frameMessage, b)
		c.Write(f[:6]) // header and two payload octets
		<-rest
		c.Write(f[6:])
		io.Copy(io.Discard, c)
	})
	ctx := ctxT(t, 5*time.Second)
	p, err := Dial(ctx, u, DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		_, err = p.Recv(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
			t.Fatalf("Recv with short ctx = %v, want plain DeadlineExceeded", err)
		}
	}
	close(rest)
	m, err := p.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := m.(*protocol.Call); !ok || c.Request != 7 {
		t.Fatalf("Recv = %v", m)
	}
}

// TestRecvContextResumesWebSocketFrame: a Recv whose context ends in the
// middle of a WebSocket frame returns the context's error; the next Recv
// picks the frame up where it stopped. Between messages too, the context
// interrupts and the connection stays usable.
func TestRecvContextResumesWebSocketFrame(t *testing.T) {
	checkLeaks(t)
	second := make(chan struct{})
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n" +
			"Sec-WebSocket-Protocol: wamp.2.cbor\r\n\r\n")
		b, _ := protocol.CBOR.Marshal(testCall(3))
		frame := []byte{0x82, 126, byte(len(b) >> 8), byte(len(b))}
		frame = append(frame, b...)
		brw.Write(frame[:8]) // the header and four payload octets
		brw.Flush()
		<-second
		brw.Write(frame[8:])
		brw.Flush()
		io.Copy(io.Discard, c) // until the client closes
	}))
	defer func() { srv.CloseClientConnections(); srv.Close(); wg.Wait() }()
	ctx := ctxT(t, 5*time.Second)
	p, err := Dial(ctx, wsURL(srv), DialOptions{Serializers: []protocol.Serializer{protocol.CBOR}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		_, err = p.Recv(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
			t.Fatalf("Recv with short ctx inside a frame = %v, want plain DeadlineExceeded", err)
		}
	}
	close(second)
	m, err := p.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv of the rest of the message = %v", err)
	}
	if c, ok := m.(*protocol.Call); !ok || c.Request != 3 {
		t.Fatalf("Recv = %v", m)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = p.Recv(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
		t.Fatalf("Recv between messages = %v, want plain DeadlineExceeded", err)
	}
}

// TestSendsCoalesce: messages sent while a write is in progress go out in
// one write, in order.
func TestSendsCoalesce(t *testing.T) {
	gate := make(chan struct{})
	c := &gatedConn{gate: gate}
	o := newOutbox(c, new(atomic.Uint64), func(error) {})
	o.mu.Lock()
	o.addLocked([]byte("first;"), false)
	o.endLocked()
	o.mu.Unlock()
	o.flush() // the writer goroutine blocks in its first write
	c.waitWriting()
	for i := 0; i < 100; i++ {
		o.mu.Lock()
		o.addLocked([]byte("m;"), true)
		o.endLocked()
		o.mu.Unlock()
		o.flush()
	}
	close(gate)
	ctx := ctxT(t, 5*time.Second)
	if err := o.wait(ctx, 0, func() error { return ErrClosed }); err != nil {
		t.Fatal(err)
	}
	o.wg.Wait()
	if got, want := c.String(), "first;"+strings.Repeat("m;", 100); got != want {
		t.Fatalf("wrote %q", got)
	}
	if c.writes != 2 {
		t.Fatalf("%d writes for 101 messages, want 2 (one, then the 100 queued meanwhile)", c.writes)
	}
}

// gatedConn is a writer whose writes wait for gate, counting them.
type gatedConn struct {
	gate    chan struct{}
	mu      sync.Mutex
	b       strings.Builder
	writes  int
	started chan struct{}
	once    sync.Once
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.once.Do(func() { close(c.start()) })
	<-c.gate
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.b.Write(p)
}

func (c *gatedConn) start() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		c.started = make(chan struct{})
	}
	return c.started
}

func (c *gatedConn) waitWriting() { <-c.start() }

func (c *gatedConn) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// countingSerializer counts the messages it encodes.
type countingSerializer struct {
	protocol.Serializer
	n atomic.Int64
}

func (s *countingSerializer) Marshal(m protocol.Message) ([]byte, error) {
	s.n.Add(1)
	return s.Serializer.Marshal(m)
}

// TestSharedEncodedOnce: a Shared message sent to many peers is encoded
// once per serializer.
func TestSharedEncodedOnce(t *testing.T) {
	ser := &countingSerializer{Serializer: protocol.CBOR}
	sh := Share(testCall(1))
	var peers []Peer
	for i := 0; i < 5; i++ {
		a, b := Pipe(ser)
		defer a.Close()
		peers = append(peers, b)
		if err := a.Send(context.Background(), sh); err != nil {
			t.Fatal(err)
		}
	}
	if n := ser.n.Load(); n != 1 {
		t.Fatalf("encoded %d times for 5 peers, want once", n)
	}
	for _, p := range peers {
		m, err := p.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := m.(*protocol.Call); !ok || c.Request != 1 {
			t.Fatalf("got %v", m)
		}
	}
}

// TestDropSaysWhy: a peer that stopped reading is dropped with a last
// message; once it reads again it gets the message that was being written,
// then the last one, not the rest of the queue. It runs in a synctest
// bubble over in-memory connections: the dropped peer has closeGrace to
// take what is left, which over loopback sockets on a loaded machine a
// reader that drains megabytes under -race did not always get.
func TestDropSaysWhy(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				u, o := startMemServer(t, scheme, ServerOptions{}, func(p Peer) {
					np := p.(NetPeer)
					for i := 0; i < 200; i++ {
						if _, err := np.Enqueue([]protocol.Message{bigCall(64 << 10)}); err != nil {
							t.Errorf("Enqueue: %v", err)
							return
						}
					}
					if n, _ := np.Backlog(); n < 1<<20 {
						t.Errorf("backlog %d", n)
					}
					// The writer is in the middle of a write the client
					// does not read.
					synctest.Wait()
					np.Drop(&protocol.Abort{Details: protocol.Dict{"message": "not reading"}, Reason: "wamp.error.timeout"}, errors.New("peer not reading"))
					if _, err := p.Recv(context.Background()); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "peer not reading") {
						t.Errorf("Recv after Drop = %v", err)
					}
					close(release)
				})
				ctx := t.Context()
				p, err := Dial(ctx, u, o)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				<-release
				var msgs []protocol.Message
				for {
					m, err := p.Recv(ctx)
					if err != nil {
						break
					}
					msgs = append(msgs, m)
				}
				// One write gathers at most maxGather bytes: the messages it
				// started, and the ABORT.
				if len(msgs) < 2 || len(msgs) > maxGather/(64<<10)+2 {
					t.Fatalf("got %d messages, want the ones the interrupted write started and the ABORT", len(msgs))
				}
				for _, m := range msgs[:len(msgs)-1] {
					if _, ok := m.(*protocol.Call); !ok {
						t.Fatalf("got %T before the ABORT, want the CALLs that were being written", m)
					}
				}
				if a, ok := msgs[len(msgs)-1].(*protocol.Abort); !ok || a.Reason != "wamp.error.timeout" {
					t.Fatalf("last message %T, want the ABORT", msgs[len(msgs)-1])
				}
				t.Logf("%d of 200 queued messages delivered before the ABORT", len(msgs)-1)
			})
		})
	}
}

// TestPreAuthLimit: before Authenticated a server peer refuses messages
// over PreAuthMaxMessageSize; after it, MaxMessageSize applies.
func TestPreAuthLimit(t *testing.T) {
	for _, scheme := range []string{"ws", "tcp"} {
		t.Run(scheme, func(t *testing.T) {
			checkLeaks(t)
			errs := make(chan error, 4)
			ts := startServer(t, scheme, ServerOptions{PreAuthMaxMessageSize: 4096}, nil, func(p Peer) {
				_, err := p.Recv(context.Background())
				errs <- err
				if err != nil {
					return
				}
				p.(NetPeer).Authenticated()
				_, err = p.Recv(context.Background())
				errs <- err
			})
			ctx := ctxT(t, 10*time.Second)
			// Too big before authentication: refused, connection closed.
			p, err := Dial(ctx, ts.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, bigCall(8192)); err != nil {
				t.Fatal(err)
			}
			var tb *MessageTooBigError
			if err := <-errs; !errors.As(err, &tb) || tb.Limit != 4096 {
				t.Fatalf("server Recv of a big pre-auth message = %v, want *MessageTooBigError{Limit: 4096}", err)
			}
			p.Close()
			// Small first message, then a big one after Authenticated.
			p, err = Dial(ctx, ts.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Send(ctx, testCall(1)); err != nil {
				t.Fatal(err)
			}
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, bigCall(1<<20)); err != nil {
				t.Fatal(err)
			}
			if err := <-errs; err != nil {
				t.Fatalf("server Recv of a big message after Authenticated = %v", err)
			}
		})
	}
}

// TestAddressLimit: a shared AddressLimit caps the connections from one
// address across a WebSocket handler and a RawSocket listener: open ones,
// and among them unauthenticated ones.
func TestAddressLimit(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name          string
		open, pending int
		authenticate  bool
	}{
		{"open", 2, 0, true},
		{"pending", 0, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := NewAddressLimit(tc.open, tc.pending)
			opts := ServerOptions{AddressLimit: lim}
			handle := func(p Peer) {
				if tc.authenticate {
					p.(NetPeer).Authenticated()
				}
				echo(p)
			}
			ws := startServer(t, "ws", opts, nil, handle)
			rs := startServer(t, "tcp", opts, nil, handle)
			ctx := ctxT(t, 10*time.Second)
			a, err := Dial(ctx, ws.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := Dial(ctx, rs.url, DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			var re *RawSocketError
			if _, err := Dial(ctx, rs.url, DialOptions{}); !errors.As(err, &re) || re.Code != RawSocketMaxConnections {
				t.Fatalf("third RawSocket connection: %v, want handshake error 4", err)
			}
			if _, err := Dial(ctx, ws.url, DialOptions{}); err == nil || !strings.Contains(err.Error(), "503") {
				t.Fatalf("third WebSocket connection: %v, want HTTP 503", err)
			}
			a.Close()
			for deadline := time.Now().Add(5 * time.Second); ; {
				if open, _ := lim.Count("127.0.0.1:1"); open <= 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("closed connection still counted")
				}
				time.Sleep(10 * time.Millisecond)
			}
			c, err := Dial(ctx, rs.url, DialOptions{})
			if err != nil {
				t.Fatalf("after one closed: %v", err)
			}
			c.Close()
		})
	}
	// Authenticated connections leave the pending count.
	lim := NewAddressLimit(0, 1)
	rs := startServer(t, "tcp", ServerOptions{AddressLimit: lim}, nil, func(p Peer) {
		p.(NetPeer).Authenticated()
		echo(p)
	})
	ctx := ctxT(t, 10*time.Second)
	for i := 0; i < 5; i++ {
		p, err := Dial(ctx, rs.url, DialOptions{})
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer p.Close()
		for deadline := time.Now().Add(5 * time.Second); ; {
			if _, pending := lim.Count("127.0.0.1:1"); pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("authenticated connection still pending")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestHoldWrites: messages queued while the reader holds writes are not
// written until it reads from the socket again (or the connection
// closes); then they all arrive, in order.
func TestHoldWrites(t *testing.T) {
	for _, scheme := range []string{"tcp", "ws"} {
		for _, closeFirst := range []bool{false, true} {
			name := scheme + "/read"
			if closeFirst {
				name = scheme + "/close"
			}
			t.Run(name, func(t *testing.T) {
				checkLeaks(t)
				got := make(chan protocol.ID, 16)
				srv := startServer(t, scheme, ServerOptions{}, nil, func(p Peer) {
					ctx := context.Background()
					if err := p.Send(ctx, testCall(100)); err != nil {
						return
					}
					for {
						m, err := p.Recv(ctx)
						if err != nil {
							close(got)
							return
						}
						got <- m.(*protocol.Call).Request
					}
				})
				ctx := ctxT(t, 10*time.Second)
				p, err := Dial(ctx, srv.url, DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				np := p.(NetPeer)
				if _, err := p.Recv(ctx); err != nil {
					t.Fatal(err)
				}
				np.HoldWrites()
				_, out0 := p.(TrafficCounter).Traffic()
				for i := range protocol.ID(10) {
					if err := p.Send(ctx, testCall(i+1)); err != nil {
						t.Fatal(err)
					}
				}
				if _, out := p.(TrafficCounter).Traffic(); out != out0 {
					t.Fatalf("%d bytes written while writes were held", out-out0)
				}
				recvDone := make(chan struct{})
				if closeFirst {
					close(recvDone)
					p.Close()
				} else {
					go func() { // reads the socket, which writes what was held
						defer close(recvDone)
						p.Recv(ctx)
					}()
				}
				for i := range protocol.ID(10) {
					select {
					case id := <-got:
						if id != i+1 {
							t.Fatalf("message %d has id %d", i+1, id)
						}
					case <-ctx.Done():
						t.Fatalf("message %d never arrived", i+1)
					}
				}
				p.Close()
				<-recvDone
			})
		}
	}
}

// TestPingsWithoutReading: a peer that sends pings and never reads our
// pongs cannot make the outbox grow beyond its size (pongs are skipped
// while it is full), on both transports.
func TestPingsWithoutReading(t *testing.T) {
	// In a synctest bubble over in-memory connections, which buffer
	// nothing: 4 MB of pongs is four times what the outbox may hold (over
	// loopback sockets it took 20 MB to get past the socket buffers, 4 s
	// of the package's run under -race and more under load).
	const pings, size = 4000, 1000 // 4 MB of pongs (as many in 125-octet WebSocket pings)
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				backlog := make(chan int, 1)
				_, o := startMemServer(t, scheme, ServerOptions{}, func(p Peer) {
					// The data message after the pings: they are all answered.
					if _, err := p.Recv(context.Background()); err != nil {
						t.Errorf("server Recv: %v", err)
					}
					n, _ := p.(NetPeer).Backlog()
					backlog <- n
				})
				c, err := o.NetDial(t.Context(), "tcp", "memnet")
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				payload := bytes.Repeat([]byte{'p'}, size)
				call, _ := protocol.JSON.Marshal(testCall(1))
				var stream []byte
				if scheme == "tcp" {
					c.Write([]byte{0x7F, 0xF1, 0, 0}) // JSON, 16 MiB
					var reply [4]byte
					if _, err := io.ReadFull(c, reply[:]); err != nil || reply[1]&0x0F != 1 {
						t.Fatalf("handshake reply % x, %v", reply, err)
					}
					for range pings {
						stream = append(stream, frameBytes(framePing, payload)...)
					}
					stream = append(stream, frameBytes(frameMessage, call)...)
				} else {
					wsUpgrade(t, c, "memnet", "ws", "wamp.2.json")
					for i := range pings * size / 125 { // as many bytes of pongs
						stream = append(stream, wsFrameBytes(0x89, payload[:125], true, uint32(i))...)
					}
					stream = append(stream, wsFrameBytes(0x81, call, true, 7)...)
				}
				go c.Write(stream) // never reads
				select {
				case n := <-backlog:
					if n > sendBuffer+2*size {
						t.Fatalf("backlog %d bytes after %d unread pongs, want at most about %d", n, pings, sendBuffer)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the pings were not all read")
				}
			})
		})
	}
}
