package session

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Error is a WAMP application or protocol error: the content of an ERROR
// message received for a request, or what a [Handler] returns to have its
// invocation answered with ERROR. errors.Is matches two *Error values by URI,
// so errors.Is(err, ErrNoSuchProcedure) works on any reply.
type Error struct {
	URI     string
	Args    protocol.List
	Kwargs  protocol.Dict
	Details protocol.Dict
}

// NewError returns an *Error with the given URI and payload; a [Handler]
// returns it to answer an invocation with that ERROR.
func NewError(uri string, args protocol.List, kwargs protocol.Dict) *Error {
	return &Error{URI: uri, Args: args, Kwargs: kwargs}
}

// Error returns the URI followed by the string arguments, such as
// "wamp.error.no_such_procedure: no callee registered for procedure x".
func (e *Error) Error() string {
	if len(e.Args) == 0 {
		if m, ok := e.Kwargs["message"].(string); ok && m != "" {
			return e.URI + ": " + m
		}
		return e.URI
	}
	parts := make([]string, 0, len(e.Args))
	for _, a := range e.Args {
		if s, ok := a.(string); ok {
			parts = append(parts, s)
		} else {
			parts = append(parts, fmt.Sprint(a))
		}
	}
	return e.URI + ": " + strings.Join(parts, ", ")
}

// Is reports whether target is an *Error with the same URI. As a crossbar
// quirk, wamp.error.canceled with the argument "timeout reached" (crossbar's
// answer to an expired CALL timeout option) also matches [ErrTimeout].
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.URI == e.URI {
		return true
	}
	if t == ErrTimeout && e.URI == URICanceled && len(e.Args) > 0 && e.Args[0] == "timeout reached" {
		return true
	}
	return false
}

// Well-known WAMP URIs used by this package.
const (
	URIRuntimeError       = protocol.URIRuntimeError
	URICanceled           = protocol.URICanceled
	URIProtocolViolation  = protocol.URIProtocolViolation
	URICannotAuthenticate = protocol.URICannotAuthenticate
	URINoSuchRegistration = protocol.URINoSuchRegistration
	URINoSuchSubscription = protocol.URINoSuchSubscription
	URICloseRealm         = protocol.URICloseRealm
	URIGoodbyeAndOut      = protocol.URIGoodbyeAndOut
)

// Sentinel errors matched by URI (errors.Is) against ERROR replies.
var (
	ErrNoSuchProcedure        = &Error{URI: protocol.URINoSuchProcedure}
	ErrCanceled               = &Error{URI: URICanceled}
	ErrNotAuthorized          = &Error{URI: protocol.URINotAuthorized}
	ErrProcedureAlreadyExists = &Error{URI: protocol.URIProcedureAlreadyExists}
	ErrInvalidURI             = &Error{URI: protocol.URIInvalidURI}
	ErrInvalidArgument        = &Error{URI: protocol.URIInvalidArgument}
	ErrNoSuchRegistration     = &Error{URI: URINoSuchRegistration}
	ErrNoSuchSubscription     = &Error{URI: URINoSuchSubscription}
	ErrNoSuchRealm            = &Error{URI: protocol.URINoSuchRealm}
	ErrRuntime                = &Error{URI: URIRuntimeError}
	ErrFeatureNotSupported    = &Error{URI: protocol.URIFeatureNotSupported}

	// ErrTimeout matches a call whose [Timeout] expired (such errors also
	// match context.DeadlineExceeded) and an ERROR wamp.error.timeout from
	// the router or callee.
	ErrTimeout = &Error{URI: protocol.URITimeout}
)

// Session-fatal errors. Pending requests of a session that ends fail with
// an error matching one of them (or an [*AbortError]); [Session.Err] returns it.
var (
	// ErrSessionClosed: the session was closed by Close or by the router's
	// GOODBYE (then the error also carries the router's reason as an *Error).
	ErrSessionClosed = errors.New("session: closed")
	// ErrConnectionLost: the transport failed before the session was closed.
	ErrConnectionLost = errors.New("session: connection lost")
	// ErrProtocolViolation: the peer broke the WAMP protocol; the session
	// sent ABORT wamp.error.protocol_violation and ended.
	ErrProtocolViolation = errors.New("session: protocol violation")
)

// AbortError is an ABORT received from the router, during join (the realm
// does not exist, authentication failed, ...) or later.
type AbortError struct {
	Reason  string
	Message string // Details.message, if any
	Details protocol.Dict
}

// Error returns "session: aborted: <reason>[: <message>]".
func (e *AbortError) Error() string {
	if e.Message == "" {
		return "session: aborted: " + e.Reason
	}
	return "session: aborted: " + e.Reason + ": " + e.Message
}

// Is matches an *Error sentinel with the same URI as the reason, so
// errors.Is(err, ErrNotAuthorized) works for a refused join.
func (e *AbortError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.URI == e.Reason
}

func newProtocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocolViolation, fmt.Sprintf(format, args...))
}
