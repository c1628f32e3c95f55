package router_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Payload passthru mode end to end with the session API, over WebSocket and
// RawSocket: the payload and the ppt_* attributes arrive untouched at the
// callee, back at the caller, and at subscribers (live and retained).

func TestPassthruOverSockets(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	secret := []byte{0, 0xff, 'x', 0x80, 0xc3, 0x28} // not UTF-8, not CBOR: opaque
	in := protocol.Passthru{Scheme: "wamp.eth", Serializer: "cbor", Cipher: "xsalsa20poly1305", KeyID: "key-1", Payload: secret}
	out := protocol.Passthru{Scheme: "wamp.eth", Serializer: "cbor", KeyID: "key-2", Payload: []byte("reply\x00")}

	callee := dialJoin(t, ep.tcp, protocol.MsgPack, 0)
	if _, err := callee.Register(ctx, "ppt.rpc", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		p, ok := inv.Passthru()
		if !ok || p.Autobahn || p.Scheme != in.Scheme || p.Cipher != in.Cipher || p.KeyID != in.KeyID || !bytes.Equal(p.Payload, secret) {
			return nil, session.NewError("app.error.mangled", protocol.List{inv.Details, inv.Args}, nil)
		}
		return session.PassthruResult(out), nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{ep.ws, ep.tcp, ep.unix} {
		for _, ser := range serializers {
			t.Run(url[:3]+"-"+ser.Name(), func(t *testing.T) {
				s := dialJoin(t, url, ser, 0)
				res, err := s.Call(ctx, "ppt.rpc", nil, nil, session.Passthru(in))
				if err != nil {
					t.Fatal(err)
				}
				p, ok := res.Passthru()
				if !ok || p.Scheme != out.Scheme || p.KeyID != out.KeyID || !bytes.Equal(p.Payload, out.Payload) {
					t.Fatalf("result %+v", res)
				}
				got := make(chan *session.Event, 2)
				if _, err := s.Subscribe(ctx, "ppt.topic", func(ev *session.Event) { got <- ev }); err != nil {
					t.Fatal(err)
				}
				if err := callee.Publish(ctx, "ppt.topic", nil, nil, session.Passthru(in), session.Acknowledge(true), session.WithOption("retain", true)); err != nil {
					t.Fatal(err)
				}
				ev := <-got
				if p, ok := ev.Passthru(); !ok || p.Cipher != in.Cipher || !bytes.Equal(p.Payload, secret) {
					t.Fatalf("event %+v", ev)
				}
				if _, err := s.Subscribe(ctx, "ppt.topic", func(ev *session.Event) { got <- ev }, session.WithOption("get_retained", true)); err != nil {
					t.Fatal(err)
				}
				if ev := <-got; ev.Details["retained"] != true {
					t.Fatalf("retained event %+v", ev)
				} else if p, ok := ev.Passthru(); !ok || !bytes.Equal(p.Payload, secret) {
					t.Fatalf("retained event %+v", ev)
				}
			})
		}
	}
	t.Run("args-with-passthru", func(t *testing.T) {
		if _, err := callee.Call(ctx, "ppt.rpc", protocol.List{1}, nil, session.Passthru(in)); err == nil {
			t.Fatal("Call with args and Passthru accepted")
		}
	})
	t.Run("callee-without-feature", func(t *testing.T) {
		// a raw-feature callee: announce nothing
		if _, err := callee.Call(ctx, "wamp.session.count", nil, nil, session.Passthru(in)); !errors.Is(err, session.ErrFeatureNotSupported) {
			t.Fatalf("passthru call to an internal procedure: %v", err)
		}
	})
}
