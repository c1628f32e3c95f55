package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// A reconnecting client against an embedded router on a loopback
// WebSocket: the registration made before connecting is restored on every
// new session.
func Example() {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	defer srv.Close()
	defer r.Close(context.Background())

	ctx := context.Background()
	c := client.New(client.Config{
		URL:            "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		Session:        session.Config{Realm: "realm1"},
		Backoff:        client.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second},
		ConnectTimeout: 5 * time.Second,
		OnJoin: func(ctx context.Context, s *session.Session) {
			fmt.Println("joined realm", s.Info().Realm)
		},
		OnRestoreError: func(err *client.RestoreError) { fmt.Println("not restored:", err) },
	})
	defer c.Close(ctx)

	// Recorded now, registered on every session from the first one on.
	_, err = c.Register(ctx, "com.example.add", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		a, _ := inv.Arg(0).(int64)
		b, _ := inv.Arg(1).(int64)
		return &session.Result{Args: protocol.List{a + b}}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Call(ctx, "com.example.add", protocol.List{2, 3}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Arg(0))
	// Output:
	// joined realm realm1
	// 5
}

// Trace sees every WAMP message of every session (an AUTHENTICATE's
// signature redacted), and Stats counts them.
func ExampleConfig_trace() {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	defer srv.Close()
	defer r.Close(context.Background())

	ctx := context.Background()
	c := client.New(client.Config{
		URL:     "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		Session: session.Config{Realm: "realm1"},
		Trace: func(dir client.Direction, m protocol.Message) {
			fmt.Println(dir, m.Code())
		},
	})
	defer c.Close(ctx)
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Publish(ctx, "com.example.news", protocol.List{"hi"}, nil, session.Acknowledge(true)); err != nil {
		fmt.Println(err)
		return
	}
	st := c.Stats()
	fmt.Println("messages out/in:", st.MessagesOut, st.MessagesIn, "publications:", st.Publications)
	// Output:
	// sent HELLO
	// received WELCOME
	// sent PUBLISH
	// received PUBLISHED
	// messages out/in: 2 2 publications: 1
	// sent GOODBYE
	// received GOODBYE
}

// Switch moves the Client to a new session (other credentials, say) only
// once that session works: the registrations follow, the old session
// leaves with GOODBYE, and a failed switch changes nothing.
func ExampleClient_Switch() {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	defer srv.Close()
	defer r.Close(context.Background())

	ctx := context.Background()
	c := client.New(client.Config{
		URL:     "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		Session: session.Config{Realm: "realm1", Agent: "first"},
	})
	defer c.Close(ctx)
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	first := c.Session().Info().Session
	err = c.Switch(ctx, session.Config{Realm: "no.such.realm"})
	fmt.Println(err != nil, c.Session().Info().Session == first)
	if err := c.Switch(ctx, session.Config{Realm: "realm1", Agent: "second"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Session().Info().Session != first, c.State())
	// Output:
	// true true
	// true connected
}
