// Command script is the README's "A script in Go": it logs in to Nexus
// with izaber.yaml, asks who it is, serves a procedure and calls it with
// positional and keyword arguments, and receives its own event.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	// Python: izaber.initialize()
	wamp, err := izaber.Initialize(ctx, izaber.Source{})
	if err != nil {
		return err
	}
	defer wamp.Close(ctx)

	me, err := wamp.WhoAmI(ctx) // com.izaber.wamp.auth.whoami
	if err != nil {
		return err
	}
	fmt.Printf("logged in as %s (role %s)\n", me.AuthID, me.Role)

	// Serve com.izaber.wamp.example.add(a, b, scale=1).
	add := func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		var a, b float64
		opts := struct {
			Scale float64 `json:"scale"`
		}{Scale: 1}
		if err := inv.DecodeArg(0, &a); err != nil {
			return nil, err
		}
		if err := inv.DecodeArg(1, &b); err != nil {
			return nil, err
		}
		if err := inv.DecodeKwargs(&opts); err != nil {
			return nil, err
		}
		return izaber.Yield((a + b) * opts.Scale), nil
	}
	if _, err := wamp.Register(ctx, "example.add", add); err != nil {
		return err
	}
	sum, err := izaber.CallAs[float64](ctx, wamp, "example.add",
		protocol.List{2, 3}, protocol.Dict{"scale": 10})
	if err != nil {
		return err
	}
	fmt.Println("(2 + 3) * 10 =", sum)

	// Subscribe to com.izaber.wamp.example.news and publish on it.
	news := make(chan string, 1)
	_, err = wamp.Subscribe(ctx, "example.news", func(ev *session.Event) {
		var text string
		if ev.Decode(&text) == nil {
			news <- text
		}
	})
	if err != nil {
		return err
	}
	err = wamp.Publish(ctx, "example.news", protocol.List{"hello"}, nil,
		session.ExcludeMe(false)) // deliver to this session too
	if err != nil {
		return err
	}
	select {
	case text := <-news:
		fmt.Println("news:", text)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
