package router

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// callError is a WAMP error produced inside the router (by an authorizer,
// an internal procedure or the router itself).
type callError struct {
	URI    string
	Args   protocol.List
	Kwargs protocol.Dict
}

func (e *callError) Error() string { return fmt.Sprintf("%s %v", e.URI, e.Args) }

func (e *callError) message(req protocol.Code, id protocol.ID) *protocol.Error {
	return &protocol.Error{RequestType: req, Request: id, Details: protocol.Dict{}, URI: e.URI, Args: e.Args, Kwargs: e.Kwargs}
}

// internalCall is one invocation of an internal procedure.
type internalCall struct {
	procedure    string
	args         protocol.List
	kwargs       protocol.Dict
	details      protocol.Dict
	registration protocol.ID
	request      protocol.ID
}

// internalFunc implements an internal procedure. An error that is (or
// wraps) a *callError becomes an ERROR with its URI; see callErrorFor for
// the others.
type internalFunc func(ctx context.Context, caller *SessionInfo, call *internalCall) (protocol.List, protocol.Dict, error)

// callErrorFor maps an internal procedure's error to the ERROR the caller
// gets: WAMP errors keep their URI, a cancelled context gives
// wamp.error.canceled, anything else wamp.error.runtime_error with the
// error text.
func callErrorFor(ctx context.Context, err error) *callError {
	if ce, ok := asCallError(err); ok {
		return ce
	}
	var ce *callError
	if errors.As(err, &ce) {
		return ce
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &callError{URI: protocol.URICanceled, Args: protocol.List{"call canceled"}}
	}
	return &callError{URI: protocol.URIRuntimeError, Args: protocol.List{err.Error()}}
}

// startInternal runs an internal procedure for inv on its own goroutine.
// rl.mu must be held.
func (rl *Realm) startInternal(inv *invocation, procedure string, args protocol.List, kwargs protocol.Dict, details protocol.Dict) {
	ctx, cancel := context.WithCancel(inv.caller.ctx)
	inv.cancelInternal = cancel
	fn := inv.callee.fn
	call := &internalCall{procedure: procedure, args: args, kwargs: kwargs, details: details, registration: inv.reg.id, request: inv.callID}
	info := inv.caller.info
	rl.r.wg.Add(1)
	go func() {
		defer rl.r.wg.Done()
		resArgs, resKwargs, err := runInternal(ctx, fn, info, call)
		var b batch
		defer b.flush()
		rl.mu.Lock()
		defer rl.mu.Unlock()
		if inv.done {
			return // cancelled (skip, killnowait), timed out, or the caller left
		}
		rl.endInvocation(inv)
		if err != nil {
			b.send(inv.caller, callErrorFor(ctx, err).message(protocol.CodeCall, inv.callID))
			return
		}
		b.send(inv.caller, &protocol.Result{Request: inv.callID, Details: protocol.Dict{}, Args: resArgs, Kwargs: resKwargs})
	}()
}

// runInternal calls fn, turning a panic into an error.
func runInternal(ctx context.Context, fn internalFunc, info *SessionInfo, call *internalCall) (args protocol.List, kwargs protocol.Dict, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal procedure %s panicked: %v\n%s", call.procedure, p, debug.Stack())
		}
	}()
	return fn(ctx, info, call)
}

// authorize asks the realm's Authorizer; nil means allowed.
func (rl *Realm) authorize(s *sess, action Action, uri string) *callError {
	return rl.authorizeInfo(s.ctx, s.info, action, uri)
}

// authorizeInfo is authorize for the session described by info.
func (rl *Realm) authorizeInfo(ctx context.Context, info *SessionInfo, action Action, uri string) *callError {
	az := rl.cfg.Authorizer
	if az == nil {
		return nil
	}
	err := az.Authorize(ctx, info, action, uri)
	if err == nil {
		return nil
	}
	return rl.authorizeError(info, action, uri, err)
}

// authorizeError maps an Authorizer's refusal to the ERROR the client gets.
func (rl *Realm) authorizeError(info *SessionInfo, action Action, uri string, err error) *callError {
	if ce, ok := asCallError(err); ok {
		if len(ce.Args) == 0 && len(ce.Kwargs) == 0 {
			ce = &callError{URI: ce.URI, Args: protocol.List{deniedMessage(info, action, uri)}}
		}
		return ce
	}
	rl.log.Warn("authorizer failed", "session", info.ID, "action", string(action), "uri", logsafe.String(uri), "err", err)
	return &callError{URI: protocol.URIAuthorizationFailed,
		Args: protocol.List{fmt.Sprintf("failed to authorize session for %s %s '%s': %v", actionVerb(action), actionNoun(action), uri, err)}}
}

func actionVerb(a Action) string {
	switch a {
	case ActionCall:
		return "calling"
	case ActionRegister:
		return "registering"
	case ActionSubscribe:
		return "subscribing to"
	case ActionPublish:
		return "publishing to"
	}
	return string(a)
}

func actionNoun(a Action) string {
	if a == ActionCall || a == ActionRegister {
		return "procedure"
	}
	return "topic"
}

// deniedMessage is crossbar's wording of an authorization denial
// (python-izaber-wamp-behaviour §5.3).
func deniedMessage(in *SessionInfo, action Action, uri string) string {
	if action == ActionPublish {
		return fmt.Sprintf("session not authorized to publish to topic '%s'", uri)
	}
	what := "call procedure"
	switch action {
	case ActionRegister:
		what = "register procedure"
	case ActionSubscribe:
		what = "subscribe to topic"
	}
	return fmt.Sprintf("session (session_id=%d, authid=%q, authrole=%q) is not authorized to %s %q on realm %q",
		in.ID, in.AuthID, in.AuthRole, what, uri, in.Realm)
}
