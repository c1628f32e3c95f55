package nexus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Error URIs of Nexus services.
const (
	ErrPermissionDenied = "com.izaber.wamp.error.permissiondenied"
	ErrGeneric          = "com.izaber.wamp.error"
)

// svcError is an error a service returns with its own URI.
type svcError struct {
	uri    string
	args   protocol.List
	kwargs protocol.Dict
}

func (e *svcError) Error() string {
	if len(e.args) > 0 {
		return fmt.Sprintf("%s: %v", e.uri, e.args[0])
	}
	return e.uri
}

func permissionDenied() error {
	return &svcError{uri: ErrPermissionDenied, args: protocol.List{"Permission Denied"}}
}

// errorURI returns the Nexus URI, arguments and keyword arguments an error
// from a service reaches the client with: its own for a svcError,
// otherwise com.izaber.wamp.error with the message, like Nexus's str(ex).
func errorURI(err error) (string, protocol.List, protocol.Dict) {
	var se *svcError
	if errors.As(err, &se) {
		return se.uri, se.args, se.kwargs
	}
	return ErrGeneric, protocol.List{err.Error()}, nil
}

// call is one invocation of a service.
type call struct {
	name    string
	session protocol.ID
	authid  string
	role    string
	extra   protocol.Dict // the caller's authextra (its cache_id names its cookie)
	peer    string        // the caller's address ("127.0.0.1"), or "unknown"
	addr    net.Addr      // the caller's address, or nil
	args    protocol.List
	kwargs  protocol.Dict
}

// peerHost is the caller's address as an OTP's origin names it.
func (c *call) peerHost() string {
	if c.peer == "" {
		return "unknown"
	}
	return c.peer
}

// params checks the argument count like a Python signature and returns the
// positional or keyword value of each named parameter (nil when absent).
func (c *call) params(required int, names ...string) ([]any, error) {
	if len(c.args) > len(names) {
		return nil, fmt.Errorf("%s takes at most %d arguments (%d given)", c.name, len(names), len(c.args))
	}
	out := make([]any, len(names))
	known := map[string]bool{}
	for i, n := range names {
		known[n] = true
		if i < len(c.args) {
			if _, dup := c.kwargs[n]; dup {
				return nil, fmt.Errorf("%s got multiple values for argument '%s'", c.name, n)
			}
			out[i] = c.args[i]
			continue
		}
		v, ok := c.kwargs[n]
		if !ok && i < required {
			return nil, fmt.Errorf("%s missing required argument '%s'", c.name, n)
		}
		out[i] = v
	}
	for k := range c.kwargs {
		if !known[k] {
			return nil, fmt.Errorf("%s got an unexpected keyword argument '%s'", c.name, k)
		}
	}
	return out, nil
}

// stringParam reads the one argument of a call that takes only name, a
// required string.
func (c *call) stringParam(name string) (string, error) {
	p, err := c.params(1, name)
	if err != nil {
		return "", err
	}
	return asString(c, p[0], name)
}

func asString(c *call, v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string", c.name, name)
	}
	return s, nil
}

func asBool(c *call, v any, name string) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	}
	return false, fmt.Errorf("%s: %s must be a boolean", c.name, name)
}

type handlerFunc func(s *Service, c *call) (any, error)

// services lists every service with its handler, in the order Install
// registers them: each bare and under com.izaber.wamp., or only under
// com.izaber.wamp. when prefixedOnly (Nexus's deprecated aliases and
// auth.authenticate). The OTP services answer under my.otp.* and my.otps.*
// alike.
var services = []struct {
	name         string
	handler      handlerFunc
	prefixedOnly bool
}{
	{"auth.whoami", (*Service).whoami, false},
	{"auth.authenticate", (*Service).authenticate, true},
	{"auth.reauthenticate", (*Service).reauthenticate, false},
	{"system.reauthenticate", (*Service).reauthenticate, true},
	{"auth.reauthenticate_expire", (*Service).reauthenticateExpire, false},
	{"auth.is_reauthenticated", (*Service).isReauthenticated, false},
	{"system.is_reauthenticated", (*Service).isReauthenticated, true},
	{"auth.extend_reauthenticate", (*Service).extendReauthenticate, false},
	{"system.extend_reauthenticate", (*Service).extendReauthenticate, true},
	{"auth.refresh_authorizer", (*Service).refreshAuthorizer, false},
	{"ad.users", (*Service).directory, false},
	{"ad.groups", (*Service).directory, false},
	{"directory.users", (*Service).directory, true},
	{"directory.groups", (*Service).directory, true},
	{"system.roster.register", (*Service).rosterRegister, false},
	{"system.roster.unregister", (*Service).rosterUnregister, false},
	{"system.roster.query", (*Service).rosterQuery, false},
	{"my.metadata.set", (*Service).metadataSet, false},
	{"my.metadata.get", (*Service).metadataGet, false},
	{"my.metadata.list", (*Service).metadataList, false},
	{"my.metadata.delete", (*Service).metadataDelete, false},
	{"system.preference.set", (*Service).metadataSet, true},
	{"system.preference.get", (*Service).metadataGet, true},
	{"my.apikeys.create", (*Service).apikeysCreate, false},
	{"my.apikeys.list", (*Service).apikeysList, false},
	{"my.apikeys.delete", (*Service).apikeysDelete, false},
	{"my.otp.create", (*Service).otpCreate, false},
	{"my.otp.list", (*Service).otpList, false},
	{"my.otp.delete", (*Service).otpDelete, false},
	{"my.otps.create", (*Service).otpCreate, false},
	{"my.otps.list", (*Service).otpList, false},
	{"my.otps.delete", (*Service).otpDelete, false},
	{"system.otp.create", (*Service).systemOTPCreate, false},
	{"system.otp.list", (*Service).systemOTPList, false},
	{"system.otp.delete", (*Service).systemOTPDelete, false},
}

// handlers maps each service name as registered (bare and prefixed) to
// its handler.
var handlers = func() map[string]handlerFunc {
	m := make(map[string]handlerFunc, 2*len(services))
	for _, svc := range services {
		if !svc.prefixedOnly {
			m[svc.name] = svc.handler
		}
		m[prefix+svc.name] = svc.handler
	}
	return m
}()

// invoke runs a service by its registered name.
func (s *Service) invoke(c *call) (any, error) {
	h := handlers[c.name]
	if h == nil {
		return nil, fmt.Errorf("unknown service %q", c.name)
	}
	return h(s, c)
}

func (s *Service) whoami(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return protocol.Dict{"authid": c.authid, "role": c.role}, nil
}

// authenticate is auth.authenticate(login, password): whether the ticket
// logs login in (password, OTP or API key, as a login would: an OTP is
// used up).
func (s *Service) authenticate(c *call) (any, error) {
	p, err := c.params(2, "login", "password")
	if err != nil {
		return nil, err
	}
	login, err := asString(c, p[0], "login")
	if err != nil {
		return nil, err
	}
	pw, err := asString(c, p[1], "password")
	if err != nil {
		return nil, err
	}
	// Throttled like a login; a guess that must wait is answered false at
	// once, without checking it.
	done, err := s.throttle.Attempt(context.Background(), login, c.addr, "auth.authenticate", false)
	if err != nil {
		return false, nil
	}
	_, _, err = s.verifyTicket(login, pw)
	done(err == nil, true)
	return err == nil, nil
}

// reauthenticate is auth.reauthenticate(password): with the caller's
// password it opens the elevated window (permissions marked '+') for
// elevatedWindow and returns its length in seconds; a wrong password
// returns false.
func (s *Service) reauthenticate(c *call) (any, error) {
	pw, err := c.stringParam("password")
	if err != nil {
		return nil, err
	}
	u := s.lookupUser(c.authid)
	if u == nil || cacheID(c.extra) == "" {
		return nil, errors.New("no Nexus login to re-authenticate")
	}
	active := u
	if u.disabled {
		active = nil
	}
	done, err := s.throttle.Attempt(context.Background(), u.login, c.addr, "auth.reauthenticate", false)
	if err != nil {
		return false, nil // throttled (logged by the throttle)
	}
	ok := s.checkPassword(active, pw)
	done(ok, true)
	if !ok {
		return false, nil
	}
	if !s.touchCookie(c.extra, func(k *cookie) bool { k.lastAuth = s.now(); return true }) {
		return false, nil
	}
	return int64(elevatedWindow / time.Second), nil
}

// reauthenticateExpire is auth.reauthenticate_expire(): it closes the
// caller's elevated window.
func (s *Service) reauthenticateExpire(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	s.touchCookie(c.extra, func(k *cookie) bool { k.lastAuth = time.Time{}; return true })
	return nil, nil
}

// isReauthenticated is auth.is_reauthenticated(): the seconds left in the
// caller's elevated window, or false.
func (s *Service) isReauthenticated(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	k := s.sessionCookie(c.extra)
	if k == nil {
		return false, nil
	}
	left := elevatedWindow - s.now().Sub(k.lastAuth)
	if left <= 0 {
		return false, nil
	}
	return left.Seconds(), nil
}

// extendReauthenticate is auth.extend_reauthenticate(): it restarts an
// open elevated window and returns its length in seconds, or false.
func (s *Service) extendReauthenticate(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	now := s.now()
	ok := s.touchCookie(c.extra, func(k *cookie) bool {
		if now.Sub(k.lastAuth) > elevatedWindow {
			return false
		}
		k.lastAuth = now
		return true
	})
	if !ok {
		return false, nil
	}
	return int64(elevatedWindow / time.Second), nil
}

// refreshAuthorizer is auth.refresh_authorizer(): Nexus reloads its
// database; the users file here is read once, so it does nothing.
func (s *Service) refreshAuthorizer(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return nil, nil
}

// directory is ad.users() and ad.groups(): the directory entries, which
// Nexus reads from LDAP. There is no LDAP here: [], as Nexus without LDAP.
func (s *Service) directory(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return protocol.List{}, nil
}

// rosterAllowed reports whether c's role grants want on the roster name.
func (s *Service) rosterAllowed(c *call, name string, want perms) bool {
	return s.permitted(c.role, c.extra, name, want, false)
}

func (s *Service) rosterRegister(c *call) (any, error) {
	p, err := c.params(2, "roster_name", "data", "visibility")
	if err != nil {
		return nil, err
	}
	name, err := asString(c, p[0], "roster_name")
	if err != nil {
		return nil, err
	}
	vis, err := normVisibility(p[2])
	if err != nil {
		return nil, err
	}
	if !s.rosterAllowed(c, name, permRosterOps) {
		return nil, permissionDenied()
	}
	if err := sizeWithin("roster entry", "roster_data_bytes", protocol.List{name, p[1], vis}, s.quotas.RosterDataBytes); err != nil {
		return nil, err
	}
	enc, err := encodeValue(protocol.List{p[1], vis})
	if err != nil {
		return nil, err
	}
	if err := overQuota("roster entry", "roster_data_bytes", len(name)+len(enc), s.quotas.RosterDataBytes); err != nil {
		return nil, err
	}
	owner := c.authid
	if u := s.lookupUser(c.authid); u != nil {
		owner = u.uuid
	}
	return s.roster.register(c.session, c.authid, owner, name, p[1], vis, s.now(), s.quotas.RosterEntries)
}

// rosterParam reads the roster_name argument of a call that takes only it
// and checks that c's role grants want on that roster.
func (s *Service) rosterParam(c *call, want perms) (string, error) {
	name, err := c.stringParam("roster_name")
	if err != nil {
		return "", err
	}
	if !s.rosterAllowed(c, name, want) {
		return "", permissionDenied()
	}
	return name, nil
}

func (s *Service) rosterUnregister(c *call) (any, error) {
	name, err := s.rosterParam(c, permRosterOps)
	if err != nil {
		return nil, err
	}
	s.roster.unregister(c.session, name)
	return true, nil
}

func (s *Service) rosterQuery(c *call) (any, error) {
	name, err := s.rosterParam(c, permRosterQuery)
	if err != nil {
		return nil, err
	}
	return s.roster.query(name, c.role), nil
}

// caller returns the user making c, or an error for a session that is not
// one of the users file's (such as an anonymous one).
func (s *Service) caller(c *call) (*user, error) {
	u := s.lookupUser(c.authid)
	if u == nil {
		return nil, errors.New("Unknown user")
	}
	return u, nil
}

// storeErr turns a store failure into what the client is told: refusals
// (svcError, argument errors) as they are, unreadable data and disk
// failures as a generic message, logged with the details.
func (s *Service) storeErr(login string, err error) error {
	var se *storageError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errStoredData):
		s.log.Error("user data unreadable", "authid", login, "error", err)
		return errStoredData
	case errors.As(err, &se):
		s.log.Error("cannot save user data", "authid", login, "error", err)
		return errors.New("cannot save user data")
	}
	return err
}

// view runs f on the caller's data in a read transaction.
func (s *Service) view(c *call, f func(u *user, tx *userTx) (any, error)) (any, error) {
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	var res any
	err = s.store.view(u.login, func(tx *userTx) error {
		var err error
		res, err = f(u, tx)
		return err
	})
	return res, s.storeErr(u.login, err)
}

// update runs f on login's data in a write transaction: nothing is stored
// when f fails, and update returns once the change is on disk.
func (s *Service) update(login string, f func(tx *userTx) (any, error)) (any, error) {
	var res any
	err := s.store.update(login, func(tx *userTx) error {
		var err error
		res, err = f(tx)
		return err
	})
	return res, s.storeErr(login, err)
}
