package protocol

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidMessage is matched (with errors.Is) by every error this package
// returns for a message that cannot be decoded or does not validate.
var ErrInvalidMessage = errors.New("protocol: invalid message")

// ValidationError says which message and which field of it broke which rule.
// It matches ErrInvalidMessage.
type ValidationError struct {
	Message Code   // the message type; 0 when the code itself is unknown or missing
	Field   string // the field name, such as "Procedure"; empty for the whole message
	Reason  string // what is wrong, such as `invalid URI "a..b"`
}

// Error formats the error as "protocol: CALL.Procedure: invalid URI ...".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("protocol: ")
	if e.Message != 0 {
		b.WriteString(e.Message.String())
		if e.Field != "" {
			b.WriteByte('.')
			b.WriteString(e.Field)
		}
		b.WriteString(": ")
	} else if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Is reports whether target is ErrInvalidMessage.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidMessage }

// URIError is the error for a URI field that breaks the URI rule (the
// realm of HELLO, a topic, a procedure, an error or close reason). It is a
// *ValidationError too (errors.As finds both) and matches ErrInvalidMessage.
//
// On receive, a message that is well formed except for such a URI is not
// thrown away: Unmarshal and FromList return it together with its
// *URIError, so that a router can answer as the spec asks (ERROR
// wamp.error.invalid_uri for a request, ABORT wamp.error.invalid_uri for
// HELLO) instead of treating it as a protocol violation. Code that does not
// look for a *URIError sees an error matching ErrInvalidMessage and treats
// the message as invalid, as a client must treat a router's invalid URI.
type URIError struct {
	ValidationError        // Message and Field name the URI field; Reason says what is wrong
	URI             string // the invalid URI
	Match           string // the match policy it was checked for (SUBSCRIBE, REGISTER); "" is exact
}

// Unwrap returns the embedded *ValidationError, for errors.As.
func (e *URIError) Unwrap() error { return &e.ValidationError }

// DecodeError is returned when bytes are not a well-formed document of the
// serializer's format (bad syntax, truncation, invalid UTF-8, excessive
// nesting, unsupported types). It matches ErrInvalidMessage.
type DecodeError struct {
	Format string // "json", "msgpack" or "cbor"
	Offset int    // byte offset of the problem, or -1 when unknown
	Reason string
}

// Error formats the error as "protocol: json: reason at offset N".
func (e *DecodeError) Error() string {
	s := "protocol: " + e.Format + ": " + e.Reason
	if e.Offset >= 0 {
		s += " at offset " + strconv.Itoa(e.Offset)
	}
	return s
}

// Is reports whether target is ErrInvalidMessage.
func (e *DecodeError) Is(target error) bool { return target == ErrInvalidMessage }

// EncodeError is returned by Marshal for a payload value the format cannot
// represent, such as a channel, a map with non-string keys, or NaN in JSON.
type EncodeError struct {
	Format string
	Reason string
}

// Error formats the error as "protocol: json: cannot encode: reason".
func (e *EncodeError) Error() string { return "protocol: " + e.Format + ": cannot encode: " + e.Reason }

func invalid(c Code, field, reason string) error {
	return &ValidationError{Message: c, Field: field, Reason: reason}
}

// Is reports whether target is ErrInvalidMessage.
func (e *EncodeError) Is(target error) bool { return target == ErrInvalidMessage }
