package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Progressive call invocations with the session API on both ends, over
// WebSocket and RawSocket.

func TestCallStreamOverSockets(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	callee := dialJoin(t, ep.tcp, protocol.CBOR, 0)
	interrupted := make(chan error, 1)
	started := make(chan protocol.ID, 1)
	if _, err := callee.Register(ctx, "s.sum", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		select {
		case started <- inv.Request:
		default:
		}
		if !inv.Streaming() {
			return nil, session.NewError("app.error.not_streamed", nil, nil)
		}
		sum, _ := inv.Arg(0).(int64)
		for {
			c, err := inv.Recv(ctx)
			if errors.Is(err, io.EOF) {
				return &session.Result{Args: protocol.List{sum}}, nil
			}
			if err != nil {
				interrupted <- err
				return nil, err
			}
			n, _ := c.Arg(0).(int64)
			if n < 0 {
				return nil, session.NewError("app.error.negative", protocol.List{n}, nil)
			}
			sum += n
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{ep.ws, ep.tcp, ep.unix} {
		for _, ser := range serializers {
			caller := dialJoin(t, url, ser, 0)
			name := fmt.Sprintf("%s-%s", url[:3], ser.Name())
			t.Run(name+"/sum", func(t *testing.T) {
				st, err := caller.CallStream(ctx, "s.sum")
				if err != nil {
					t.Fatal(err)
				}
				for i := int64(1); i <= 100; i++ {
					if err := st.Send(protocol.List{i}, nil); err != nil {
						t.Fatal(err)
					}
				}
				if err := st.CloseSend(protocol.List{int64(1000)}, nil); err != nil {
					t.Fatal(err)
				}
				res, err := st.Result()
				if err != nil || fmt.Sprint(res.Arg(0)) != "6050" {
					t.Fatalf("result %v %v", res, err)
				}
				if err := st.Send(nil, nil); err == nil {
					t.Fatal("Send after CloseSend succeeded")
				}
			})
		}
	}
	caller := dialJoin(t, ep.ws, protocol.MsgPack, 0)
	t.Run("callee-fails-early", func(t *testing.T) {
		st, err := caller.CallStream(ctx, "s.sum")
		if err != nil {
			t.Fatal(err)
		}
		st.Send(protocol.List{int64(1)}, nil)
		st.Send(protocol.List{int64(-1)}, nil)
		// The callee's ERROR ends the call: Send reports it, Result says why.
		waitCallDone(t, st)
		var we *session.Error
		if _, err := st.Result(); !errors.As(err, &we) || we.URI != "app.error.negative" {
			t.Fatalf("Result %v", err)
		}
	})
	t.Run("caller-cancels", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		st, err := caller.CallStream(cctx, "s.sum")
		if err != nil {
			t.Fatal(err)
		}
		drain(started)
		if err := st.Send(protocol.List{int64(1)}, nil); err != nil {
			t.Fatal(err)
		}
		waitStarted(t, ctx, started) // else the interrupt stops it before it starts
		cancel()
		select {
		case err := <-interrupted:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("callee Recv after cancel: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("callee not interrupted")
		}
		if _, err := st.Result(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Result after cancel: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		drain(started)
		st, err := caller.CallStream(ctx, "s.sum", session.Timeout(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		st.Send(protocol.List{int64(1)}, nil)
		waitStarted(t, ctx, started)
		select {
		case err := <-interrupted:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("callee Recv after the timeout: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("callee not interrupted after the timeout")
		}
		if _, err := st.Result(); !errors.Is(err, session.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Result after the timeout: %v", err)
		}
	})
	t.Run("plain-call-to-stream-handler", func(t *testing.T) {
		_, err := caller.Call(ctx, "s.sum", protocol.List{int64(1)}, nil)
		var we *session.Error
		if !errors.As(err, &we) || we.URI != "app.error.not_streamed" {
			t.Fatalf("plain call: %v", err)
		}
	})
	t.Run("callee-without-feature", func(t *testing.T) {
		st, err := caller.CallStream(ctx, "wamp.session.count")
		if err != nil {
			t.Fatal(err)
		}
		st.CloseSend(nil, nil)
		if _, err := st.Result(); err != nil {
			// a CALL without progress is an ordinary call, even from a stream
			t.Fatalf("single-chunk stream to an internal procedure: %v", err)
		}
		st, err = caller.CallStream(ctx, "wamp.session.count")
		if err != nil {
			t.Fatal(err)
		}
		st.Send(nil, nil)
		waitCallDone(t, st)
		if _, err := st.Result(); !errors.Is(err, session.ErrFeatureNotSupported) {
			t.Fatalf("streamed call to an internal procedure: %v", err)
		}
	})
}

// waitCallDone waits until the router has answered st's call, which makes
// Send fail with ErrCallDone.
func waitCallDone(t *testing.T, st *session.CallStream) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := st.Send(protocol.List{int64(1)}, nil)
		if errors.Is(err, session.ErrCallDone) {
			return
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("Send on a call that should end: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func drain[T any](c chan T) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func waitStarted(t *testing.T, ctx context.Context, started <-chan protocol.ID) {
	t.Helper()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("handler not started")
	}
}
