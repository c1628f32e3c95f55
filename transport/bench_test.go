package transport

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// benchCall is a typical small CALL.
func benchCall() *protocol.Call {
	return &protocol.Call{
		Request:   12345,
		Options:   protocol.Dict{},
		Procedure: "com.example.add",
		Args:      protocol.List{int64(2), int64(3), "some text"},
		Kwargs:    protocol.Dict{"flag": true},
	}
}

// BenchmarkRoundTrip measures one message echoed by a server over loopback:
// our peers for WebSocket, RawSocket TCP and Unix, and as floors the same
// bytes echoed by bare coder/websocket and by a bare TCP socket.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	for _, scheme := range []string{"ws", "tcp", "unix"} {
		for _, ser := range []protocol.Serializer{protocol.CBOR, protocol.JSON} {
			b.Run(scheme+"-"+ser.Name(), func(b *testing.B) {
				ts := startServer(b, scheme, ServerOptions{}, nil, echo)
				p, err := Dial(ctx, ts.url, DialOptions{Serializers: []protocol.Serializer{ser}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				m := benchCall()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := p.Send(ctx, m); err != nil {
						b.Fatal(err)
					}
					if _, err := p.Recv(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}

	payload, err := protocol.CBOR.Marshal(benchCall())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bare-coder-websocket", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			for {
				typ, data, err := c.Read(context.Background())
				if err != nil {
					return
				}
				if err := c.Write(context.Background(), typ, data); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		c, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.Write(ctx, websocket.MessageBinary, payload); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-tcp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			io.Copy(c, c)
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		frame := frameBytes(frameMessage, payload)
		buf := make([]byte, len(frame))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Write(frame); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMarshalOnly is the serializer cost alone, to read the round trip
// figures against.
func BenchmarkMarshalOnly(b *testing.B) {
	m := benchCall()
	for _, ser := range []protocol.Serializer{protocol.CBOR, protocol.JSON} {
		b.Run(ser.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				data, err := ser.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ser.Unmarshal(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
