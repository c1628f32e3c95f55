package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// A caller streams its input to a callee (progressive call invocations):
// the callee reads the chunks as they come with Invocation.Recv and answers
// once the last one is in. The embedded router stands in for any router
// announcing progressive_call_invocations.
func ExampleSession_CallStream() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() *session.Session {
		client, server := transport.Pipe(protocol.JSON)
		go r.ServePeer(ctx, server)
		s, err := session.Join(ctx, client, session.Config{Realm: "realm1"})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}

	callee := join()
	defer callee.Close(ctx)
	_, err = callee.Register(ctx, "com.example.concat", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		parts := []string{fmt.Sprint(inv.Arg(0))} // the first chunk
		for {
			chunk, err := inv.Recv(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			parts = append(parts, fmt.Sprint(chunk.Arg(0)))
		}
		return &session.Result{Args: protocol.List{strings.Join(parts, " ")}}, nil
	})
	if err != nil {
		log.Fatal(err)
	}

	caller := join()
	defer caller.Close(ctx)
	stream, err := caller.CallStream(ctx, "com.example.concat")
	if err != nil {
		log.Fatal(err)
	}
	for _, word := range []string{"streamed", "input", "in"} {
		if err := stream.Send(protocol.List{word}, nil); err != nil {
			log.Fatal(err)
		}
	}
	if err := stream.CloseSend(protocol.List{"chunks"}, nil); err != nil {
		log.Fatal(err)
	}
	res, err := stream.Result()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Arg(0))
	// Output: streamed input in chunks
}

// Input and output streamed at the same time: the callee answers every
// chunk with a progressive result, which the caller receives through the
// ReceiveProgress option while it is still sending.
func ExampleInvocation_Recv() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() *session.Session {
		client, server := transport.Pipe(protocol.CBOR)
		go r.ServePeer(ctx, server)
		s, err := session.Join(ctx, client, session.Config{Realm: "realm1"})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}

	callee := join()
	defer callee.Close(ctx)
	_, err = callee.Register(ctx, "com.example.double", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		n, _ := inv.Arg(0).(int64)
		total := n
		for {
			if err := inv.Progress(ctx, protocol.List{2 * n}, nil); err != nil {
				return nil, err
			}
			chunk, err := inv.Recv(ctx)
			if errors.Is(err, io.EOF) {
				return &session.Result{Args: protocol.List{total}}, nil
			}
			if err != nil {
				return nil, err
			}
			n, _ = chunk.Arg(0).(int64)
			total += n
		}
	})
	if err != nil {
		log.Fatal(err)
	}

	caller := join()
	defer caller.Close(ctx)
	doubled := make(chan any, 3)
	stream, err := caller.CallStream(ctx, "com.example.double",
		session.ReceiveProgress(func(r *session.Result) { doubled <- r.Arg(0) }))
	if err != nil {
		log.Fatal(err)
	}
	results := make(chan *session.Result, 1)
	go func() {
		res, err := stream.Result()
		if err != nil {
			log.Fatal(err)
		}
		results <- res
	}()
	for i, n := range []int64{1, 2, 3} {
		send := stream.Send
		if i == 2 {
			send = stream.CloseSend
		}
		if err := send(protocol.List{n}, nil); err != nil {
			log.Fatal(err)
		}
		fmt.Println("sent", n, "got", <-doubled)
	}
	fmt.Println("sum", (<-results).Arg(0))
	// Output:
	// sent 1 got 2
	// sent 2 got 4
	// sent 3 got 6
	// sum 6
}

// Payload passthru mode: the router forwards an opaque payload (here bytes
// the application encrypted itself) and its ppt_* attributes untouched; the
// callee reads them with Invocation.Passthru and answers the same way.
func ExamplePassthru() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	join := func() *session.Session {
		client, server := transport.Pipe(protocol.MsgPack)
		go r.ServePeer(ctx, server)
		s, err := session.Join(ctx, client, session.Config{Realm: "realm1"})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}

	callee := join()
	defer callee.Close(ctx)
	_, err = callee.Register(ctx, "com.example.vault", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		in, ok := inv.Passthru()
		if !ok {
			return nil, session.NewError("com.example.error.cleartext", nil, nil)
		}
		fmt.Printf("callee got %d opaque bytes, scheme %s, key %s\n", len(in.Payload), in.Scheme, in.KeyID)
		return session.PassthruResult(protocol.Passthru{Scheme: in.Scheme, KeyID: "reply-key", Payload: []byte{0xca, 0xfe}}), nil
	})
	if err != nil {
		log.Fatal(err)
	}

	caller := join()
	defer caller.Close(ctx)
	res, err := caller.Call(ctx, "com.example.vault", nil, nil, session.Passthru(protocol.Passthru{
		Scheme: "x_example", Cipher: "xsalsa20poly1305", KeyID: "caller-key", Payload: []byte{1, 2, 3, 4},
	}))
	if err != nil {
		log.Fatal(err)
	}
	out, _ := res.Passthru()
	fmt.Printf("caller got % x with key %s\n", out.Payload, out.KeyID)
	// Output:
	// callee got 4 opaque bytes, scheme x_example, key caller-key
	// caller got ca fe with key reply-key
}
