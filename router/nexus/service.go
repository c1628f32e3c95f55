package nexus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Config configures a Service. The zero value is a Service with no users,
// no anonymous access and no persistence.
type Config struct {
	// UsersFile is the YAML users file (see the package doc). Empty means
	// no users.
	UsersFile string
	// DataDir holds per-user metadata, API keys and OTPs across restarts
	// (in DataDir/users/). Empty keeps them in memory only.
	DataDir string
	// AllowAnonymous offers anonymous authentication, with role "public".
	AllowAnonymous bool
	// Logger receives service logs; nil discards them. Secrets are never logged.
	Logger *slog.Logger
}

// AuthProvider is the WELCOME authprovider of sessions this package authenticates.
const AuthProvider = "nexus"

// How a session authenticated (the cookie's auth source).
const (
	sourcePassword   = "password"
	sourceAPIKey     = "apikey"
	sourceOTP        = "otp"
	sourceWAMPCRA    = "wampcra"
	sourceCryptosign = "cryptosign"
)

// otpLifetime is how long an OTP can be used, as in Nexus.
const otpLifetime = 10 * time.Minute

// cookieGrace is how long an authenticated but not yet joined session's
// cookie is kept.
const cookieGrace = 2 * time.Minute

// Limits on what one user can store.
const (
	maxAPIKeys  = 1000
	maxOTPs     = 1000
	maxMetadata = 10000
)

// Service is a Nexus-compatible authenticator, authorizer and service set
// for one realm. It is safe for concurrent use.
type Service struct {
	log    *slog.Logger
	anon   bool
	db     *userDB
	store  *store
	roster *roster
	now    func() time.Time // tests replace it before use

	// cookieMu guards cookies: what the router knows about each
	// authenticated session, keyed by authextra.cache_id.
	cookieMu sync.Mutex
	cookies  map[string]*cookie
}

// cookie records how a session authenticated, like Nexus's NexusCookie.
type cookie struct {
	login     string
	source    string
	keyUUID   string   // API key used, for sourceAPIKey
	restrict  *ruleSet // restrictions of API key and OTP sessions, or nil
	allowList bool     // the key listed its own permissions: unmatched URIs are denied
	created   time.Time
	session   protocol.ID // 0 until the session joined
}

// New loads the users file and opens the data directory.
func New(cfg Config) (*Service, error) {
	db, err := loadUsers(cfg.UsersFile)
	if err != nil {
		return nil, err
	}
	st, err := newStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{
		log:     lg,
		anon:    cfg.AllowAnonymous,
		db:      db,
		store:   st,
		roster:  newRoster(),
		now:     time.Now,
		cookies: map[string]*cookie{},
	}, nil
}

// errDenied is the refusal of every bad login, whatever the cause, so a
// client cannot tell an unknown user from a wrong password.
func errDenied() error {
	return &auth.Denied{Reason: "com.izaber.wamp.error.permissiondenied", Message: "Permission Denied"}
}

// defaultRestrictions are the rules every API key and OTP session gets, as
// Nexus's nexus.apikey.permissions / nexus.otp.permissions: no access to
// key and OTP management, trusted OTP minting or the ORM, under both the
// bare and the prefixed URIs.
var defaultRestrictions = func() [][2]string {
	var out [][2]string
	for _, u := range []string{"my.apikeys.*", "my.apikey.*", "my.otp.*", "my.otps.*", "system.otp.*", "system.db.*"} {
		out = append(out, [2]string{u, ""}, [2]string{prefix + u, ""})
	}
	return out
}()

// restrictionsFor builds the rule set of a key session: the defaults, with
// the key's own rules replacing a default on the same pattern.
func restrictionsFor(keyPerms []keyPerm) (*ruleSet, error) {
	own := map[string]bool{}
	var pairs [][2]string
	for _, p := range keyPerms {
		own[p.URI] = true
		pairs = append(pairs, [2]string{p.URI, p.Perms})
	}
	for _, d := range defaultRestrictions {
		if !own[d[0]] {
			pairs = append(pairs, d)
		}
	}
	return newRuleSet(pairs)
}

// newCookie records a successful authentication and returns the identity
// for WELCOME.
func (s *Service) newCookie(u *user, method, source, keyUUID string, keyPerms []keyPerm) (*auth.Identity, error) {
	c := &cookie{login: u.login, source: source, keyUUID: keyUUID, created: s.now()}
	if source == sourceAPIKey || source == sourceOTP {
		rs, err := restrictionsFor(keyPerms)
		if err != nil {
			s.log.Warn("login refused: key has invalid permissions", "authid", u.login, "error", err)
			return nil, errDenied()
		}
		c.restrict, c.allowList = rs, len(keyPerms) > 0
	}
	id := newToken(24)
	s.cookieMu.Lock()
	now := s.now()
	for k, old := range s.cookies {
		if old.session == 0 && now.Sub(old.created) > cookieGrace {
			delete(s.cookies, k)
		}
	}
	s.cookies[id] = c
	s.cookieMu.Unlock()
	return &auth.Identity{
		AuthID:       u.login,
		AuthRole:     u.role,
		AuthMethod:   method,
		AuthProvider: AuthProvider,
		AuthExtra:    protocol.Dict{"cache_id": id, "has_restrictions": c.restrict != nil},
	}, nil
}

func cacheID(extra protocol.Dict) string {
	id, _ := extra["cache_id"].(string)
	return id
}

// joined binds a cookie to its session.
func (s *Service) joined(session protocol.ID, extra protocol.Dict) {
	s.cookieMu.Lock()
	if c := s.cookies[cacheID(extra)]; c != nil {
		c.session = session
	}
	s.cookieMu.Unlock()
}

// left forgets a session: its cookie and its roster entries.
func (s *Service) left(session protocol.ID, extra protocol.Dict) {
	s.roster.dropSession(session)
	s.cookieMu.Lock()
	if id := cacheID(extra); id != "" {
		if c := s.cookies[id]; c != nil && (c.session == session || c.session == 0) {
			delete(s.cookies, id)
		}
	}
	s.cookieMu.Unlock()
}

func (s *Service) lookupUser(login string) *user {
	return s.db.users[strings.ToLower(login)]
}

// checkTicket authenticates login with a ticket: the user's password, then
// an unused unexpired OTP (consumed), then an unexpired API key.
func (s *Service) checkTicket(_ context.Context, login, ticket string) (*auth.Identity, error) {
	login = strings.ToLower(login)
	u := s.db.users[login]
	if login == "" || ticket == "" || u == nil || u.disabled {
		if ticket != "" {
			// Spend what a key lookup costs, so response time does not
			// tell unknown logins from known ones.
			_ = keyDigest(login, ticket)
		}
		s.log.Info("login refused", "authid", login, "method", "ticket")
		return nil, errDenied()
	}
	if u.checkPassword(ticket) {
		return s.newCookie(u, "ticket", sourcePassword, "", nil)
	}
	digest := keyDigest(login, ticket)
	if digest == "" {
		return nil, errDenied()
	}
	now := s.now()

	s.store.mu.Lock()
	d, err := s.store.get(login)
	if err != nil {
		s.store.mu.Unlock()
		s.log.Error("login refused: user data unreadable", "authid", login, "error", err)
		return nil, errDenied()
	}
	for i, o := range d.OTPs {
		if !equalSecret(o.Key, digest) {
			continue
		}
		// Single use: expired or not, the OTP is gone after this attempt.
		d.OTPs = append(d.OTPs[:i:i], d.OTPs[i+1:]...)
		serr := s.store.save(login)
		s.store.mu.Unlock()
		if serr != nil {
			s.log.Error("login refused: cannot consume OTP", "authid", login, "error", serr)
			return nil, errDenied()
		}
		if otpExpired(o, now) {
			s.log.Info("login refused: OTP expired", "authid", login)
			return nil, errDenied()
		}
		return s.newCookie(u, "ticket", sourceOTP, "", o.Permissions)
	}
	for _, k := range d.APIKeys {
		if !equalSecret(k.Key, digest) {
			continue
		}
		expired := keyExpired(k, now)
		uuid, perms := k.UUID, append([]keyPerm(nil), k.Permissions...)
		s.store.mu.Unlock()
		if expired {
			s.log.Info("login refused: API key expired", "authid", login)
			return nil, errDenied()
		}
		return s.newCookie(u, "ticket", sourceAPIKey, uuid, perms)
	}
	s.store.mu.Unlock()
	s.log.Info("login refused", "authid", login, "method", "ticket")
	return nil, errDenied()
}

func otpExpired(o *otpRecord, now time.Time) bool {
	t, err := parseISOTime(o.Expires)
	return err != nil || !now.Before(t)
}

func keyExpired(k *apiKeyRecord, now time.Time) bool {
	if k.Expires == nil || *k.Expires == "" {
		return false
	}
	t, err := parseISOTime(*k.Expires)
	return err != nil || !now.Before(t)
}

// actionPerm maps a router action name to its permission letter.
func actionPerm(action string) (perms, bool) {
	switch action {
	case "call":
		return permCall, true
	case "register":
		return permRegister, true
	case "subscribe":
		return permSubscribe, true
	case "publish":
		return permPublish, true
	}
	return 0, false
}

// allowed decides an action like Nexus's Controller.authorize: the role's
// rules (trust bypasses them), then, for sessions this service
// authenticated, the cookie: a still-valid API key and the key restrictions.
func (s *Service) allowed(role string, extra protocol.Dict, action, uri string) bool {
	want, ok := actionPerm(action)
	if !ok {
		return false
	}
	if !bypassRole(role) {
		if !s.db.roles[role].allows(uri, want) {
			return false
		}
		if role == RolePublic {
			return true
		}
	}
	id := cacheID(extra)
	if id == "" {
		// Not one of ours (anonymous, or authenticated elsewhere): role only.
		has, _ := extra["has_restrictions"].(bool)
		return !has
	}
	s.cookieMu.Lock()
	c := s.cookies[id]
	var (
		source, login, keyUUID string
		restrict               *ruleSet
		allowList              bool
	)
	if c != nil {
		source, login, keyUUID, restrict, allowList = c.source, c.login, c.keyUUID, c.restrict, c.allowList
	}
	s.cookieMu.Unlock()
	if c == nil {
		return false
	}
	if source == sourceAPIKey && !s.apiKeyValid(login, keyUUID) {
		return false
	}
	if restrict != nil {
		if r := restrict.lookup(uri); r != nil {
			return r.perms&want == want
		}
		return !allowList
	}
	return true
}

// apiKeyValid reports whether the API key still exists and has not expired.
func (s *Service) apiKeyValid(login, uuid string) bool {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	d, err := s.store.get(login)
	if err != nil {
		return false
	}
	for _, k := range d.APIKeys {
		if k.UUID == uuid {
			return !keyExpired(k, s.now())
		}
	}
	return false
}

// deniedMessage is the crossbar wording of an authorization failure.
func deniedMessage(id protocol.ID, authid, role, realm, action, uri string) string {
	who := fmt.Sprintf("session (session_id=%d, authid=%q, authrole=%q)", id, authid, role)
	switch action {
	case "publish":
		return fmt.Sprintf("session not authorized to publish to topic '%s'", uri)
	case "subscribe":
		return fmt.Sprintf("%s is not authorized to subscribe to topic %q on realm %q", who, uri, realm)
	case "register":
		return fmt.Sprintf("%s is not authorized to register procedure %q on realm %q", who, uri, realm)
	default:
		return fmt.Sprintf("%s is not authorized to call procedure %q on realm %q", who, uri, realm)
	}
}
