package izaber_test

import (
	"context"
	"testing"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/izaber/izabertest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// BenchmarkCall compares a call through the facade (prefix, default
// options, supervisor) with the same call on the bare session underneath,
// over a loopback WebSocket to the embedded router. Compare the two ns/op
// within one run.
func BenchmarkCall(b *testing.B) {
	nr, err := izabertest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer nr.Close()
	ctx := context.Background()
	open := func(user string) *izaber.Client {
		c, err := izaber.Initialize(ctx, izaber.Source{YAML: nr.YAML(user)})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	callee := open("backend-1")
	defer callee.Close(ctx)
	if _, err := callee.Register(ctx, "bench.echo", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	}); err != nil {
		b.Fatal(err)
	}
	caller := open("backend-2")
	defer caller.Close(ctx)
	args := protocol.List{"payload", 42}

	b.Run("facade", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := caller.Call(ctx, "bench.echo", args, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session", func(b *testing.B) {
		s := caller.Supervisor().Session()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Call(ctx, "com.izaber.wamp.bench.echo", args, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkURI measures the prefix rule.
func BenchmarkURI(b *testing.B) {
	c, err := izaber.New(izaber.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.URI("auth.whoami")
		_ = c.URI("com.izaber.wamp.auth.whoami")
	}
}
