package wire

import (
	"context"
	"net/http"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Options configures Dial. Zero fields get the defaults in their comments.
type Options struct {
	// Serializer is the serializer asked for. It may be nil when
	// Handshake or Subprotocols say what to ask for.
	Serializer protocol.Serializer
	// Subprotocols are the WebSocket subprotocols offered, in order
	// (default: the serializer's). The serializer used is the one of the
	// subprotocol the router picks, if this package knows it.
	Subprotocols []string
	// Handshake are the octets sent as the RawSocket handshake request
	// (default: magic, Serializer, MaxLength, two zero octets). The
	// serializer used is the one of the router's reply.
	Handshake []byte
	// MaxLength is the receive limit announced in the RawSocket handshake
	// (default 16 MiB); frames above it are marked Oversized.
	MaxLength int
	// Header holds extra HTTP headers for the WebSocket handshake.
	Header http.Header
	// Observer is told about everything that happens on the connection.
	Observer Observer
	// ManualPong turns off the automatic answer to RawSocket PINGs (a
	// proxy forwards them instead).
	ManualPong bool
}

// Dial connects to ep and runs the opening handshake of its transport.
// ctx bounds connecting and the handshake only. A failed handshake is a
// *HandshakeError.
func Dial(ctx context.Context, ep Endpoint, o Options) (*Conn, error) {
	if ep.Transport == WebSocket {
		return dialWebSocket(ctx, ep, &o)
	}
	return dialRawSocket(ctx, ep, &o)
}

// AcceptOptions configures the server side (ListenRawSocket,
// WebSocketHandler). The zero value speaks every serializer the spec's
// way.
type AcceptOptions struct {
	// Serializers that clients may ask for (default JSON, MsgPack, CBOR).
	Serializers []protocol.Serializer
	// MaxLength is the RawSocket receive limit announced (default 16 MiB).
	MaxLength int
	// RawSocketReply, if set, answers a client's RawSocket handshake
	// request: the octets to write back, or nil to drop the connection. A
	// success reply (0x7F, non-zero serializer nibble) opens the
	// connection. tag is kept as the connection's Tag.
	RawSocketReply func(request [4]byte) (reply []byte, tag any)
	// Subprotocol, if set, picks the WebSocket subprotocol from the
	// client's offer, even one it did not offer, or "" for none; ok false
	// refuses the upgrade with 400 Bad Request. tag is kept as the
	// connection's Tag.
	Subprotocol func(offered []string) (chosen string, ok bool, tag any)
	// Observer is told about everything on each accepted connection.
	Observer Observer
	// ManualPong turns off the automatic answer to RawSocket PINGs.
	ManualPong bool
}

func (o *AcceptOptions) serializers() []protocol.Serializer {
	if len(o.Serializers) == 0 {
		return []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}
	}
	return o.Serializers
}

func (o *AcceptOptions) maxLength() int {
	if o.MaxLength <= 0 {
		return MaxRawSocketLength
	}
	return o.MaxLength
}
