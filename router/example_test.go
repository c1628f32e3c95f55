package router_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// An in-process router with a router-side procedure, and a client session
// connected to it over an in-memory pipe.
func Example() {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Close(ctx) // GOODBYE to every session
	}()

	err = r.Realm("realm1").RegisterInternal("com.example.add", func(ctx context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		a, _ := inv.Arg(0).(int64)
		b, _ := inv.Arg(1).(int64)
		return &session.Result{Args: protocol.List{a + b}}, nil
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, server := transport.Pipe(protocol.JSON)
	go r.ServePeer(context.Background(), server)
	s, err := session.Join(ctx, client, session.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	res, err := s.Call(ctx, "com.example.add", protocol.List{2, 3}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("2 + 3 =", res.Arg(0))
	// Output: 2 + 3 = 5
}

// Serving WebSocket clients at /ws and RawSocket clients on a TCP port.
func ExampleRouter_WebSocketHandler() {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/ws", r.WebSocketHandler())
	go http.ListenAndServe("127.0.0.1:8282", nil)

	l, err := r.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:18081")
	if err != nil {
		log.Fatal(err)
	}
	go r.ServeRawSocket(l)
}
