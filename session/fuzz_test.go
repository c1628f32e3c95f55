package session_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// FuzzSessionDispatch feeds an established session arbitrary router
// messages (one JSON-serialized WAMP message per line; lines that do not
// decode are skipped) while it has a registration, a subscription and a
// pending call. Whatever arrives, the session must not panic, Close must
// return, and every goroutine it started must end.
func FuzzSessionDispatch(f *testing.F) {
	seeds := []string{
		`[50,3,{},["ok"]]`,
		`[50,3,{"progress":true},[1]]` + "\n" + `[50,3,{},["done"]]`,
		`[8,48,3,{},"wamp.error.canceled",["timeout reached"]]`,
		`[68,100,1,{"receive_progress":true},["a"]]` + "\n" + `[69,100,{"mode":"kill"}]`,
		`[68,7,1,{}]` + "\n" + `[68,9,1,{}]` + "\n" + `[68,7,1,{}]`,
		`[36,2,5,{"topic":"t.x"},["e"]]` + "\n" + `[35,0,{"subscription":2,"reason":"r"}]`,
		`[67,0,{"registration":1}]` + "\n" + `[68,8,1,{}]`,
		`[6,{},"wamp.close.killed"]`,
		`[3,{},"wamp.error.protocol_violation"]`,
		`[2,1,{}]`,
		`[33,99,4]`,
		`[17,3,5]`,
		`[50,0,{}]`,
		// streamed invocations (progressive call invocations)
		`[68,100,1,{"progress":true},["a"]]` + "\n" + `[68,100,1,{"progress":true},["b"]]` + "\n" + `[68,100,1,{},["c"]]`,
		`[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{}]`,
		`[68,100,1,{"progress":true}]` + "\n" + `[68,100,1,{}]` + "\n" + `[68,100,1,{}]`,
		`[68,100,1,{"progress":true}]` + "\n" + `[69,100,{"mode":"killnowait"}]` + "\n" + `[68,100,1,{"progress":true}]`,
		`[68,100,1,{"ppt_scheme":"x_f"},["\u0000AAE="]]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var msgs []protocol.Message
		for _, line := range bytes.Split(data, []byte("\n")) {
			if m, err := protocol.JSON.Unmarshal(line); err == nil {
				msgs = append(msgs, m)
			}
			if len(msgs) == 64 {
				break
			}
		}
		synctest.Test(t, func(t *testing.T) { runDispatch(t, msgs) })
	})
}

func runDispatch(t *testing.T, msgs []protocol.Message) {
	a, b := transport.Pipe(nil)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The router side: answer the setup requests, then play msgs, then
	// answer GOODBYE; everything else the session sends is drained.
	routerDone := make(chan struct{})
	go func() {
		defer close(routerDone)
		recv := func() protocol.Message {
			m, err := b.Recv(ctx)
			if err != nil {
				return nil
			}
			return m
		}
		if _, ok := recv().(*protocol.Hello); !ok {
			return
		}
		b.Send(ctx, &protocol.Welcome{Session: 1, Details: protocol.Dict{}})
		if m, ok := recv().(*protocol.Register); ok {
			b.Send(ctx, &protocol.Registered{Request: m.Request, Registration: 1})
		}
		if m, ok := recv().(*protocol.Subscribe); ok {
			b.Send(ctx, &protocol.Subscribed{Request: m.Request, Subscription: 2})
		}
		answer := func(m protocol.Message) {
			if _, ok := m.(*protocol.Goodbye); ok {
				b.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.normal"})
			}
		}
		answer(recv()) // normally the CALL, left pending; Close may come first
		for _, m := range msgs {
			if b.Send(ctx, m) != nil {
				return
			}
		}
		for {
			m := recv()
			if m == nil {
				return
			}
			answer(m)
		}
	}()
	s, err := session.Join(ctx, a, session.Config{Realm: "realm1", EventQueueSize: 4, InvocationConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Register(ctx, "p", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		_ = inv.Progress(ctx, protocol.List{1}, nil)
		for inv.Streaming() { // read streamed input until it ends or fails
			if _, err := inv.Recv(ctx); err != nil {
				break
			}
		}
		return &session.Result{Args: inv.Args}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = s.Subscribe(ctx, "t", func(*session.Event) {}); err != nil {
		t.Fatal(err)
	}
	callDone := make(chan struct{})
	go func() {
		defer close(callDone)
		s.Call(ctx, "x", nil, nil, session.ReceiveProgress(func(*session.Result) {}))
	}()
	synctest.Wait() // msgs are processed (as far as they go) before Close
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	if err := s.Close(cctx); err != nil && cctx.Err() != nil {
		t.Fatalf("Close did not return in time: %v", err)
	}
	<-s.Done()
	<-callDone
	b.Close()
	<-routerDone
}

// TestDispatchSeeds runs the fuzz seeds with a goroutine-leak check.
func TestDispatchSeeds(t *testing.T) {
	checkLeaks(t)
	for _, s := range []string{
		`[68,100,1,{"receive_progress":true},["a"]]` + "\n" + `[69,100,{"mode":"kill"}]`,
		`[36,2,5,{"topic":"t.x"},["e"]]` + "\n" + `[35,0,{"subscription":2,"reason":"r"}]`,
		`[6,{},"wamp.close.killed"]`,
		`[2,1,{}]`,
	} {
		var msgs []protocol.Message
		for _, line := range bytes.Split([]byte(s), []byte("\n")) {
			m, err := protocol.JSON.Unmarshal(line)
			if err != nil {
				t.Fatalf("seed %s: %v", line, err)
			}
			msgs = append(msgs, m)
		}
		synctest.Test(t, func(t *testing.T) { runDispatch(t, msgs) })
	}
}
