package router

import (
	"context"
	"errors"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// InternalHandler implements a procedure inside the router. caller is the
// calling session; inv carries the arguments and INVOCATION-style details
// (inv.Progress is not available: internal procedures return one result).
// ctx is cancelled when the caller cancels the call, the call times out or
// the caller leaves. Returning a *session.Error answers with that ERROR;
// any other error gives wamp.error.runtime_error with the error text.
type InternalHandler func(ctx context.Context, caller *SessionInfo, inv *session.Invocation) (*session.Result, error)

// RegisterInternal registers procedure (exact match) as a router-side
// callee: calls run h on their own goroutine, without any session. Calls
// to it are still subject to the realm's Authorizer. It fails with
// ErrProcedureExists if the URI is already registered.
func (rl *Realm) RegisterInternal(procedure string, h InternalHandler) error {
	if h == nil {
		return errors.New("router: nil InternalHandler")
	}
	return rl.registerInternal(procedure, func(ctx context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
		res, err := h(ctx, caller, &session.Invocation{
			Procedure:    c.procedure,
			Args:         c.args,
			Kwargs:       c.kwargs,
			Details:      c.details,
			Registration: c.registration,
			Request:      c.request,
		})
		if err != nil || res == nil {
			return nil, nil, err
		}
		return res.Args, res.Kwargs, nil
	})
}

// asCallError converts a *session.Error (anywhere in err's chain) to a
// callError; an invalid URI becomes wamp.error.runtime_error.
func asCallError(err error) (*callError, bool) {
	var se *session.Error
	if !errors.As(err, &se) {
		return nil, false
	}
	uri := se.URI
	if !sendableURI(uri) {
		uri = protocol.URIRuntimeError
	}
	return &callError{URI: uri, Args: se.Args, Kwargs: se.Kwargs}, true
}
