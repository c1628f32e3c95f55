package transport

import (
	"errors"
	"fmt"
)

// MessageTooBigError reports a message larger than the allowed size. A send
// that is too big fails before anything is written and leaves the
// connection open; a receive that is too big closes the connection.
type MessageTooBigError struct {
	// Size is the message size in bytes, or 0 when it is not known (a
	// WebSocket read stops at the limit without learning the full size).
	Size int
	// Limit is the largest size allowed, in bytes.
	Limit int
	// Received is true for an incoming message, false for an outgoing one.
	Received bool
}

func (e *MessageTooBigError) Error() string {
	dir := "outgoing"
	if e.Received {
		dir = "incoming"
	}
	if e.Size <= 0 {
		return fmt.Sprintf("transport: %s message exceeds the limit of %d bytes", dir, e.Limit)
	}
	return fmt.Sprintf("transport: %s message of %d bytes exceeds the limit of %d bytes", dir, e.Size, e.Limit)
}

// HandshakeError is an HTTP answer to the WebSocket handshake that is not
// an upgrade (101 Switching Protocols): the URL does not lead to a WAMP
// WebSocket endpoint (404: a wrong path), or a proxy in front of the router
// failed (502, 503).
type HandshakeError struct {
	StatusCode int
	Status     string // such as "404 Not Found"
	Body       string // the start of the body, at most 200 bytes
}

// Error returns "transport: websocket handshake: server answered <status>: <body>".
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("transport: websocket handshake: server answered %s: %q", e.Status, e.Body)
}

// RawSocketError is a RawSocket handshake refusal sent by the server, or
// sent by our server to a client (then only logged).
type RawSocketError struct {
	// Code is the error code of the reply, 1 to 15.
	Code int
}

// RawSocket handshake error codes (the high nibble of the second reply octet).
const (
	RawSocketSerializerUnsupported = 1
	RawSocketMaxLengthUnacceptable = 2
	RawSocketReservedBitsUsed      = 3
	RawSocketMaxConnections        = 4
)

func (e *RawSocketError) Error() string {
	return "transport: rawsocket handshake: server refused: " + rawSocketErrorText(e.Code)
}

func rawSocketErrorText(code int) string {
	switch code {
	case RawSocketSerializerUnsupported:
		return "serializer unsupported"
	case RawSocketMaxLengthUnacceptable:
		return "maximum message length unacceptable"
	case RawSocketReservedBitsUsed:
		return "use of reserved bits"
	case RawSocketMaxConnections:
		return "maximum connection count reached"
	default:
		return fmt.Sprintf("unknown error code %d", code)
	}
}

// connError is the terminal error of a connection: it reads as its cause and
// matches both the cause and ErrClosed with errors.Is / errors.As.
type connError struct{ cause error }

func (e *connError) Error() string        { return e.cause.Error() }
func (e *connError) Unwrap() error        { return e.cause }
func (e *connError) Is(target error) bool { return target == ErrClosed }

// terminal wraps err so that it also matches ErrClosed; ErrClosed itself and
// errors that already match it are returned unchanged.
func terminal(err error) error {
	if err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	return &connError{cause: err}
}
