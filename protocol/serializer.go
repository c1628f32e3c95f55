package protocol

// Serializer turns messages into bytes and back. Implementations are safe for
// concurrent use.
type Serializer interface {
	// Name is the short name: "json", "msgpack" or "cbor".
	Name() string
	// Subprotocol is the WebSocket subprotocol, such as "wamp.2.json".
	Subprotocol() string
	// RawSocketID is the RawSocket handshake serializer id (1, 2 or 3).
	RawSocketID() byte
	// TextFrames reports whether WebSocket messages must be text frames.
	TextFrames() bool
	// Marshal encodes a message. It fails only for values the format
	// cannot represent.
	Marshal(m Message) ([]byte, error)
	// Unmarshal decodes and validates one message. Every failure is an
	// error, never a panic, whatever the input. A message whose only
	// fault is a URI that breaks the URI rule is returned together with
	// its *URIError (see URIError); otherwise the message is nil when the
	// error is not. The message keeps no reference to data, which the
	// caller may reuse at once.
	Unmarshal(data []byte) (Message, error)
}
