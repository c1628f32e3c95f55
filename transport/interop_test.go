package transport

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestCrossbarInterop joins a crossbar node (started by
// scripts/crossbar.sh; URLs from scripts/crossbar.sh env) over every
// transport and serializer: the handshake, framing and subprotocol work
// with the reference router. Skipped when WAMP_CONFORMANCE_* is unset.
func TestCrossbarInterop(t *testing.T) {
	urls := map[string]string{}
	for _, k := range []string{"WAMP_CONFORMANCE_WS", "WAMP_CONFORMANCE_TCP", "WAMP_CONFORMANCE_UNIX"} {
		if v := os.Getenv(k); v != "" {
			urls[k] = v
		}
	}
	if len(urls) == 0 {
		t.Skip("no crossbar node: set WAMP_CONFORMANCE_WS/TCP/UNIX (scripts/crossbar.sh env)")
	}
	for name, u := range urls {
		for _, ser := range allSers {
			t.Run(name+"/"+ser.Name(), func(t *testing.T) {
				ctx := ctxT(t, 10*time.Second)
				p, err := Dial(ctx, u, DialOptions{Serializers: []protocol.Serializer{ser}})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				hello := &protocol.Hello{Realm: "izaber", Details: protocol.Dict{
					"roles":       protocol.Dict{"caller": protocol.Dict{}, "subscriber": protocol.Dict{}},
					"authmethods": protocol.List{"anonymous"},
				}}
				if err := p.Send(ctx, hello); err != nil {
					t.Fatal(err)
				}
				m, err := p.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				w, ok := m.(*protocol.Welcome)
				if !ok || w.Session == 0 {
					t.Fatalf("got %#v, want WELCOME", m)
				}
				// A big binary payload survives the round trip through the
				// router (publish with acknowledge + own subscription).
				if err := p.Send(ctx, &protocol.Subscribe{Request: 1, Options: protocol.Dict{}, Topic: "com.test.transport"}); err != nil {
					t.Fatal(err)
				}
				m, err = p.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := m.(*protocol.Subscribed); !ok {
					t.Fatalf("got %#v, want SUBSCRIBED", m)
				}
				blob := make([]byte, 1<<20)
				for i := range blob {
					blob[i] = byte(i)
				}
				pub := &protocol.Publish{Request: 2, Options: protocol.Dict{"exclude_me": false}, Topic: "com.test.transport", Args: protocol.List{blob}}
				if err := p.Send(ctx, pub); err != nil {
					t.Fatal(err)
				}
				m, err = p.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ev, ok := m.(*protocol.Event)
				if !ok || len(ev.Args) != 1 {
					t.Fatalf("got %#v, want EVENT", m)
				}
				if got, _ := ev.Args[0].([]byte); string(got) != string(blob) {
					t.Fatalf("event payload differs (%T, %d bytes)", ev.Args[0], len(got))
				}
				if name != "WAMP_CONFORMANCE_WS" {
					// The node is configured with max_message_size 4 MiB and
					// announces it in the RawSocket handshake.
					var tooBig *MessageTooBigError
					err := p.Send(ctx, bigCall(5<<20))
					if !errors.As(err, &tooBig) || tooBig.Limit != 4<<20 {
						t.Errorf("5 MiB send = %v, want *MessageTooBigError with crossbar's limit 4 MiB", err)
					}
				}
				if err := p.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"}); err != nil {
					t.Fatal(err)
				}
				m, err = p.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := m.(*protocol.Goodbye); !ok {
					t.Fatalf("got %#v, want GOODBYE", m)
				}
			})
		}
	}
}

// TestCrossbarKeepAlive: crossbar answers WebSocket pings, and (the
// documented divergence) drops a RawSocket connection that receives a PING,
// which is why RawSocket pings are opt-in.
func TestCrossbarKeepAlive(t *testing.T) {
	ws, tcp := os.Getenv("WAMP_CONFORMANCE_WS"), os.Getenv("WAMP_CONFORMANCE_TCP")
	if ws == "" || tcp == "" {
		t.Skip("no crossbar node: set WAMP_CONFORMANCE_WS and WAMP_CONFORMANCE_TCP (scripts/crossbar.sh env)")
	}
	ctx := ctxT(t, 10*time.Second)
	p, err := Dial(ctx, ws, DialOptions{PingInterval: 50 * time.Millisecond, PongTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	short, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
	_, err = p.Recv(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("pinged idle WebSocket to crossbar: Recv = %v, want DeadlineExceeded", err)
	}

	r, err := Dial(ctx, tcp, DialOptions{RawSocketPing: true, PingInterval: 50 * time.Millisecond, PongTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("RawSocket PING to crossbar: Recv = %v, want the connection dropped", err)
	} else {
		t.Logf("as documented, crossbar dropped the RawSocket connection after a PING: %v", err)
	}
}

// idSerializer is JSON under another RawSocket id, to offer crossbar a
// serializer it does not have.
type idSerializer struct {
	protocol.Serializer
	id byte
}

func (s idSerializer) RawSocketID() byte { return s.id }
func (s idSerializer) Name() string      { return "id" + string('0'+rune(s.id)) }

// TestCrossbarSerializerFallback: crossbar drops the connection (instead of
// replying with error 1) for a serializer it does not support; Dial then
// tries the next one.
func TestCrossbarSerializerFallback(t *testing.T) {
	tcp := os.Getenv("WAMP_CONFORMANCE_TCP")
	if tcp == "" {
		t.Skip("no crossbar node: set WAMP_CONFORMANCE_TCP (scripts/crossbar.sh env)")
	}
	ctx := ctxT(t, 10*time.Second)
	p, err := Dial(ctx, tcp, DialOptions{Serializers: []protocol.Serializer{idSerializer{protocol.JSON, 4}, protocol.MsgPack}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Serializer() != protocol.MsgPack {
		t.Errorf("negotiated %s, want msgpack after the refused id 4", p.Serializer().Name())
	}
	_, err = Dial(ctx, tcp, DialOptions{Serializers: []protocol.Serializer{idSerializer{protocol.JSON, 4}}})
	if err == nil || !errors.Is(err, errHandshakeDropped) {
		t.Errorf("only an unsupported serializer: %v, want the dropped-handshake error", err)
	} else {
		t.Logf("crossbar, unsupported serializer: %v", err)
	}
}
