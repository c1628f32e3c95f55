package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// A callee and a caller joined to the same realm. The examples run the
// embedded router (package router) and join it over in-memory pipes; with
// a router elsewhere, the peer comes from transport.Dial (see ExampleJoin).
func Example() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}

	callee, err := join()
	if err != nil {
		log.Fatal(err)
	}
	defer callee.Close(ctx)
	_, err = callee.Register(ctx, "com.example.add", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		a, _ := inv.Arg(0).(int64)
		b, _ := inv.Arg(1).(int64)
		return &session.Result{Args: protocol.List{a + b}}, nil
	})
	if err != nil {
		log.Fatal(err)
	}

	caller, err := join()
	if err != nil {
		log.Fatal(err)
	}
	defer caller.Close(ctx)
	res, err := caller.Call(ctx, "com.example.add", protocol.List{int64(2), int64(3)}, nil, session.Timeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	var sum int
	if err := res.Decode(&sum); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sum:", sum)

	_, err = caller.Call(ctx, "com.example.missing", nil, nil)
	fmt.Println(errors.Is(err, session.ErrNoSuchProcedure), err)
	// Output:
	// sum: 5
	// true wamp.error.no_such_procedure: no callee registered for procedure com.example.missing
}

// Joining a router over WebSocket with ticket authentication. Join owns the
// peer: Close (or a failed Join) closes it.
func ExampleJoin() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	peer, err := transport.Dial(ctx, "ws://localhost:8080/ws", transport.DialOptions{})
	if err != nil {
		log.Fatal(err)
	}
	s, err := session.Join(ctx, peer, session.Config{
		Realm:  "realm1",
		AuthID: "alice",
		Auth:   []auth.ClientMethod{auth.Ticket("s3cret")},
	})
	var abort *session.AbortError
	if errors.As(err, &abort) {
		log.Fatalf("router refused: %s (%s)", abort.Reason, abort.Message)
	} else if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background())
	fmt.Println("joined as", s.Info().AuthID, "with role", s.Info().AuthRole)
}

// Progressive results arrive in order on the calling goroutine before Call
// returns the final result.
func ExampleReceiveProgress() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}
	callee, _ := join()
	defer callee.Close(ctx)
	callee.Register(ctx, "com.example.count", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		for i := 1; i <= 3; i++ {
			if err := inv.Progress(ctx, protocol.List{int64(i)}, nil); err != nil {
				return nil, err
			}
		}
		return &session.Result{Args: protocol.List{"done"}}, nil
	})
	caller, _ := join()
	defer caller.Close(ctx)
	res, err := caller.Call(ctx, "com.example.count", nil, nil, session.ReceiveProgress(func(p *session.Result) {
		fmt.Println("progress", p.Arg(0))
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Arg(0))
	// Output:
	// progress 1
	// progress 2
	// progress 3
	// done
}

// Events of one subscription are delivered in order on the subscription's
// goroutine.
func ExampleSession_Subscribe() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}
	s, _ := join()
	defer s.Close(ctx)

	got := make(chan string, 3)
	sub, err := s.Subscribe(ctx, "com.example.news", func(ev *session.Event) {
		got <- fmt.Sprint(ev.Topic, " ", ev.Arg(0))
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, headline := range []string{"one", "two", "three"} {
		// ExcludeMe(false): deliver to our own subscription too.
		err := s.Publish(ctx, "com.example.news", protocol.List{headline}, nil, session.ExcludeMe(false), session.Acknowledge(true))
		if err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		fmt.Println(<-got)
	}
	fmt.Println("dropped:", sub.Dropped())
	// Output:
	// com.example.news one
	// com.example.news two
	// com.example.news three
	// dropped: 0
}

// A call with a Timeout returns an error matching ErrTimeout (and
// context.DeadlineExceeded) when it expires; the session sends CANCEL and
// the callee's handler sees its ctx end.
func ExampleTimeout() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}
	callee, _ := join()
	defer callee.Close(ctx)
	callee.Register(ctx, "com.example.slow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		<-ctx.Done() // INTERRUPT from the router (or the session's end)
		return nil, ctx.Err()
	})
	caller, _ := join()
	defer caller.Close(ctx)
	_, err = caller.Call(ctx, "com.example.slow", nil, nil, session.Timeout(50*time.Millisecond))
	fmt.Println(errors.Is(err, session.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// true true
}

// Cancelling a call's context sends CANCEL; the handler's ctx ends.
func ExampleCancelMode() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}
	callee, _ := join()
	defer callee.Close(ctx)
	started, interrupted := make(chan struct{}), make(chan struct{})
	callee.Register(ctx, "com.example.slow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		close(started)
		<-ctx.Done()
		close(interrupted)
		return nil, ctx.Err()
	})
	caller, _ := join()
	defer caller.Close(ctx)
	callCtx, cancel := context.WithCancel(ctx)
	go func() {
		<-started
		cancel()
	}()
	_, err = caller.Call(callCtx, "com.example.slow", nil, nil, session.CancelMode("killnowait"))
	fmt.Println(errors.Is(err, context.Canceled))
	<-interrupted
	fmt.Println("callee interrupted")
	// Output:
	// true
	// callee interrupted
}

// A handler returns a *session.Error to answer with a specific WAMP error.
func ExampleNewError() {
	ctx := context.Background()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() (*session.Session, error) { // a session on r over an in-memory pipe
		client, server := transport.Pipe(nil)
		go r.ServePeer(ctx, server)
		return session.Join(ctx, client, session.Config{Realm: "realm1"})
	}
	callee, _ := join()
	defer callee.Close(ctx)
	callee.Register(ctx, "com.example.div", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		if inv.Arg(1) == int64(0) {
			return nil, session.NewError("com.example.error.division_by_zero", protocol.List{"cannot divide by zero"}, nil)
		}
		return &session.Result{Args: protocol.List{inv.Arg(0).(int64) / inv.Arg(1).(int64)}}, nil
	})
	caller, _ := join()
	defer caller.Close(ctx)
	_, err = caller.Call(ctx, "com.example.div", protocol.List{int64(1), int64(0)}, nil)
	var werr *session.Error
	if errors.As(err, &werr) {
		fmt.Println(werr.URI, werr.Args[0])
	}
	// Output:
	// com.example.error.division_by_zero cannot divide by zero
}
