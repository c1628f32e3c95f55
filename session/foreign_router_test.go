package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// foreignRouter is a scripted router on a real WebSocket that writes
// frames as another implementation does (fox-wamp's nulls, autobahn's
// CBOR tags), bypassing our encoder. script runs once per connection.
func foreignRouter(t *testing.T, ser protocol.Serializer, script func(r *wireRouter)) string {
	t.Helper()
	done := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		defer close(done)
		ws, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{ser.Subprotocol()}})
		if err != nil {
			t.Error(err)
			return
		}
		defer ws.CloseNow()
		script(&wireRouter{t: t, ws: ws, ser: ser})
	}))
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("router script did not end")
		}
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

type wireRouter struct {
	t   *testing.T
	ws  *websocket.Conn
	ser protocol.Serializer
}

// recv returns the client's next message (nil when the connection ends).
func (r *wireRouter) recv() protocol.Message {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := r.ws.Read(ctx)
	if err != nil {
		return nil
	}
	m, err := r.ser.Unmarshal(b)
	if err != nil {
		r.t.Errorf("client sent %q: %v", b, err)
		return nil
	}
	return m
}

// send writes the generic message l in the router's format, as the
// reference libraries encode it (nulls and tags included).
func (r *wireRouter) send(l ...any) {
	var b []byte
	var err error
	switch r.ser {
	case protocol.JSON:
		b, err = jsonGeneric(l)
	case protocol.MsgPack:
		b, err = msgpack.Marshal(l)
	case protocol.CBOR:
		b, err = cbor.Marshal(l)
	}
	if err != nil {
		r.t.Error(err)
		return
	}
	typ := websocket.MessageBinary
	if r.ser.TextFrames() {
		typ = websocket.MessageText
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.ws.Write(ctx, typ, b); err != nil {
		r.t.Error(err)
	}
}

// jsonGeneric uses encoding/json, which writes nil as null: the point here.
func jsonGeneric(l []any) ([]byte, error) { return jsonMarshal(l) }

func (r *wireRouter) welcome() {
	if _, ok := r.recv().(*protocol.Hello); !ok {
		r.t.Error("no HELLO")
	}
	r.send(2, 4242, map[string]any{"roles": map[string]any{"broker": map[string]any{}, "dealer": map[string]any{}}})
}

// TestForeignRouterPayloads: fox-wamp sends null in the Args/Kwargs
// positions of RESULT, EVENT and INVOCATION ([50, id, {}, [21], null]),
// autobahn/crossbar send a CBOR tag 64 for binary. The session used to
// drop the whole session on them; now it serves them.
func TestForeignRouterPayloads(t *testing.T) {
	for _, ser := range []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR} {
		t.Run(ser.Name(), func(t *testing.T) {
			var blob any = []byte{1, 2, 3}
			switch ser {
			case protocol.JSON:
				blob = "\x00AQID" // the JSON binary convention
			case protocol.CBOR:
				blob = cbor.Tag{Number: 64, Content: []byte{1, 2, 3}}
			}
			url := foreignRouter(t, ser, func(r *wireRouter) {
				r.welcome()
				sub, ok := r.recv().(*protocol.Subscribe)
				if !ok {
					t.Error("no SUBSCRIBE")
					return
				}
				r.send(33, sub.Request, 7)
				r.send(36, 7, 99, map[string]any{}, []any{"e", blob}, nil)
				reg, ok := r.recv().(*protocol.Register)
				if !ok {
					t.Error("no REGISTER")
					return
				}
				r.send(65, reg.Request, 8)
				r.send(68, 1, 8, map[string]any{}, []any{5}, nil)
				// The YIELD and the client's next CALL race: the test
				// calls once the handler has seen the invocation.
				var call *protocol.Call
				var yielded bool
				for range 2 {
					switch m := r.recv().(type) {
					case *protocol.Yield:
						if m.Request != 1 {
							t.Errorf("YIELD for %d, want 1", m.Request)
						}
						yielded = true
					case *protocol.Call:
						call = m
					default:
						t.Errorf("got %v, want YIELD and CALL", m)
					}
				}
				if !yielded {
					t.Error("no YIELD")
				}
				if call == nil {
					t.Error("no CALL")
					return
				}
				r.send(50, call.Request, map[string]any{}, []any{21, blob}, nil)
				if g, ok := r.recv().(*protocol.Goodbye); ok {
					r.send(6, map[string]any{}, "wamp.close.goodbye_and_out")
					_ = g
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := session.Join(ctx, p, session.Config{Realm: "realm1"})
			if err != nil {
				t.Fatal(err)
			}
			events := make(chan *session.Event, 1)
			if _, err := s.Subscribe(ctx, "com.t", func(ev *session.Event) { events <- ev }); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-events:
				if len(ev.Args) != 2 || ev.Args[0] != "e" || !isBlob(ev.Args[1]) || ev.Kwargs != nil {
					t.Errorf("event %v %v", ev.Args, ev.Kwargs)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
			invoked := make(chan protocol.List, 1)
			if _, err := s.Register(ctx, "com.p", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
				invoked <- inv.Args
				return &session.Result{Args: inv.Args}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if args := <-invoked; len(args) != 1 || args[0] != int64(5) {
				t.Errorf("invocation args %v", args)
			}
			res, err := s.Call(ctx, "com.c", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Args) != 2 || res.Args[0] != int64(21) || !isBlob(res.Args[1]) || res.Kwargs != nil {
				t.Errorf("result %v %v", res.Args, res.Kwargs)
			}
			if err := s.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestForeignRouterTypedDetails: a router that sends a spec-defined key
// with the wrong type (EVENT.Details.publisher as a string) commits a
// protocol violation: the session aborts with an error naming the key
// instead of guessing.
func TestForeignRouterTypedDetails(t *testing.T) {
	url := foreignRouter(t, protocol.JSON, func(r *wireRouter) {
		r.welcome()
		sub, ok := r.recv().(*protocol.Subscribe)
		if !ok {
			t.Error("no SUBSCRIBE")
			return
		}
		r.send(33, sub.Request, 7)
		r.send(36, 7, 99, map[string]any{"publisher": "someone"}, []any{"e"})
		if a, ok := r.recv().(*protocol.Abort); !ok || a.Reason != "wamp.error.protocol_violation" {
			t.Errorf("got %v, want ABORT protocol_violation", a)
		}
	})
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
	if _, err := s.Subscribe(ctx, "com.t", func(*session.Event) { t.Error("event delivered") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session survived a typed-key violation")
	}
	if err := s.Err(); !errors.Is(err, session.ErrProtocolViolation) || !strings.Contains(err.Error(), "publisher") {
		t.Errorf("Err = %v, want a protocol violation naming publisher", err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func isBlob(v any) bool {
	b, ok := v.([]byte)
	return ok && string(b) == "\x01\x02\x03"
}
