package transport

import (
	"context"
	"errors"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Peer is one end of a WAMP connection.
//
// Send is safe for concurrent use; Recv must be called from one goroutine at
// a time (the connection's reader), and must be called for the connection to
// stay alive: it also answers keep-alive pings. Close may be called at any
// time, any number of times; it unblocks pending Send and Recv calls.
//
// A context passed to Send or Recv bounds the wait of that one call and
// never closes the connection (see the package doc, "Contexts").
//
// The WebSocket and RawSocket peers also have a RemoteAddr() net.Addr
// method, the address of the other end (for a server, the client's).
type Peer interface {
	// Send serializes one message and queues it for writing, waiting while
	// the connection's outbox is full.
	Send(ctx context.Context, m protocol.Message) error
	// Recv reads and decodes the next message.
	Recv(ctx context.Context) (protocol.Message, error)
	// Close closes the connection.
	Close() error
	// Serializer is the serializer negotiated for this connection (nil for
	// an in-memory pipe that passes messages by reference).
	Serializer() protocol.Serializer
}

// ErrClosed is returned by Send and Recv after the connection was closed by
// either side.
var ErrClosed = errors.New("transport: connection closed")

// TrafficCounter is implemented by the WebSocket and RawSocket peers: the
// bytes read from and written to the socket so far, framing, handshakes and
// keep-alive included. It is safe to call at any time, also after Close.
type TrafficCounter interface {
	Traffic() (in, out uint64)
}
