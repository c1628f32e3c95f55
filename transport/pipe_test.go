package transport

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

func TestPipe(t *testing.T) {
	for _, ser := range []protocol.Serializer{nil, protocol.JSON, protocol.CBOR} {
		name := "by-reference"
		if ser != nil {
			name = ser.Name()
		}
		t.Run(name, func(t *testing.T) {
			checkLeaks(t)
			a, b := Pipe(ser)
			ctx := ctxT(t, 5*time.Second)
			if a.Serializer() != ser {
				t.Errorf("Serializer() = %v, want %v", a.Serializer(), ser)
			}
			want := testCall(1)
			if err := a.Send(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := b.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(protocol.Message(want), got); d != "" {
				t.Errorf("(-sent +got):\n%s", d)
			}
			if ser == nil && got != protocol.Message(want) {
				t.Error("nil serializer did not pass by reference")
			}
			if err := a.Send(ctx, nil); err == nil {
				t.Error("Send(nil) succeeded")
			}
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err = b.Recv(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Recv on empty pipe = %v", err)
			}
			// Sent before Close: still delivered; then ErrClosed.
			if err := b.Send(ctx, testCall(2)); err != nil {
				t.Fatal(err)
			}
			b.Close()
			if m, err := a.Recv(ctx); err != nil || m.(*protocol.Call).Request != 2 {
				t.Errorf("Recv of message sent before Close = %v, %v", m, err)
			}
			if _, err := a.Recv(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Recv after Close = %v", err)
			}
			if err := a.Send(ctx, want); !errors.Is(err, ErrClosed) {
				t.Errorf("Send after Close = %v", err)
			}
		})
	}
}

// TestSendUnencodable: a message the serializer cannot encode is an error
// and the connection stays usable.
func TestSendUnencodable(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, "tcp", ServerOptions{}, nil, echo)
	ctx := ctxT(t, 5*time.Second)
	p, err := Dial(ctx, ts.url, DialOptions{Serializers: []protocol.Serializer{protocol.JSON}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bad := testCall(1)
	bad.Args = protocol.List{make(chan int)}
	if err := p.Send(ctx, bad); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Send of unencodable message = %v", err)
	}
	if err := p.Send(ctx, nil); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Send(nil) = %v", err)
	}
	if err := p.Send(ctx, testCall(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Recv(ctx); err != nil {
		t.Fatal(err)
	}
}
