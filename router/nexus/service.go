package nexus

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Config configures a Service. The zero value is a Service with no users,
// no anonymous access and no persistence.
type Config struct {
	// UsersFile is the YAML users file (see the package doc). Empty means
	// no users.
	UsersFile string
	// DataDir holds per-user metadata, API keys and OTPs across restarts,
	// in DataDir/nexus.db. Empty keeps them for the Service's lifetime only.
	DataDir string
	// AllowAnonymous offers anonymous authentication, with role "public".
	AllowAnonymous bool
	// PermissiveRoles gives the built-in roles frontend and backend the
	// rule "*": "crspoq" (everything), for local development where
	// Nexus's own rules get in the way. A roles: section in the users file
	// still replaces a role's rules. Never use it where Nexus's rules
	// matter: clients that work here may be refused by Nexus.
	PermissiveRoles bool
	// AllowReadableSecrets accepts a users file that holds plaintext
	// secrets (password, wampcra_secret) although its permissions let
	// other users read it. Without it New refuses such a file.
	AllowReadableSecrets bool
	// Quotas bound what each user can store; zero fields take the
	// defaults (see Quotas). The users file's quotas: section overrides them.
	Quotas Quotas
	// Logger receives service logs; nil discards them. Secrets are never logged.
	Logger *slog.Logger
	// Throttle spaces out failed logins per authid and per client address
	// (ticket, WAMP-CRA and cryptosign logins, and auth.authenticate and
	// auth.reauthenticate); zero fields take auth's defaults (see
	// auth.ThrottleConfig). Its Logger, when nil, is Logger: failed logins
	// are logged there, summarised.
	Throttle auth.ThrottleConfig
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

// elevatedWindow is how long after a login or auth.reauthenticate a
// session may use permissions marked '+' (elevated), as Nexus's
// ELEVATED_STALE_SECONDS.
const elevatedWindow = 120 * time.Second

// cookieGrace is how long an authenticated but not yet joined session's
// cookie is kept.
const cookieGrace = 2 * time.Minute

// maxKeyGenerations bounds how many restricted sessions deep an API key or
// OTP can be minted (each generation keeps its creator's permissions).
const maxKeyGenerations = 8

// Service is a Nexus-compatible authenticator, authorizer and service set
// for one realm. It is safe for concurrent use. Close it when done.
type Service struct {
	log    *slog.Logger
	anon   bool
	db     *userDB
	quotas Quotas
	store  *store
	roster *roster
	now    func() time.Time // tests replace it before use

	// cookieMu guards cookies: what the router knows about each
	// authenticated session, keyed by authextra.cache_id.
	cookieMu sync.Mutex
	cookies  map[string]*cookie

	decoyKey [32]byte  // random per Service: keys decoy WAMP-CRA challenges and password checks
	work     loginWork // counts credential-check work (tests)
	throttle *auth.Throttle

	closeOnce sync.Once
	closeErr  error
}

// cookie records how a session authenticated, like Nexus's NexusCookie.
// Guarded by Service.cookieMu.
type cookie struct {
	login    string
	source   string
	keyUUID  string      // API key used, for sourceAPIKey
	perms    [][]keyPerm // permission lists of the key or OTP used: the session's own, then inherited ones
	restrict []restriction
	created  time.Time
	lastAuth time.Time   // login or last auth.reauthenticate, for '+' permissions
	session  protocol.ID // 0 until the session joined
}

// restriction is one permission list of a key session: the key's own
// rules (over the default restrictions), and whether the list is an
// allow-list (it named rules of its own, so URIs it does not match are
// denied).
type restriction struct {
	rules     *ruleSet
	allowList bool
}

// New loads the users file and opens the data directory. Close the
// Service to release the data directory.
func New(cfg Config) (*Service, error) {
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db, err := loadUsers(cfg.UsersFile, cfg.PermissiveRoles, cfg.AllowReadableSecrets, lg)
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.DataDir, lg)
	if err != nil {
		return nil, err
	}
	s := &Service{
		log:     lg,
		anon:    cfg.AllowAnonymous,
		db:      db,
		quotas:  cfg.Quotas.resolve(db.quotas),
		store:   st,
		roster:  newRoster(),
		now:     time.Now,
		cookies: map[string]*cookie{},
	}
	_, _ = rand.Read(s.decoyKey[:]) // crypto/rand.Read never fails on supported platforms
	tc := cfg.Throttle
	if tc.Logger == nil {
		tc.Logger = lg
	}
	s.throttle = auth.NewThrottle(tc)
	return s, nil
}

// Close releases the data directory. Requests that reach the Service
// afterwards fail. Close may be called more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.throttle.Flush()
		s.closeErr = s.store.close()
	})
	return s.closeErr
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

// restrictionFor builds the restriction of one permission list: the
// defaults, with the list's own rules replacing a default on the same
// pattern.
func restrictionFor(keyPerms []keyPerm) (restriction, error) {
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
	rs, err := newRuleSet(pairs)
	return restriction{rules: rs, allowList: len(keyPerms) > 0}, err
}

// allows reports whether the restriction grants want on uri. Elevated
// ('+') marks in key permissions are not needed: the role decides them.
func (r restriction) allows(uri string, want perms) bool {
	if rule := r.rules.lookup(uri); rule != nil {
		return rule.perms&want == want
	}
	return !r.allowList
}

// newCookie records a successful authentication and returns the identity
// for WELCOME. lists are the permission lists of the API key or OTP used
// (its own first, then the inherited ones); nil for other sources.
func (s *Service) newCookie(u *user, method, source, keyUUID string, lists [][]keyPerm) (*auth.Identity, error) {
	now := s.now()
	c := &cookie{login: u.login, source: source, keyUUID: keyUUID, created: now, lastAuth: now}
	if source == sourceAPIKey || source == sourceOTP {
		if len(lists) == 0 {
			lists = [][]keyPerm{nil}
		}
		for _, l := range lists {
			r, err := restrictionFor(l)
			if err != nil {
				s.log.Warn("login refused: key has invalid permissions", "authid", u.login, "error", err)
				return nil, errDenied()
			}
			c.restrict = append(c.restrict, r)
		}
		c.perms = lists
	}
	id := newToken(24)
	s.cookieMu.Lock()
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

// sessionCookie returns a copy of the cookie of the session with authextra
// extra, or nil.
func (s *Service) sessionCookie(extra protocol.Dict) *cookie {
	var cp *cookie
	s.touchCookie(extra, func(k *cookie) bool { c := *k; cp = &c; return true })
	return cp
}

// touchCookie runs f on the cookie of the session with authextra extra,
// under cookieMu, and returns what f returns (false without a cookie).
func (s *Service) touchCookie(extra protocol.Dict, f func(k *cookie) bool) bool {
	id := cacheID(extra)
	if id == "" {
		return false
	}
	s.cookieMu.Lock()
	defer s.cookieMu.Unlock()
	k := s.cookies[id]
	return k != nil && f(k)
}

func (s *Service) lookupUser(login string) *user {
	return s.db.users[strings.ToLower(login)]
}

// credential is what a ticket matched.
type credential struct {
	source  string      // sourcePassword, sourceAPIKey or sourceOTP
	keyUUID string      // the API key's uuid
	lists   [][]keyPerm // the key's or OTP's permission lists
}

// checkTicket authenticates login with a ticket (see verifyTicket) and
// records the session's cookie.
func (s *Service) checkTicket(_ context.Context, login, ticket string) (*auth.Identity, error) {
	u, cred, err := s.verifyTicket(login, ticket)
	if err != nil {
		return nil, err
	}
	return s.newCookie(u, "ticket", cred.source, cred.keyUUID, cred.lists)
}

// maxLoginSalt bounds the salt of the key digest an unknown login costs:
// a stranger's megabyte authid costs no more than a long login.
const maxLoginSalt = 256

// verifyTicket checks a ticket for login: the user's password, then an
// unused unexpired OTP (consumed, expired or not), then an unexpired API
// key. Every failure is errDenied. Until it succeeds it does the same work
// whoever login is (known, unknown or disabled): one password check (see
// checkPassword), one key digest and one read of the user's keys.
func (s *Service) verifyTicket(login, ticket string) (*user, credential, error) {
	login = strings.ToLower(login)
	u := s.db.users[login]
	if login == "" || ticket == "" || u != nil && u.disabled {
		u = nil
	}
	if s.checkPassword(u, ticket) {
		return u, credential{source: sourcePassword}, nil
	}
	salt := login
	if u == nil && len(salt) > maxLoginSalt {
		salt = salt[:maxLoginSalt]
	}
	digest := keyDigest(salt, ticket)
	s.work.pbkdf2Rounds.Add(int64(keyDigestRounds))
	now := s.now()

	// An OTP is consumed in a write transaction, so that two logins racing
	// with one OTP cannot both succeed.
	var (
		otp     *otpRecord
		key     *apiKeyRecord
		matched bool
	)
	s.work.storeReads.Add(1)
	err := s.store.view(salt, func(tx *userTx) error {
		otps, err := records[otpRecord](tx, subOTPs)
		if err != nil {
			return err
		}
		for _, o := range otps {
			if equalSecret(o.Key, digest) {
				matched = true
				return nil
			}
		}
		keys, err := records[apiKeyRecord](tx, subAPIKeys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if equalSecret(k.Key, digest) {
				key = k
				return nil
			}
		}
		return nil
	})
	if u == nil || digest == "" {
		return nil, credential{}, errDenied()
	}
	if err == nil && matched {
		err = s.store.update(login, func(tx *userTx) error {
			otps, err := records[otpRecord](tx, subOTPs)
			if err != nil {
				return err
			}
			for _, o := range otps {
				if equalSecret(o.Key, digest) {
					otp = o
					_, err := tx.deleteRecord(subOTPs, o.UUID)
					return err
				}
			}
			return nil
		})
	}
	switch {
	case err != nil:
		s.log.Error("login refused: user data", "authid", logsafe.String(login), "error", err)
		return nil, credential{}, errDenied()
	case otp != nil:
		if otpExpired(otp, now) {
			s.log.Info("login refused: OTP expired", "authid", logsafe.String(login))
			return nil, credential{}, errDenied()
		}
		return u, credential{source: sourceOTP, lists: append([][]keyPerm{otp.Permissions}, otp.Inherited...)}, nil
	case key != nil:
		if keyExpired(key, now) {
			s.log.Info("login refused: API key expired", "authid", logsafe.String(login))
			return nil, credential{}, errDenied()
		}
		return u, credential{source: sourceAPIKey, keyUUID: key.UUID, lists: append([][]keyPerm{key.Permissions}, key.Inherited...)}, nil
	}
	return nil, credential{}, errDenied()
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
// rules (trust bypasses them; a '+' permission needs a login or
// auth.reauthenticate within elevatedWindow), then, for sessions this
// service authenticated, the cookie: a still-valid API key and the key
// restrictions.
func (s *Service) allowed(role string, extra protocol.Dict, action, uri string) bool {
	want, ok := actionPerm(action)
	if !ok {
		return false
	}
	return s.permitted(role, extra, uri, want, true)
}

// permitted reports whether a session of role with authextra extra holds
// want on uri. keys says whether the API key or OTP restrictions apply
// (they do for actions, not for the roster letters o and q).
func (s *Service) permitted(role string, extra protocol.Dict, uri string, want perms, keys bool) bool {
	return s.grantFor(role, extra, keys).allows(uri, want)
}

// grant is what a session holds, resolved once for any number of URIs:
// its role's rules and what its cookie says. Only allows depends on the
// URI.
type grant struct {
	bypass      bool     // trust and trusted skip role rules
	rules       *ruleSet // the role's rules
	public      bool     // role public: its rules alone decide, but for elevation
	foreign     bool     // not authenticated by this service (no cache_id)
	restricted  bool     // foreign session claiming key restrictions
	noCookie    bool     // authenticated here, but the cookie is gone
	recent      bool     // within elevatedWindow of login or reauthenticate
	keys        bool     // API key / OTP restrictions apply
	keyRevoked  bool     // the session's API key was deleted or expired
	restriction []restriction
}

func (s *Service) grantFor(role string, extra protocol.Dict, keys bool) *grant {
	g := &grant{bypass: bypassRole(role), rules: s.db.roles[role], public: role == RolePublic, keys: keys}
	if cacheID(extra) == "" {
		g.foreign = true
		g.restricted, _ = extra["has_restrictions"].(bool)
		return g
	}
	c := s.sessionCookie(extra)
	if c == nil {
		g.noCookie = true
		return g
	}
	g.recent = s.now().Sub(c.lastAuth) <= elevatedWindow
	if keys {
		g.keyRevoked = c.source == sourceAPIKey && !s.apiKeyValid(c.login, c.keyUUID)
		g.restriction = c.restrict
	}
	return g
}

// allows decides one URI like Nexus's Controller.authorize: the role's
// rules (trust bypasses them; a '+' permission needs a login or
// auth.reauthenticate within elevatedWindow), then, for sessions this
// service authenticated, the cookie: a still-valid API key and the key
// restrictions.
func (g *grant) allows(uri string, want perms) bool {
	elevated := false
	if !g.bypass {
		r := g.rules.lookup(uri)
		if r == nil || r.perms&want != want {
			return false
		}
		elevated = r.elevated&want != 0
		if g.public && !elevated {
			return true
		}
	}
	switch {
	case g.foreign:
		// Not one of ours (anonymous, or authenticated elsewhere): role
		// only, and no elevation.
		return !g.restricted && !elevated
	case g.noCookie, elevated && !g.recent:
		return false
	case !g.keys:
		return true
	case g.keyRevoked:
		return false
	}
	for _, r := range g.restriction {
		if !r.allows(uri, want) {
			return false
		}
	}
	return true
}

// ruleSets returns the rule sets whose answers allows combines: the
// pattern analysis needs their literals.
func (g *grant) ruleSets() []*ruleSet {
	var out []*ruleSet
	if !g.bypass && g.rules != nil {
		out = append(out, g.rules)
	}
	if g.keys {
		for _, r := range g.restriction {
			out = append(out, r.rules)
		}
	}
	return out
}

// patternScope is how much of a WAMP pattern a grant allows.
type patternScope int

const (
	scopeNone  patternScope = iota // no URI the pattern matches
	scopeSome                      // some, or not provably all or none
	scopeWhole                     // every URI the pattern matches
)

// scope decides a pattern registration or subscription: it evaluates
// allows on one representative of each class of URIs the pattern matches
// that the rules cannot tell apart. When the classes cannot be enumerated
// (a /regex/ segment over a free component, or too many classes) the
// answer is scopeSome, and the router then checks each URI it delivers.
func (g *grant) scope(pattern, match string, want perms) patternScope {
	uris, complete := representatives(shapeOf(pattern, match), g.ruleSets(), maxRepresentatives)
	allowed, refused := 0, 0
	for _, u := range uris {
		if g.allows(u, want) {
			allowed++
		} else {
			refused++
		}
	}
	switch {
	case complete && refused == 0:
		return scopeWhole
	case complete && allowed == 0:
		return scopeNone
	}
	return scopeSome
}

// apiKeyValid reports whether the API key still exists and has not expired.
func (s *Service) apiKeyValid(login, uuid string) bool {
	valid := false
	_ = s.store.view(login, func(tx *userTx) error {
		k, err := getRecord[apiKeyRecord](tx, subAPIKeys, uuid)
		valid = k != nil && !keyExpired(k, s.now())
		return err
	})
	return valid
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
