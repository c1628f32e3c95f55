package transport_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

func ExampleDial() {
	// echoPeer sends every message back until the connection ends.
	echoPeer := func(p transport.Peer) {
		defer p.Close()
		ctx := context.Background()
		for {
			m, err := p.Recv(ctx)
			if err != nil {
				return
			}
			if err := p.Send(ctx, m); err != nil {
				return
			}
		}
	}
	// A RawSocket echo server to talk to.
	l, err := transport.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", transport.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			p, err := l.Accept(context.Background())
			if err != nil {
				return
			}
			go echoPeer(p)
		}
	}()

	// The dial context bounds connecting and the handshake only.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := transport.Dial(ctx, "tcp://"+l.Addr().String(), transport.DialOptions{
		Serializers: []protocol.Serializer{protocol.MsgPack},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	err = p.Send(ctx, &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "com.example.add", Args: protocol.List{int64(2), int64(3)}})
	if err != nil {
		log.Fatal(err)
	}
	m, err := p.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	call := m.(*protocol.Call)
	fmt.Println(p.Serializer().Name(), call.Procedure, call.Args)
	// Output: msgpack com.example.add [2 3]
}

func ExampleWebSocketHandler() {
	// echoPeer sends every message back until the connection ends.
	echoPeer := func(p transport.Peer) {
		defer p.Close()
		ctx := context.Background()
		for {
			m, err := p.Recv(ctx)
			if err != nil {
				return
			}
			if err := p.Send(ctx, m); err != nil {
				return
			}
		}
	}
	// Serve WAMP over WebSocket on any http.Server or mux; every accepted
	// connection becomes a Peer.
	h := transport.WebSocketHandler(transport.ServerOptions{}, func(p transport.Peer) {
		go echoPeer(p)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	p, err := transport.Dial(ctx, url, transport.DialOptions{}) // offers cbor, msgpack, json
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println(p.Serializer().Subprotocol())
	// Output: wamp.2.cbor
}

func ExampleListenRawSocket() {
	// echoPeer sends every message back until the connection ends.
	echoPeer := func(p transport.Peer) {
		defer p.Close()
		ctx := context.Background()
		for {
			m, err := p.Recv(ctx)
			if err != nil {
				return
			}
			if err := p.Send(ctx, m); err != nil {
				return
			}
		}
	}
	l, err := transport.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", transport.ServerOptions{
		MaxMessageSize:   1 << 20,         // announce and enforce 1 MiB
		HandshakeTimeout: 5 * time.Second, // drop silent clients
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			p, err := l.Accept(context.Background())
			if err != nil {
				return // transport.ErrClosed after l.Close()
			}
			go echoPeer(p)
		}
	}()

	p, err := transport.Dial(context.Background(), "tcp://"+l.Addr().String(), transport.DialOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println(p.Serializer().Name())
	// Output: cbor
}
