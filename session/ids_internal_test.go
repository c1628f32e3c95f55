package session

import (
	"context"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// TestRequestIDsWrap checks that request ids stay within [1, 2^53] and wrap
// to 1, skipping ids still pending.
func TestRequestIDsWrap(t *testing.T) {
	a, b := transport.Pipe(nil)
	defer b.Close()
	s := start(a, Config{Realm: "realm1"}.withDefaults(), &protocol.Welcome{Session: 1, Details: protocol.Dict{}})
	defer func() {
		s.shutdown(ErrSessionClosed)
		<-s.idle
	}()
	s.mu.Lock()
	s.nextID = protocol.MaxID - 1
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recvCall := func() *protocol.Call {
		t.Helper()
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m.(*protocol.Call)
	}
	type res struct{ err error }
	done := make(chan res, 8)
	call := func() {
		go func() {
			_, err := s.Call(ctx, "x", nil, nil)
			done <- res{err}
		}()
	}
	call()
	c1 := recvCall() // MaxID-1, stays pending
	call()
	c2 := recvCall()
	if c1.Request != protocol.MaxID-1 || c2.Request != protocol.MaxID {
		t.Fatalf("ids %d, %d", c1.Request, c2.Request)
	}
	b.Send(ctx, &protocol.Result{Request: c2.Request, Details: protocol.Dict{}})
	if r := <-done; r.err != nil {
		t.Fatal(r.err)
	}
	call()
	if c3 := recvCall(); c3.Request != 1 {
		t.Fatalf("after 2^53: id %d, want 1", c3.Request)
	}
	s.mu.Lock()
	s.nextID = protocol.MaxID
	s.mu.Unlock()
	call()
	if c4 := recvCall(); c4.Request != protocol.MaxID {
		t.Fatalf("id %d, want 2^53", c4.Request)
	}
	call() // 1 is still pending: skipped
	if c5 := recvCall(); c5.Request != 2 {
		t.Fatalf("id %d, want 2 (1 is pending)", c5.Request)
	}
	// Wrapped: a reply for an old id is a late reply, not a violation.
	s.mu.Lock()
	issued := s.issuedLocked(12345)
	s.mu.Unlock()
	if !issued {
		t.Error("after wrapping every id counts as issued")
	}
}
