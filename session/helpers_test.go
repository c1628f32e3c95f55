package session_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// checkLeaks fails the test if goroutines started during it are still
// running when it ends. Call it first so that its cleanup runs last.
func checkLeaks(t testing.TB) {
	t.Helper()
	leaktest.Guard(t)
}

// fakeRouter is the router end of a transport.Pipe, driven by the test.
type fakeRouter struct {
	t testing.TB
	p transport.Peer
}

const waitLong = 5 * time.Second

func (r *fakeRouter) send(m protocol.Message) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := r.p.Send(ctx, m); err != nil {
		r.t.Fatalf("router send %s: %v", m.Code(), err)
	}
}

// trySend sends without failing the test (the session may have closed).
func (r *fakeRouter) trySend(m protocol.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	return r.p.Send(ctx, m)
}

func (r *fakeRouter) recv() protocol.Message {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	m, err := r.p.Recv(ctx)
	if err != nil {
		r.t.Fatalf("router recv: %v", err)
	}
	return m
}

// recvClosed expects the session to have closed the transport, after
// possibly sending some messages, which are returned.
func (r *fakeRouter) recvClosed() []protocol.Message {
	r.t.Helper()
	var got []protocol.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		m, err := r.p.Recv(ctx)
		expired := ctx.Err() != nil
		cancel()
		if err != nil {
			if expired {
				r.t.Fatalf("transport still open after %v", got)
			}
			return got
		}
		got = append(got, m)
	}
}

// noMessage checks that nothing arrives within d.
func (r *fakeRouter) noMessage(d time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := r.p.Recv(ctx); err == nil {
		r.t.Fatalf("unexpected message %s %+v", m.Code(), m)
	}
}

// expect receives the next message and checks its type.
func expect[T protocol.Message](r *fakeRouter) T {
	r.t.Helper()
	m := r.recv()
	v, ok := m.(T)
	if !ok {
		var zero T
		r.t.Fatalf("router got %s %+v, want %T", m.Code(), m, zero)
	}
	return v
}

func welcome(id protocol.ID) *protocol.Welcome {
	return &protocol.Welcome{Session: id, Details: protocol.Dict{
		"realm": "realm1", "authid": "alice", "authrole": "user", "authmethod": "anonymous",
		"authprovider": "static", "authextra": protocol.Dict{"x_cb_node": "n1"},
		"roles": protocol.Dict{"dealer": protocol.Dict{}, "broker": protocol.Dict{}},
	}}
}

// join returns a session joined to a fake router that answered HELLO with
// WELCOME, and registers a cleanup that closes it with a GOODBYE exchange
// if the test did not end it.
func join(t testing.TB, cfg session.Config) (*session.Session, *fakeRouter) {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	a, b := transport.Pipe(nil)
	r := &fakeRouter{t: t, p: b}
	type res struct {
		s   *session.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := session.Join(context.Background(), a, cfg)
		ch <- res{s, err}
	}()
	expect[*protocol.Hello](r)
	r.send(welcome(42))
	got := <-ch
	if got.err != nil {
		t.Fatalf("Join: %v", got.err)
	}
	s := got.s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		go func() {
			// Answer a GOODBYE if the session is still open.
			for {
				m, err := b.Recv(ctx)
				if err != nil {
					return
				}
				if _, ok := m.(*protocol.Goodbye); ok {
					_ = b.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.normal"})
					return
				}
			}
		}()
		_ = s.Close(ctx)
		b.Close()
	})
	return s, r
}

// closeByRouter performs Close with the router answering GOODBYE.
func closeWithGoodbye(t testing.TB, s *session.Session, r *fakeRouter, replyReason string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		errc <- s.Close(ctx)
	}()
	g := expect[*protocol.Goodbye](r)
	if g.Reason != "wamp.close.close_realm" {
		t.Errorf("GOODBYE reason %q", g.Reason)
	}
	r.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: replyReason})
	if err := <-errc; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// async runs f on a goroutine and returns a channel with its result.
func async[T any](f func() (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		v, err := f()
		ch <- result[T]{v, err}
	}()
	return ch
}

type result[T any] struct {
	v   T
	err error
}

func wait[T any](t testing.TB, ch <-chan result[T]) (T, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(waitLong):
		t.Fatal("timed out waiting for the session")
		panic("unreachable")
	}
}

// fakeMethod is a ClientMethod for tests: it answers each challenge with
// the next entry of answers.
type fakeMethod struct {
	name    string
	extra   protocol.Dict
	answers []string
	calls   int
}

func (m *fakeMethod) Method() string            { return m.name }
func (m *fakeMethod) HelloExtra() protocol.Dict { return m.extra }
func (m *fakeMethod) Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error) {
	if m.calls >= len(m.answers) {
		return nil, fmt.Errorf("fake: no answer for round %d", m.calls+1)
	}
	a := m.answers[m.calls]
	m.calls++
	return &protocol.Authenticate{Signature: a, Extra: protocol.Dict{}}, nil
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
