package router_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// wireClient speaks raw WAMP frames over a real WebSocket, as a foreign or
// hostile peer does: what it sends is not validated by our encoder.
type wireClient struct {
	t    *testing.T
	ws   *websocket.Conn
	ser  protocol.Serializer
	kind websocket.MessageType
}

func dialWire(t *testing.T, url string, ser protocol.Serializer) *wireClient {
	t.Helper()
	ctx := ctxT(t)
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{ser.Subprotocol()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &wireClient{t: t, ws: ws, ser: ser, kind: websocket.MessageBinary}
	if ser.TextFrames() {
		c.kind = websocket.MessageText
	}
	hello, err := ser.Marshal(&protocol.Hello{Realm: testRealm, Details: protocol.Dict{"roles": protocol.Dict{"publisher": protocol.Dict{}, "subscriber": protocol.Dict{}, "caller": protocol.Dict{}, "callee": protocol.Dict{}}}})
	if err != nil {
		t.Fatal(err)
	}
	c.write(hello)
	if w, ok := c.read().(*protocol.Welcome); !ok {
		t.Fatalf("got %v, want WELCOME", w)
	}
	return c
}

func (c *wireClient) write(b []byte) {
	c.t.Helper()
	if err := c.ws.Write(ctxT(c.t), c.kind, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next message, or nil when none arrives within 5s or the
// connection ends.
func (c *wireClient) read() protocol.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil
	}
	m, err := c.ser.Unmarshal(b)
	if err != nil {
		c.t.Fatalf("router sent an invalid message %q: %v", b, err)
	}
	return m
}

// TestTypedOptionViolationAborts: a PUBLISH whose acknowledge is 1 instead
// of true is a protocol violation; the router answers ABORT
// wamp.error.protocol_violation naming the key, as crossbar closes naming
// it. (Before, the router took it as false and never answered: the
// publisher waited for its timeout.) The same holds for the other typed
// keys, in every serializer.
func TestTypedOptionViolationAborts(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	tests := []struct {
		name, msg, key string
	}{
		{"acknowledge int", `[16,1,{"acknowledge":1},"com.t"]`, "acknowledge"},
		{"exclude_me string", `[16,1,{"acknowledge":true,"exclude_me":"no"},"com.t"]`, "exclude_me"},
		{"eligible strings", `[16,1,{"acknowledge":true,"eligible":["a"]},"com.t"]`, "eligible"},
		{"timeout string", `[48,1,{"timeout":"soon"},"wamp.session.count"]`, "timeout"},
		{"receive_progress int", `[48,1,{"receive_progress":1},"wamp.session.count"]`, "receive_progress"},
		{"match regex", `[32,1,{"match":"regex"},"com.t"]`, "match"},
		{"invoke sometimes", `[64,1,{"invoke":"sometimes"},"com.p"]`, "invoke"},
		{"cancel mode", `[49,1,{"mode":"now"}]`, "mode"},
	}
	for _, tt := range tests {
		for _, ser := range serializers {
			t.Run(tt.name+"/"+ser.Name(), func(t *testing.T) {
				c := dialWire(t, ep.ws, ser)
				c.write(reencode(t, tt.msg, ser))
				a, ok := c.read().(*protocol.Abort)
				if !ok || a.Reason != "wamp.error.protocol_violation" {
					t.Fatalf("got %v, want ABORT wamp.error.protocol_violation", a)
				}
				if msg, _ := a.Details["message"].(string); !strings.Contains(msg, tt.key) {
					t.Errorf("ABORT message %q does not name %q", msg, tt.key)
				}
				if m := c.read(); m != nil {
					t.Errorf("after ABORT: %v", m)
				}
			})
		}
	}
}

// reencode turns a JSON message into the same generic message in ser's
// format with the formats' reference libraries, without validating it.
func reencode(t *testing.T, jsonMsg string, ser protocol.Serializer) []byte {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(jsonMsg))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	v = intsOf(v)
	var b []byte
	var err error
	switch ser {
	case protocol.JSON:
		return []byte(jsonMsg)
	case protocol.MsgPack:
		b, err = msgpack.Marshal(v)
	case protocol.CBOR:
		b, err = cbor.Marshal(v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func intsOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = intsOf(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = intsOf(x[k])
		}
	}
	return v
}

// TestForeignPayloadsAccepted: what autobahn-js and fox-wamp send and our
// router used to refuse: CBOR tag 64 (autobahn-js's every Uint8Array) and
// null in the Args/Kwargs positions. The router serves them; a Go
// subscriber receives the bytes.
func TestForeignPayloadsAccepted(t *testing.T) {
	r, ep := serveAll(t, router.Config{})
	_ = r
	ctx := ctxT(t)
	sub := dialJoin(t, ep.tcp, protocol.MsgPack, 0)
	events := make(chan *session.Event, 4)
	if _, err := sub.Subscribe(ctx, "com.t", func(ev *session.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	// [16, 1, {"acknowledge": true}, "com.t", [tag64(h'010203')]], as
	// autobahn-js's CBORSerializer writes a Uint8Array argument.
	c := dialWire(t, ep.ws, protocol.CBOR)
	c.write(unhexT(t, "85 10 01 a1 6b 61636b6e6f776c65646765 f5 65 636f6d2e74 81 d840 43 010203"))
	if p, ok := c.read().(*protocol.Published); !ok || p.Request != 1 {
		t.Fatalf("got %v, want PUBLISHED", p)
	}
	select {
	case ev := <-events:
		if b, ok := ev.Args[0].([]byte); !ok || string(b) != "\x01\x02\x03" {
			t.Fatalf("event args %#v", ev.Args)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	// fox-wamp style nulls in the payload positions.
	j := dialWire(t, ep.ws, protocol.JSON)
	j.write([]byte(`[16,1,{"acknowledge":true},"com.t",["x"],null]`))
	if p, ok := j.read().(*protocol.Published); !ok || p.Request != 1 {
		t.Fatalf("got %v, want PUBLISHED", p)
	}
	<-events
	j.write([]byte(`[48,2,{},"wamp.session.count",null,null]`))
	if res, ok := j.read().(*protocol.Result); !ok || res.Request != 2 {
		t.Fatalf("got %v, want RESULT", res)
	}
}

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClientRefusesWronglyTypedOptions: the client side validates what it
// sends with the same table: a raw option of the wrong type is an error
// naming the key, returned to the caller; the session stays up.
func TestClientRefusesWronglyTypedOptions(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	s := dialJoin(t, ep.ws, protocol.JSON, 0)
	err := s.Publish(ctx, "com.t", nil, nil, session.WithOption("acknowledge", 1))
	if !errors.Is(err, protocol.ErrInvalidMessage) || !strings.Contains(err.Error(), "acknowledge") {
		t.Errorf("Publish = %v, want an error naming acknowledge", err)
	}
	_, err = s.Call(ctx, "wamp.session.count", nil, nil, session.WithOption("timeout", "soon"))
	if !errors.Is(err, protocol.ErrInvalidMessage) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Call = %v, want an error naming timeout", err)
	}
	if _, err := s.Call(ctx, "wamp.session.count", nil, nil); err != nil {
		t.Errorf("session unusable afterwards: %v", err)
	}
}
