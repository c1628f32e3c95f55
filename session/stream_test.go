package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// A router that does not announce progressive_call_invocations or
// payload_passthru_mode gets neither: the client refuses before sending
// anything (the spec makes sending them a protocol violation).
func TestStreamAndPassthruNeedTheRoutersFeature(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, b := transport.Pipe(protocol.JSON)
	received := make(chan protocol.Message, 16)
	go func() {
		j, err := session.Accept(ctx, b, session.AcceptConfig{Roles: protocol.RolesDict(
			protocol.RoleFeatures{Role: protocol.RoleDealer, Features: []string{protocol.FeatureCallCanceling}},
			protocol.RoleFeatures{Role: protocol.RoleBroker},
		)})
		if err != nil {
			return
		}
		for {
			m, err := j.Peer.Recv(ctx)
			if err != nil {
				return
			}
			received <- m
			if _, ok := m.(*protocol.Goodbye); ok {
				j.Peer.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: protocol.URIGoodbyeAndOut})
				return
			}
		}
	}()
	s, err := session.Join(ctx, a, session.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CallStream(ctx, "p.stream"); !errors.Is(err, session.ErrFeatureNotSupported) {
		t.Fatalf("CallStream: %v", err)
	}
	p := protocol.Passthru{Scheme: "x_test", Payload: []byte{1}}
	if _, err := s.Call(ctx, "p.ppt", nil, nil, session.Passthru(p)); !errors.Is(err, session.ErrFeatureNotSupported) {
		t.Fatalf("Call with Passthru: %v", err)
	}
	if err := s.Publish(ctx, "p.ppt", nil, nil, session.Passthru(p)); !errors.Is(err, session.ErrFeatureNotSupported) {
		t.Fatalf("Publish with Passthru: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if m := <-received; m.Code() != protocol.CodeGoodbye {
		t.Fatalf("the router received %s before GOODBYE", m.Code())
	}
}

// Invocation.Recv on an invocation whose input is not streamed returns
// io.EOF at once; Streaming reports false.
func TestRecvOnPlainInvocation(t *testing.T) {
	inv := &session.Invocation{Args: protocol.List{1}}
	if inv.Streaming() {
		t.Fatal("Streaming on a plain invocation")
	}
	if _, err := inv.Recv(context.Background()); err == nil || err.Error() != "EOF" {
		t.Fatalf("Recv: %v", err)
	}
}

// A streamed invocation whose handler does not keep up fails once
// Config.EventQueueSize chunks wait, with ERROR Config.ErrorURI; its later
// chunks are dropped and the session stays up.
func TestStreamedInvocationInputOverflow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, b := transport.Pipe(protocol.CBOR)
	joined := make(chan *session.Joined, 1)
	go func() {
		j, err := session.Accept(ctx, b, session.AcceptConfig{})
		if err == nil {
			joined <- j
		}
	}()
	s, err := session.Join(ctx, a, session.Config{Realm: "realm1", EventQueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	router := (<-joined).Peer
	defer s.Close(ctx)
	defer router.Close() // the fake router answers no GOODBYE
	handlerDone := make(chan error, 1)
	started := make(chan struct{}, 1)
	regDone := make(chan *session.Registration, 1)
	go func() {
		reg, err := s.Register(ctx, "p.slow", func(hctx context.Context, inv *session.Invocation) (*session.Result, error) {
			started <- struct{}{}
			<-hctx.Done() // reads nothing until the overflow cancels it
			handlerDone <- hctx.Err()
			return nil, hctx.Err()
		})
		if err == nil {
			regDone <- reg
		}
	}()
	m, err := router.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	router.Send(ctx, &protocol.Registered{Request: m.(*protocol.Register).Request, Registration: 7})
	<-regDone
	chunk := func(progress bool) *protocol.Invocation {
		d := protocol.Dict{}
		if progress {
			d["progress"] = true
		}
		return &protocol.Invocation{Request: 1, Registration: 7, Details: d, Args: protocol.List{"x"}}
	}
	if err := router.Send(ctx, chunk(true)); err != nil {
		t.Fatal(err)
	}
	select { // else the overflow stops the invocation before its handler runs
	case <-started:
	case <-ctx.Done():
		t.Fatal("handler not started")
	}
	for range 4 + 1 + 3 { // a full queue, the overflowing chunk, late ones
		if err := router.Send(ctx, chunk(true)); err != nil {
			t.Fatal(err)
		}
	}
	router.Send(ctx, chunk(false))
	m, err = router.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := m.(*protocol.Error)
	if !ok || e.RequestType != protocol.CodeInvocation || e.Request != 1 || e.URI != session.URIRuntimeError {
		t.Fatalf("got %T %+v, want ERROR for the invocation", m, m)
	}
	select {
	case err := <-handlerDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler context: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the handler was not cancelled")
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}
