package nexus

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/zabertech/go-izaber-wamp/auth"
)

// Authenticators returns the authenticators for the realm, in this order:
// ticket (password, API key or OTP), wampcra (when some user has a
// wampcra_secret), cryptosign (when some user has cryptosign_pubkeys) and
// anonymous with role "public" (when Config.AllowAnonymous is set).
// Every refusal is ABORT com.izaber.wamp.error.permissiondenied with message
// "Permission Denied", whatever the cause.
//
// Failed logins are throttled per authid and per client address (see
// Config.Throttle): an attempt waits for its turn before its credentials
// are checked, and one whose turn would come after the handshake deadline
// is refused at once, with the same answer.
func (s *Service) Authenticators() []auth.Authenticator {
	out := []auth.Authenticator{&withCookie{s: s, inner: s.throttle.Authenticator(auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
		return s.checkTicket(ctx, req.AuthID, ticket)
	}))}}
	if s.db.anyCRA {
		out = append(out, &withCookie{s: s, source: sourceWAMPCRA, inner: s.throttle.Authenticator(auth.CRAAuthenticator(s.lookupCRA))})
	}
	if s.db.anyKeys {
		out = append(out, &withCookie{s: s, source: sourceCryptosign, inner: s.throttle.Authenticator(auth.CryptosignAuthenticator(s.lookupPubkey))})
	}
	if s.anon {
		out = append(out, auth.AnonymousAuthenticator(RolePublic))
	}
	return out
}

// lookupCRA returns the WAMP-CRA principal of req.AuthID, or a decoy for an
// unknown or disabled user and for one without a WAMP-CRA secret.
func (s *Service) lookupCRA(_ context.Context, req *auth.Request) (*auth.CRAUser, error) {
	u := s.lookupUser(req.AuthID)
	if u == nil || u.disabled || u.craSecret == "" {
		return s.craDecoy(strings.ToLower(req.AuthID)), nil
	}
	return &auth.CRAUser{
		Secret: u.craSecret, Salt: u.craSalt, Iterations: u.craIterations, KeyLen: u.craKeyLen,
		Identity: auth.Identity{AuthID: u.login, AuthRole: u.role, AuthProvider: AuthProvider},
	}, nil
}

// craDecoy is the WAMP-CRA principal an unknown login gets: it has the
// shape (salted or not, iterations, keylen) of a real WAMP-CRA user picked
// by a keyed hash of the login, and a salt derived the same way, so that
// its challenges are stable per login and look like those of the users of
// this file.
func (s *Service) craDecoy(login string) *auth.CRAUser {
	d := &auth.CRAUser{Decoy: true, Identity: auth.Identity{AuthID: login, AuthProvider: AuthProvider}}
	if len(s.db.craUsers) == 0 {
		return d
	}
	m := hmac.New(sha256.New, s.decoyKey[:])
	m.Write([]byte(login))
	sum := m.Sum(nil)
	tpl := s.db.craUsers[binary.BigEndian.Uint64(sum[:8])%uint64(len(s.db.craUsers))]
	if tpl.craSalt != "" {
		salt := base64.RawURLEncoding.EncodeToString(sum[8:])
		for len(salt) < len(tpl.craSalt) {
			salt += salt
		}
		d.Salt = salt[:max(len(tpl.craSalt), 8)]
		d.Iterations, d.KeyLen = tpl.craIterations, tpl.craKeyLen
	}
	return d
}

// lookupPubkey returns the user owning a cryptosign key, or nil (the
// authenticator then challenges and refuses as for a wrong signature).
func (s *Service) lookupPubkey(_ context.Context, req *auth.Request, pubkeyHex string) (*auth.Identity, error) {
	u := s.db.byKey[strings.ToLower(pubkeyHex)]
	if u == nil || u.disabled || (req.AuthID != "" && strings.ToLower(req.AuthID) != u.login) {
		return nil, nil
	}
	return &auth.Identity{AuthID: u.login, AuthRole: u.role, AuthProvider: AuthProvider}, nil
}

// loginWork counts the work of credential checks, so that tests can show
// it does not depend on whether the login exists.
type loginWork struct {
	pbkdf2Rounds atomic.Int64 // PBKDF2 iterations for passwords and key digests
	storeReads   atomic.Int64 // read transactions looking for API keys and OTPs
}

// checkPassword reports whether pw is u's password; u is nil for an
// unknown or disabled user. The work does not depend on u: one PBKDF2 of
// db.hashRounds iterations (the user's own hash, padded up to the
// strongest hash of the file, or a decoy) and one constant-time
// comparison.
func (s *Service) checkPassword(u *user, pw string) bool {
	var (
		hash  *passwordHash
		plain string
	)
	if u != nil {
		hash, plain = u.passwordHash, u.password
	}
	ok, done := false, 0
	if hash != nil {
		ok, done = hash.verify(pw), hash.iterations
	}
	if pad := s.db.hashRounds - done; pad > 0 {
		_, _ = pbkdf2.Key(sha256.New, pw, s.decoyKey[:16], pad, sha256.Size)
	}
	s.work.pbkdf2Rounds.Add(int64(max(done, s.db.hashRounds)))
	plainOK := equalSecret(plain, pw)
	return ok || plainOK && plain != ""
}

// withCookie answers every refusal of inner alike (errDenied) and records
// a successful WAMP-CRA or cryptosign authentication in a cookie, as
// ticket logins are (source empty: inner made the cookie), so authextra
// carries cache_id. Failed attempts leave nothing behind.
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
	if err != nil || w.source == "" {
		return id, err
	}
	u := w.s.lookupUser(id.AuthID)
	if u == nil {
		return nil, errDenied()
	}
	return w.s.newCookie(u, id.AuthMethod, w.source, "", nil)
}
