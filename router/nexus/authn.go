package nexus

import (
	"context"
	"errors"
	"strings"

	"github.com/zabertech/go-izaber-wamp/auth"
)

// Authenticators returns the authenticators for the realm, in this order:
// ticket (password, API key or OTP), wampcra (when some user has a
// wampcra_secret), cryptosign (when some user has cryptosign_pubkeys) and
// anonymous with role "public" (when Config.AllowAnonymous is set).
// Every refusal is ABORT com.izaber.wamp.error.permissiondenied with message
// "Permission Denied", whatever the cause.
func (s *Service) Authenticators() []auth.Authenticator {
	out := []auth.Authenticator{auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
		return s.checkTicket(ctx, req.AuthID, ticket)
	})}
	if s.db.anyCRA {
		out = append(out, &withCookie{s: s, source: sourceWAMPCRA, inner: auth.CRAAuthenticator(s.lookupCRA)})
	}
	if s.db.anyKeys {
		out = append(out, &withCookie{s: s, source: sourceCryptosign, inner: auth.CryptosignAuthenticator(s.lookupPubkey)})
	}
	if s.anon {
		out = append(out, auth.AnonymousAuthenticator(RolePublic))
	}
	return out
}

func (s *Service) lookupCRA(_ context.Context, req *auth.Request) (*auth.CRAUser, error) {
	u := s.lookupUser(req.AuthID)
	if u == nil || u.disabled || u.craSecret == "" {
		s.log.Info("login refused", "authid", strings.ToLower(req.AuthID), "method", "wampcra")
		return nil, errDenied()
	}
	return &auth.CRAUser{
		Secret: u.craSecret, Salt: u.craSalt, Iterations: u.craIterations, KeyLen: u.craKeyLen,
		Identity: auth.Identity{AuthID: u.login, AuthRole: u.role, AuthProvider: AuthProvider},
	}, nil
}

func (s *Service) lookupPubkey(_ context.Context, req *auth.Request, pubkeyHex string) (*auth.Identity, error) {
	u := s.db.byKey[strings.ToLower(pubkeyHex)]
	if u == nil || u.disabled || (req.AuthID != "" && strings.ToLower(req.AuthID) != u.login) {
		s.log.Info("login refused", "authid", strings.ToLower(req.AuthID), "method", "cryptosign")
		return nil, errDenied()
	}
	return &auth.Identity{AuthID: u.login, AuthRole: u.role, AuthProvider: AuthProvider}, nil
}

// withCookie records a successful WAMP-CRA or cryptosign authentication in
// a cookie, as ticket logins are, so authextra carries cache_id. Failed
// attempts leave nothing behind.
type withCookie struct {
	s      *Service
	source string
	inner  auth.Authenticator
}

func (w *withCookie) Method() string { return w.inner.Method() }

func (w *withCookie) Authenticate(ctx context.Context, req *auth.Request, challenge auth.Challenger) (*auth.Identity, error) {
	id, err := w.inner.Authenticate(ctx, req, challenge)
	var d *auth.Denied
	if errors.As(err, &d) {
		// One refusal for every cause, as for tickets.
		return nil, errDenied()
	}
	if err != nil {
		return nil, err
	}
	u := w.s.lookupUser(id.AuthID)
	if u == nil {
		return nil, errDenied()
	}
	return w.s.newCookie(u, id.AuthMethod, w.source, "", nil)
}
