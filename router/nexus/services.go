package nexus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/goccy/go-yaml"
	bolt "go.etcd.io/bbolt"

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

func (s *Service) metadataSet(c *call) (any, error) {
	p, err := c.params(2, "key", "value", "yaml")
	if err != nil {
		return nil, err
	}
	key, err := asString(c, p[0], "key")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[2], "yaml")
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	q := s.quotas
	if key == "" {
		return nil, errors.New("key must not be empty")
	}
	keyLimit := q.MetadataKeyBytes
	if keyLimit < 0 {
		keyLimit = bolt.MaxKeySize // the store's own limit
	}
	if err := overQuota("metadata key", "metadata_key_bytes", len(key), keyLimit); err != nil {
		return nil, err
	}
	value := p[1]
	if asYAML {
		src, err := asString(c, value, "value")
		if err != nil {
			return nil, err
		}
		if err := overQuota("metadata value", "metadata_value_bytes", len(src), q.MetadataValueBytes); err != nil {
			return nil, err
		}
		if value, err = yamlLoad(src); err != nil {
			return nil, err
		}
	}
	if err := sizeWithin("metadata value", "metadata_value_bytes", value, q.MetadataValueBytes); err != nil {
		return nil, err
	}
	enc, err := encodeValue(value)
	if err != nil {
		return nil, err
	}
	if err := overQuota("metadata value", "metadata_value_bytes", len(enc), q.MetadataValueBytes); err != nil {
		return nil, err
	}
	var out any = value
	if asYAML {
		if out, err = yamlDump(value); err != nil {
			return nil, err
		}
	}
	_, err = s.update(u.login, func(tx *userTx) (any, error) {
		n, size := tx.metaUsage(key)
		if err := overCount("metadata keys", "metadata_keys", n, q.MetadataKeys); err != nil {
			return nil, err
		}
		if err := overQuota("all metadata values with this one", "metadata_bytes_per_user", size+len(enc), q.MetadataBytesPerUser); err != nil {
			return nil, err
		}
		now := isoTime(s.now())
		m, _, err := tx.meta(key)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = &metaRecord{UUID: newUUID(), Owner: u.uuid, Created: now}
		}
		m.Modified = now
		return nil, tx.putMeta(key, m, enc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) metadataGet(c *call) (any, error) {
	p, err := c.params(1, "key", "yaml")
	if err != nil {
		return nil, err
	}
	key, err := asString(c, p[0], "key")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[1], "yaml")
	if err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		m, enc, err := tx.meta(key)
		if err != nil || m == nil {
			return nil, err
		}
		v, err := decodeValue(enc)
		if err != nil {
			return nil, err
		}
		if asYAML {
			return yamlDump(v)
		}
		return v, nil
	})
}

func (s *Service) metadataList(c *call) (any, error) {
	p, err := c.params(0, "yaml")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[0], "yaml")
	if err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		out := protocol.Dict{}
		err := tx.eachMeta(func(k string, m *metaRecord, enc []byte) error {
			v, err := decodeValue(enc)
			if err != nil {
				return err
			}
			if asYAML {
				if v, err = yamlDump(v); err != nil {
					return err
				}
			}
			out[k] = protocol.Dict{"value": v, "uuid": m.UUID, "owner": m.Owner, "created": m.Created, "modified": m.Modified}
			return nil
		})
		return out, err
	})
}

func (s *Service) metadataDelete(c *call) (any, error) {
	key, err := c.stringParam("key")
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		_, err := tx.deleteMeta(key)
		return nil, err
	})
}

// parseKeyPerms reads the permissions list of an API key or OTP request.
func (s *Service) parseKeyPerms(v any) ([]keyPerm, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.(protocol.List)
	if !ok {
		return nil, errors.New("permissions must be a list of {uri, perms}")
	}
	if err := over("permissions", "key_permissions", len(l), s.quotas.KeyPermissions, "rules"); err != nil {
		return nil, err
	}
	out := make([]keyPerm, 0, len(l))
	pairs := make([][2]string, 0, len(l))
	for i, x := range l {
		d, ok := x.(protocol.Dict)
		if !ok {
			return nil, fmt.Errorf("permissions[%d] must be a dict with uri and perms", i)
		}
		uri, ok1 := d["uri"].(string)
		ps, ok2 := d["perms"].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("permissions[%d] needs string uri and perms", i)
		}
		if len(uri) > maxPatternBytes || len(ps) > maxPatternBytes {
			return nil, fmt.Errorf("permissions[%d]: uri and perms are limited to %d bytes", i, maxPatternBytes)
		}
		for k := range d {
			if k != "uri" && k != "perms" && k != "uuid" {
				return nil, fmt.Errorf("permissions[%d]: unknown field %.64q", i, k)
			}
		}
		out = append(out, keyPerm{URI: uri, Perms: ps, UUID: newUUID()})
		pairs = append(pairs, [2]string{uri, ps})
	}
	if _, err := newRuleSet(pairs); err != nil {
		return nil, fmt.Errorf("permissions: %w", err)
	}
	return out, nil
}

// maxPatternBytes bounds one URI pattern of an API key's or OTP's permissions.
const maxPatternBytes = 256

// inheritedLists returns the permission lists a key or OTP created by the
// session of c inherits: those of the API key or OTP the session logged
// in with (none for a password login), so the new key is never broader
// than its creator.
func (s *Service) inheritedLists(c *call) ([][]keyPerm, error) {
	k := s.sessionCookie(c.extra)
	if k == nil || len(k.perms) == 0 {
		return nil, nil
	}
	if len(k.perms) >= maxKeyGenerations {
		return nil, fmt.Errorf("keys can be minted at most %d sessions deep", maxKeyGenerations)
	}
	return k.perms, nil
}

// checkRuleCount applies the key_permissions quota to a new key's or
// OTP's own rules and those it inherits.
func (s *Service) checkRuleCount(own []keyPerm, inherited [][]keyPerm) error {
	n := len(own)
	for _, l := range inherited {
		n += len(l)
	}
	return over("permissions, inherited ones included,", "key_permissions", n, s.quotas.KeyPermissions, "rules")
}

func permsList(ps []keyPerm) protocol.List {
	out := make(protocol.List, 0, len(ps))
	for _, p := range ps {
		out = append(out, protocol.Dict{"uri": p.URI, "perms": p.Perms, "uuid": p.UUID})
	}
	return out
}

// dict is an API key as list returns it: plaintext_key is None, as the
// key itself is not stored.
func (k *apiKeyRecord) dict() protocol.Dict { return k.dictWith(nil) }

func (k *apiKeyRecord) dictWith(plaintext any) protocol.Dict {
	var exp any
	if k.Expires != nil {
		exp = *k.Expires
	}
	d := protocol.Dict{
		"uuid": k.UUID, "owner": k.Owner, "key": k.Key, "plaintext_key": plaintext,
		"description": k.Description, "expires": exp, "permissions": permsList(k.Permissions),
	}
	if len(k.Inherited) > 0 {
		d["inherited_permissions"] = inheritedList(k.Inherited)
	}
	return d
}

func inheritedList(lists [][]keyPerm) protocol.List {
	out := make(protocol.List, 0, len(lists))
	for _, l := range lists {
		out = append(out, permsList(l))
	}
	return out
}

func (o *otpRecord) dict(plaintext any) protocol.Dict {
	d := protocol.Dict{
		"uuid": o.UUID, "origin": o.Origin, "expires": o.Expires, "permissions": permsList(o.Permissions),
		"key": o.Key, "owner": o.Owner, "login": o.Login, "plaintext_key": plaintext,
	}
	if len(o.Inherited) > 0 {
		d["inherited_permissions"] = inheritedList(o.Inherited)
	}
	return d
}

// validUUID reports whether id has the form of a record uuid, as Nexus's
// validate_uid_b64: 22 characters of URL-safe base64 (or '+').
func validUUID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+') {
			return false
		}
	}
	return true
}

// deleteOwn deletes the caller's record of kind with the uuid_b64
// argument and returns true, whether or not there was one; another user's
// record is permissiondenied, a malformed uuid an error.
func (s *Service) deleteOwn(c *call, kind []byte) (any, error) {
	id, err := c.stringParam("uuid_b64")
	if err != nil {
		return nil, err
	}
	if !validUUID(id) {
		return nil, errors.New("uuid_b64 must be 22 characters of URL-safe base64")
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		_, err := tx.deleteRecord(kind, id)
		if errors.Is(err, errNotOwner) {
			s.log.Info("refused to delete another user's record", "authid", u.login, "kind", string(kind))
			return nil, permissionDenied()
		}
		return true, err
	})
}

// dataRec returns the optional data_rec dict argument of a create service
// (nil when absent); first are the parameters before it.
func dataRec(c *call, first ...string) ([]any, protocol.Dict, error) {
	p, err := c.params(len(first), append(first, "data_rec")...)
	if err != nil {
		return nil, nil, err
	}
	last := p[len(first)]
	if last == nil {
		return p[:len(first)], nil, nil
	}
	d, ok := last.(protocol.Dict)
	if !ok {
		return nil, nil, errors.New("data_rec must be a dict")
	}
	return p[:len(first)], d, nil
}

func (s *Service) apikeysCreate(c *call) (any, error) {
	_, d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	rec := &apiKeyRecord{Permissions: []keyPerm{}}
	for k, v := range d {
		switch k {
		case "description":
			if v == nil {
				continue
			}
			var ok bool
			if rec.Description, ok = v.(string); !ok {
				return nil, errors.New("description must be a string")
			}
			if err := overQuota("description", "key_description_bytes", len(rec.Description), s.quotas.KeyDescriptionBytes); err != nil {
				return nil, err
			}
		case "expires":
			if v == nil {
				continue
			}
			str, ok := v.(string)
			if !ok {
				return nil, errors.New("expires must be an ISO 8601 string or None")
			}
			if len(str) > 64 {
				return nil, errors.New("expires is not an ISO 8601 timestamp")
			}
			if _, err := parseISOTime(str); err != nil {
				return nil, err
			}
			rec.Expires = &str
		case "permissions":
			ps, err := s.parseKeyPerms(v)
			if err != nil {
				return nil, err
			}
			if ps != nil {
				rec.Permissions = ps
			}
		default:
			return nil, fmt.Errorf("unknown API key field %.64q", k)
		}
	}
	if rec.Inherited, err = s.inheritedLists(c); err != nil {
		return nil, err
	}
	if err := s.checkRuleCount(rec.Permissions, rec.Inherited); err != nil {
		return nil, err
	}
	plain := newToken(24)
	rec.UUID, rec.Owner, rec.Key = newUUID(), u.uuid, keyDigest(u.login, plain)
	return s.update(u.login, func(tx *userTx) (any, error) {
		if err := overCount("API keys", "api_keys", tx.countRecords(subAPIKeys), s.quotas.APIKeys); err != nil {
			return nil, err
		}
		return rec.dictWith(plain), tx.addRecord(subAPIKeys, rec.UUID, rec)
	})
}

func (s *Service) apikeysList(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		keys, err := records[apiKeyRecord](tx, subAPIKeys)
		out := make(protocol.List, 0, len(keys))
		for _, k := range keys {
			out = append(out, k.dict())
		}
		return out, err
	})
}

func (s *Service) apikeysDelete(c *call) (any, error) { return s.deleteOwn(c, subAPIKeys) }

// pruneOTPs deletes login's expired OTPs.
func (s *Service) pruneOTPs(tx *userTx) error {
	otps, err := records[otpRecord](tx, subOTPs)
	if err != nil {
		return err
	}
	now := s.now()
	for _, o := range otps {
		if otpExpired(o, now) {
			if _, err := tx.deleteRecord(subOTPs, o.UUID); err != nil {
				return err
			}
		}
	}
	return nil
}

// newOTP creates an OTP for user u with the permissions of data_rec d, on
// behalf of the session of c; origin says where it comes from.
func (s *Service) newOTP(c *call, u *user, d protocol.Dict, origin string) (any, error) {
	var ps []keyPerm
	for k, v := range d {
		if k != "permissions" {
			return nil, fmt.Errorf("unknown OTP field %.64q", k)
		}
		var err error
		if ps, err = s.parseKeyPerms(v); err != nil {
			return nil, err
		}
	}
	if ps == nil {
		ps = []keyPerm{}
	}
	inherited, err := s.inheritedLists(c)
	if err != nil {
		return nil, err
	}
	if err := s.checkRuleCount(ps, inherited); err != nil {
		return nil, err
	}
	plain := newToken(24)
	o := &otpRecord{
		UUID: newUUID(), Origin: origin, Expires: isoTime(s.now().Add(otpLifetime)),
		Permissions: ps, Key: keyDigest(u.login, plain), Owner: u.uuid, Login: u.login, Inherited: inherited,
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		if err := s.pruneOTPs(tx); err != nil {
			return nil, err
		}
		if err := overCount("unexpired OTPs", "otps", tx.countRecords(subOTPs), s.quotas.OTPs); err != nil {
			return nil, err
		}
		return o.dict(plain), tx.addRecord(subOTPs, o.UUID, o)
	})
}

func (s *Service) otpCreate(c *call) (any, error) {
	_, d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.newOTP(c, u, d, u.login+"@"+c.peerHost())
}

// listOTPs returns login's unexpired OTPs, without their keys' plaintext.
func (s *Service) listOTPs(login string) (any, error) {
	var out protocol.List
	expired := false
	err := s.store.view(login, func(tx *userTx) error {
		otps, err := records[otpRecord](tx, subOTPs)
		now := s.now()
		out = make(protocol.List, 0, len(otps))
		for _, o := range otps {
			if otpExpired(o, now) {
				expired = true
				continue
			}
			out = append(out, o.dict(nil))
		}
		return err
	})
	if err == nil && expired {
		err = s.store.update(login, s.pruneOTPs)
	}
	if err != nil {
		return nil, s.storeErr(login, err)
	}
	return out, nil
}

func (s *Service) otpList(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.listOTPs(u.login)
}

func (s *Service) otpDelete(c *call) (any, error) { return s.deleteOwn(c, subOTPs) }

// trusted refuses system.otp.* to sessions whose role does not bypass
// role rules (trust, trusted): Nexus leaves that to its role rules alone,
// which let its default backend role mint OTPs for any user.
func trusted(c *call) error {
	if !bypassRole(c.role) {
		return permissionDenied()
	}
	return nil
}

// targetUser reads the login argument of a system.otp service.
func (s *Service) targetUser(c *call, v any) (*user, error) {
	login, err := asString(c, v, "login")
	if err != nil {
		return nil, err
	}
	u := s.lookupUser(login)
	if u == nil {
		return nil, errors.New("Unknown user")
	}
	return u, nil
}

// systemOTPCreate is system.otp.create(login, data_rec=None): a trusted
// session mints an OTP for another user.
func (s *Service) systemOTPCreate(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	p, d, err := dataRec(c, "login")
	if err != nil {
		return nil, err
	}
	u, err := s.targetUser(c, p[0])
	if err != nil {
		return nil, err
	}
	return s.newOTP(c, u, d, fmt.Sprintf("%s@%s created token for %s", c.authid, c.peerHost(), u.login))
}

// systemOTPList is system.otp.list(login): another user's OTPs.
func (s *Service) systemOTPList(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	p, err := c.params(1, "login")
	if err != nil {
		return nil, err
	}
	u, err := s.targetUser(c, p[0])
	if err != nil {
		return nil, err
	}
	return s.listOTPs(u.login)
}

// systemOTPDelete is system.otp.delete(uuid_b64): it deletes any user's
// OTP and returns true, whether or not there was one.
func (s *Service) systemOTPDelete(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	id, err := c.stringParam("uuid_b64")
	if err != nil {
		return nil, err
	}
	if !validUUID(id) {
		return nil, errors.New("uuid_b64 must be 22 characters of URL-safe base64")
	}
	var owner string
	if err := s.store.view("", func(tx *userTx) error { owner = tx.recordOwner(id); return nil }); err != nil {
		return nil, s.storeErr("", err)
	}
	if owner == "" {
		return true, nil
	}
	return s.update(owner, func(tx *userTx) (any, error) {
		_, err := tx.deleteRecord(subOTPs, id)
		return true, err
	})
}

// yamlLoad parses a YAML document into payload types.
func yamlLoad(src string) (v any, err error) {
	// The YAML input comes from clients: a parser panic must not reach
	// the router.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, errors.New("value is not valid YAML")
		}
	}()
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, fmt.Errorf("value is not valid YAML: %s", ye.FormatError(false, false))
		}
		return nil, errors.New("value is not valid YAML")
	}
	return normalize(v), nil
}

// yamlDump renders a value as a YAML document.
func yamlDump(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("value cannot be written as YAML: %w", err)
	}
	return string(b), nil
}

// normalize converts decoded YAML values to the payload types of package
// protocol (nil, bool, int64, uint64, float64, string, []byte, List, Dict).
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, []byte:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normUint(x)
	case float32:
		return float64(x)
	case []any:
		out := make(protocol.List, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	case map[string]any:
		out := make(protocol.Dict, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(protocol.Dict, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

func normUint(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}
