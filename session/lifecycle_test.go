package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func TestCloseFailsPendingAndIgnoresLateMessages(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
	c := expect[*protocol.Call](r)
	handlerDone := make(chan struct{})
	handlerStarted := make(chan struct{})
	register(t, s, r, "h", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		close(handlerStarted)
		<-ctx.Done() // ends when the session ends
		close(handlerDone)
		return &session.Result{Args: protocol.List{"too late"}}, nil
	})
	r.send(&protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}})
	<-handlerStarted

	closed := async(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		return struct{}{}, s.Close(ctx)
	})
	g := expect[*protocol.Goodbye](r)
	if g.Reason != "wamp.close.close_realm" {
		t.Errorf("reason %q", g.Reason)
	}
	// Tolerated after our GOODBYE: late ERROR, RESULT, EVENT.
	r.send(&protocol.Error{RequestType: protocol.CodeCall, Request: 999, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
	r.send(&protocol.Result{Request: c.Request, Details: protocol.Dict{}})
	r.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.normal"}) // crossbar's reply
	if _, err := wait(t, closed); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := wait(t, call); !errors.Is(err, session.ErrSessionClosed) {
		t.Fatalf("pending call: %v", err)
	}
	<-handlerDone
	// Nothing is sent after our GOODBYE (no YIELD from the handler).
	if msgs := r.recvClosed(); len(msgs) != 0 {
		t.Fatalf("sent after GOODBYE: %v", msgs)
	}
	if !errors.Is(s.Err(), session.ErrSessionClosed) {
		t.Errorf("Err() = %v", s.Err())
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed")
	}
	// Requests after Close fail at once.
	if _, err := s.Call(context.Background(), "x", nil, nil); !errors.Is(err, session.ErrSessionClosed) {
		t.Errorf("Call after Close: %v", err)
	}
	if err := s.Publish(context.Background(), "x", nil, nil); !errors.Is(err, session.ErrSessionClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWithoutGoodbyeReply(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	msgs := r.recvClosed()
	if len(msgs) != 1 {
		t.Fatalf("got %v", msgs)
	}
	if _, ok := msgs[0].(*protocol.Goodbye); !ok {
		t.Fatalf("got %+v", msgs[0])
	}
	if !errors.Is(s.Err(), session.ErrSessionClosed) {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestCloseWaitsForHandlersBounded(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	release := make(chan struct{})
	started := make(chan struct{})
	register(t, s, r, "stubborn", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		close(started)
		<-release // ignores ctx
		return nil, nil
	})
	r.send(&protocol.Invocation{Request: 1, Registration: 1, Details: protocol.Dict{}})
	<-started
	closed := async(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		return struct{}{}, s.Close(ctx)
	})
	expect[*protocol.Goodbye](r)
	r.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
	if _, err := wait(t, closed); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want handlers-still-running error", err)
	}
	close(release)
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close after the handler returned: %v", err)
	}
}

func TestRouterGoodbye(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
	expect[*protocol.Call](r)
	r.send(&protocol.Goodbye{Details: protocol.Dict{"message": "bye"}, Reason: "wamp.close.killed"})
	msgs := r.recvClosed()
	if len(msgs) != 1 || msgs[0].(*protocol.Goodbye).Reason != "wamp.close.goodbye_and_out" {
		t.Fatalf("got %v", msgs)
	}
	_, err := wait(t, call)
	var we *session.Error
	if !errors.Is(err, session.ErrSessionClosed) || !errors.As(err, &we) || we.URI != "wamp.close.killed" {
		t.Fatalf("pending call: %v", err)
	}
	<-s.Done()
	if s.Err() == nil || s.Err().Error() != err.Error() {
		t.Errorf("Err() = %v", s.Err())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close after router GOODBYE: %v", err)
	}
}

func TestConnectionLost(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
	expect[*protocol.Call](r)
	r.p.Close()
	if _, err := wait(t, call); !errors.Is(err, session.ErrConnectionLost) {
		t.Fatalf("pending call: %v", err)
	}
	<-s.Done()
	if !errors.Is(s.Err(), session.ErrConnectionLost) {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestRouterAbort(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
	expect[*protocol.Call](r)
	r.send(&protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.close.system_shutdown"})
	if msgs := r.recvClosed(); len(msgs) != 0 {
		t.Fatalf("answered ABORT with %v", msgs)
	}
	_, err := wait(t, call)
	var ae *session.AbortError
	if !errors.As(err, &ae) || ae.Reason != "wamp.close.system_shutdown" {
		t.Fatalf("pending call: %v", err)
	}
}

func TestProtocolViolations(t *testing.T) {
	tests := []struct {
		name string
		// setup runs before the offending message; it may leave a request pending.
		msg func(callReq protocol.ID) protocol.Message
	}{
		{"WELCOME after join", func(protocol.ID) protocol.Message { return welcome(1) }},
		{"CHALLENGE after join", func(protocol.ID) protocol.Message {
			return &protocol.Challenge{AuthMethod: "ticket", Extra: protocol.Dict{}}
		}},
		{"HELLO from router", func(protocol.ID) protocol.Message { return &protocol.Hello{Realm: "r", Details: protocol.Dict{}} }},
		{"CALL from router", func(protocol.ID) protocol.Message {
			return &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "x"}
		}},
		{"RESULT for a request never sent", func(protocol.ID) protocol.Message { return &protocol.Result{Request: 500, Details: protocol.Dict{}} }},
		{"REGISTERED for a CALL", func(id protocol.ID) protocol.Message { return &protocol.Registered{Request: id, Registration: 3} }},
		{"ERROR with the wrong request type", func(id protocol.ID) protocol.Message {
			return &protocol.Error{RequestType: protocol.CodeSubscribe, Request: id, Details: protocol.Dict{}, URI: "x"}
		}},
		{"ERROR with an invalid request type", func(id protocol.ID) protocol.Message {
			return &protocol.Error{RequestType: protocol.CodeInvocation, Request: id, Details: protocol.Dict{}, URI: "x"}
		}},
		{"RESULT with request id 0", func(protocol.ID) protocol.Message { return &protocol.Result{Request: 0, Details: protocol.Dict{}} }},
		{"INVOCATION with id above 2^53", func(protocol.ID) protocol.Message {
			return &protocol.Invocation{Request: protocol.MaxID + 1, Registration: 1, Details: protocol.Dict{}}
		}},
		{"EVENT with publication 0", func(protocol.ID) protocol.Message {
			return &protocol.Event{Subscription: 1, Publication: 0, Details: protocol.Dict{}}
		}},
		{"revocation without id", func(protocol.ID) protocol.Message {
			return &protocol.Unregistered{Request: 0, Details: protocol.Dict{}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			s, r := join(t, session.Config{})
			call := async(func() (*session.Result, error) { return s.Call(context.Background(), "x", nil, nil) })
			c := expect[*protocol.Call](r)
			r.send(tt.msg(c.Request))
			msgs := r.recvClosed()
			if len(msgs) != 1 {
				t.Fatalf("got %v, want one ABORT", msgs)
			}
			ab, ok := msgs[0].(*protocol.Abort)
			if !ok || ab.Reason != session.URIProtocolViolation || ab.Details["message"] == "" {
				t.Fatalf("got %+v", msgs[0])
			}
			if _, err := wait(t, call); !errors.Is(err, session.ErrProtocolViolation) {
				t.Fatalf("pending call: %v", err)
			}
			if !errors.Is(s.Err(), session.ErrProtocolViolation) {
				t.Errorf("Err() = %v", s.Err())
			}
		})
	}
}

func TestDuplicateInvocationIsViolation(t *testing.T) {
	checkLeaks(t)
	s, r := join(t, session.Config{})
	release := make(chan struct{})
	defer close(release)
	register(t, s, r, "p", 1, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	r.send(&protocol.Invocation{Request: 4, Registration: 1, Details: protocol.Dict{}})
	r.send(&protocol.Invocation{Request: 4, Registration: 1, Details: protocol.Dict{}})
	msgs := r.recvClosed()
	if len(msgs) != 1 || msgs[0].(*protocol.Abort).Reason != session.URIProtocolViolation {
		t.Fatalf("got %v", msgs)
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{session.NewError("a.b", nil, nil), "a.b"},
		{session.NewError("a.b", protocol.List{"x", int64(2)}, nil), "a.b: x, 2"},
		{session.NewError("a.b", nil, protocol.Dict{"message": "m"}), "a.b: m"},
		{&session.AbortError{Reason: "r"}, "session: aborted: r"},
		{&session.AbortError{Reason: "r", Message: "m"}, "session: aborted: r: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(session.NewError("wamp.error.canceled", nil, nil), session.ErrCanceled) {
		t.Error("Is by URI failed")
	}
	if errors.Is(session.NewError("wamp.error.canceled", nil, nil), session.ErrNoSuchProcedure) {
		t.Error("Is matched another URI")
	}
	if errors.Is(session.NewError("wamp.error.canceled", nil, nil), session.ErrSessionClosed) {
		t.Error("Is matched a non-*Error")
	}
}
