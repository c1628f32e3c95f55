package main

// Failed connections as one sentence each: what happened, where, and what
// to do.

import (
	"errors"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// connectFailure reports that connecting to url with cfg failed with err,
// and returns the exit status.
func (e *env) connectFailure(st *settings, cfg izaber.Config, url string, err error) int {
	var abort *session.AbortError
	if errors.As(err, &abort) {
		return e.loginRefused(st, cfg, url, abort)
	}
	return e.errorf(exitConnect, "cannot connect to %s as %s: %v", url, describeUser(cfg), err)
}

// loginRefused reports an ABORT in answer to HELLO or AUTHENTICATE.
func (e *env) loginRefused(st *settings, cfg izaber.Config, url string, abort *session.AbortError) int {
	why := abort.Reason
	if abort.Message != "" {
		why += ": " + abort.Message
	}
	user := describeUser(cfg)
	switch {
	case abort.Reason == protocol.URINoSuchRealm:
		return e.errorf(exitConnect, "%s has no realm %q (%s); check the realm (--realm, $%s or izaber.yaml realm)", url, cfg.Realm, why, envRealm)
	case !ticketAuth(cfg):
		return e.errorf(exitConnect, "%s refused the anonymous login (%s); give a user and password, or check that the router allows anonymous logins", url, why)
	case errors.Is(abort, izaber.ErrPermissionDenied), abort.Reason == protocol.URIAuthenticationFailed,
		abort.Reason == protocol.URINotAuthorized, abort.Reason == protocol.URIAuthorizationFailed,
		abort.Reason == protocol.URIAuthenticationDenied, abort.Reason == protocol.URINoSuchPrincipal:
		return e.errorf(exitConnect, "%s refused the login as %s (%s); check the user name and the password (%s)", url, user, why, st.describePassword())
	}
	return e.errorf(exitConnect, "%s refused the login as %s: %s", url, user, why)
}

// describePassword says where the password came from, for errors.
func (st *settings) describePassword() string {
	switch st.passwordSource {
	case "default":
		return "none was configured, so the default was sent"
	case "izaber.yaml":
		return "from " + st.source + ", wamp.connection.password"
	}
	return "from " + st.passwordSource
}
