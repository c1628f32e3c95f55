package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestMain fails the run when goroutines the tests started outlive them.
func TestMain(m *testing.M) { leaktest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// rawListener serves RawSocket with o and hands accepted connections out.
func rawListener(t *testing.T, o AcceptOptions) (Endpoint, <-chan *Conn) {
	t.Helper()
	l, err := ListenRawSocket("tcp", "127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan *Conn, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Serve(func(c *Conn) {
			conns <- c
			<-c.Done()
		})
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
				continue
			case <-done:
			}
			return
		}
	})
	ep, err := ParseURL(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	return ep, conns
}

func TestRawSocketRoundTrip(t *testing.T) {
	for _, ser := range []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR} {
		t.Run(ser.Name(), func(t *testing.T) {
			ep, conns := rawListener(t, AcceptOptions{MaxLength: 1 << 16})
			c, err := Dial(ctx(t), ep, Options{Serializer: ser, MaxLength: 1024})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.PeerLimit() != 1<<16 || c.Serializer() != ser {
				t.Fatalf("peer limit %d, serializer %v", c.PeerLimit(), c.Serializer())
			}
			srv := <-conns
			hello := &protocol.Hello{Realm: "realm1", Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}}}}
			if err := c.Send(ctx(t), hello); err != nil {
				t.Fatal(err)
			}
			f, err := srv.Recv(ctx(t))
			if err != nil || f.Msg == nil {
				t.Fatalf("recv: %v %v", f, err)
			}
			if d := cmp.Diff(protocol.ToList(hello), protocol.ToList(f.Msg)); d != "" {
				t.Fatal(d)
			}
			// A frame bigger than the client announced is marked, not refused.
			big := &protocol.Welcome{Session: 1, Details: protocol.Dict{"x": strings.Repeat("y", 2000)}}
			if err := srv.Send(ctx(t), big); err != nil {
				t.Fatal(err)
			}
			f, err = c.Recv(ctx(t))
			if err != nil || !f.Oversized || f.Msg == nil {
				t.Fatalf("oversized frame: %+v %v", f, err)
			}
			// PING is answered with PONG automatically.
			if err := srv.SendFrame(ctx(t), &Frame{Type: FramePing, Payload: []byte("ping!")}); err != nil {
				t.Fatal(err)
			}
			f, err = srv.Recv(ctx(t))
			if err != nil || f.Type != FramePong || string(f.Payload) != "ping!" {
				t.Fatalf("want PONG ping!, got %+v %v", f, err)
			}
			// Invalid lists travel; the receiver sees why they do not decode.
			if err := c.SendList(ctx(t), []any{int64(255), "x"}); err != nil {
				t.Fatal(err)
			}
			f, err = srv.Recv(ctx(t))
			if err != nil || f.Msg != nil || !errors.Is(f.Err, protocol.ErrInvalidMessage) {
				t.Fatalf("want an invalid frame, got %+v %v", f, err)
			}
			c.Close()
			if _, err := srv.Recv(ctx(t)); !errors.Is(err, ErrClosed) {
				t.Fatalf("after close: %v", err)
			}
		})
	}
}

func TestRawSocketHandshakeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reply   []byte
		code    int
		dropped bool
	}{
		{"error reply", RawSocketErrorReply(RawSocketErrSerializer), RawSocketErrSerializer, false},
		{"dropped", nil, 0, true},
		{"bad magic", []byte{0x00, 0xF1, 0, 0}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, _ := rawListener(t, AcceptOptions{RawSocketReply: func([4]byte) ([]byte, any) { return tc.reply, nil }})
			_, err := Dial(ctx(t), ep, Options{Serializer: protocol.JSON})
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("want *HandshakeError, got %v", err)
			}
			if he.Code != tc.code || he.Dropped != tc.dropped {
				t.Fatalf("got %+v", he)
			}
		})
	}
}

func TestRawSocketDefaultReplies(t *testing.T) {
	ep, _ := rawListener(t, AcceptOptions{Serializers: []protocol.Serializer{protocol.CBOR}})
	for _, tc := range []struct {
		req  []byte
		code int
	}{
		{[]byte{0x7F, 0xF1, 0, 0}, RawSocketErrSerializer},
		{[]byte{0x7F, 0xF3, 0, 1}, RawSocketErrReservedBits},
	} {
		_, err := Dial(ctx(t), ep, Options{Handshake: tc.req})
		var he *HandshakeError
		if !errors.As(err, &he) || he.Code != tc.code {
			t.Fatalf("request % x: want error code %d, got %v", tc.req, tc.code, err)
		}
	}
}

func TestFrameHeaders(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := &rsLink{conn: a}
	r := &rsLink{conn: b, br: bufio.NewReader(b), limit: 100}
	for _, n := range []int{0, 1, 100, 101, 70000} {
		payload := bytes.Repeat([]byte{7}, n)
		errc := make(chan error, 1)
		go func() { errc <- w.write(context.Background(), &Frame{Type: FrameMessage, Payload: payload}) }()
		f, err := r.read()
		if err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Payload, payload) || f.Oversized != (n > 100) {
			t.Fatalf("%d octets: got %d, oversized %v", n, len(f.Payload), f.Oversized)
		}
	}
	if err := w.write(context.Background(), &Frame{Payload: make([]byte, MaxRawSocketLength+1)}); err == nil {
		t.Fatal("a payload over 2^24 octets was written")
	}
}

// FuzzRawSocketFrames reads arbitrary bytes as RawSocket frames: no panic,
// and a header never makes the reader hold more than the bytes that came.
func FuzzRawSocketFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, '[', ']'})
	f.Add([]byte{0x08, 0, 0, 0})
	f.Add([]byte{0xF1, 0xFF, 0xFF, 0xFF, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &rsLink{br: bufio.NewReader(bytes.NewReader(data)), limit: 1 << 24}
		for {
			fr, err := r.read()
			if err != nil {
				return
			}
			if len(fr.Payload) > len(data) {
				t.Fatalf("payload of %d octets from %d input octets", len(fr.Payload), len(data))
			}
		}
	})
}

func TestWebSocket(t *testing.T) {
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(WebSocketHandler(AcceptOptions{}, func(c *Conn) {
		conns <- c
		<-c.Done()
	}))
	defer srv.Close()
	ep, err := ParseURL("ws" + strings.TrimPrefix(srv.URL, "http") + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	// The first offered subprotocol the server speaks wins.
	c, err := Dial(ctx(t), ep, Options{Subprotocols: []string{"wamp.2.x_unknown", "wamp.2.cbor", "wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "wamp.2.cbor" || c.Serializer() != protocol.CBOR {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	s := <-conns
	defer s.Close()
	if err := c.SendFrame(ctx(t), &Frame{Payload: []byte("text"), Text: true}); err != nil {
		t.Fatal(err)
	}
	f, err := s.Recv(ctx(t))
	if err != nil || !f.Text || string(f.Payload) != "text" {
		t.Fatalf("got %+v %v", f, err)
	}
	if !strings.Contains(s.Describe(f), "[TEXT message]") {
		t.Fatalf("a text message with cbor is not flagged: %s", s.Describe(f))
	}
	// None offered: 400.
	_, err = Dial(ctx(t), ep, Options{Subprotocols: []string{"wamp.2.x_unknown"}})
	var he *HandshakeError
	if !errors.As(err, &he) || he.HTTPStatus != 400 {
		t.Fatalf("want HTTP 400, got %v", err)
	}
}

func TestGenericCodec(t *testing.T) {
	list := []any{int64(48), int64(1), map[string]any{"timeout": "10", "n": int64(-3)}, "a..b", []any{[]byte{0, 1, 255}, 2.5, nil, true}}
	for _, ser := range []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR} {
		b, err := EncodeList(ser, list)
		if err != nil {
			t.Fatalf("%s: %v", ser.Name(), err)
		}
		got, err := DecodeGeneric(ser, b)
		if err != nil {
			t.Fatalf("%s: %v", ser.Name(), err)
		}
		if d := cmp.Diff(list, got); d != "" {
			t.Fatalf("%s round trip (-want +got):\n%s", ser.Name(), d)
		}
		// A valid message encoded generically decodes with protocol.
		call := &protocol.Call{Request: 7, Options: protocol.Dict{}, Procedure: "com.example.p", Args: protocol.List{[]byte("bin")}}
		b, err = EncodeList(ser, protocol.ToList(call))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ser.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: generic encoding does not decode: %v", ser.Name(), err)
		}
		if d := cmp.Diff(protocol.ToList(call), protocol.ToList(m)); d != "" {
			t.Fatal(d)
		}
	}
}

func TestDescribeRedactsAndShortens(t *testing.T) {
	b, _ := protocol.JSON.Marshal(&protocol.Authenticate{Signature: "ticket-secret", Extra: protocol.Dict{}})
	f := &Frame{Payload: b, Text: true}
	f.Msg, f.Err = protocol.JSON.Unmarshal(b)
	if s := Describe(protocol.JSON, WebSocket, f); strings.Contains(s, "ticket-secret") {
		t.Fatalf("a transcript shows the ticket: %s", s)
	}
	// Even when it does not decode.
	b = []byte(`[5, "ticket-secret", {}, "extra"]`)
	f = &Frame{Payload: b, Text: true}
	f.Msg, f.Err = protocol.JSON.Unmarshal(b)
	if s := Describe(protocol.JSON, WebSocket, f); strings.Contains(s, "ticket-secret") {
		t.Fatalf("a transcript shows the ticket of an invalid AUTHENTICATE: %s", s)
	}
	w := &protocol.Welcome{Session: 1, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{"features": protocol.Dict{"a": true, "b": true}}}}}
	b, _ = protocol.MsgPack.Marshal(w)
	f = &Frame{Payload: b, Msg: w}
	if s := Describe(protocol.MsgPack, RawSocketTCP, f); !strings.Contains(s, "<2 features>") {
		t.Fatalf("roles not shortened: %s", s)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, transport, network, addr string
	}{
		{"ws://127.0.0.1:8080/ws", WebSocket, "", ""},
		{"tcp://127.0.0.1:8081", RawSocketTCP, "tcp", "127.0.0.1:8081"},
		{"tcpip://h:1", RawSocketTCP, "tcp", "h:1"},
		{"unix:///run/r.sock", RawSocketUnix, "unix", "/run/r.sock"},
	} {
		ep, err := ParseURL(tc.url)
		if err != nil || ep.Transport != tc.transport || ep.Network != tc.network || ep.Address != tc.addr {
			t.Errorf("%s: %+v %v", tc.url, ep, err)
		}
	}
	for _, bad := range []string{"http://x", "tcp://nohost", "unix://", "wss://x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
