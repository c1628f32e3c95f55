package nexus_test

// Multi-session tests of issue 12's "Nexus as it really is" and issue 13's
// store items, through real sockets (WebSocket on loopback and RawSocket on
// a Unix socket). They use only the package's public API.

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

const wireUsers = `
users:
  - {login: alice, password: alice-pw, role: frontend}
  - {login: bob, password: bob-pw, role: backend}
  - {login: carol, password: carol-pw, role: trust}
`

// sockRig is a router with a nexus.Service served on real sockets.
type sockRig struct {
	t    *testing.T
	r    *router.Router
	svc  *nexus.Service
	dir  string // holds users.yaml and data/
	ws   string // ws://127.0.0.1:<port>/ws
	unix string // unix:///<path>
	ctx  context.Context
}

func newSockRig(t *testing.T, users string, configure ...func(*nexus.Config)) *sockRig {
	t.Helper()
	leaktest.Guard(t) // nothing may outlive the router, its listeners and sessions
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(usersFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := nexus.Config{UsersFile: usersFile, DataDir: filepath.Join(dir, "data"), AllowAnonymous: true}
	for _, f := range configure {
		f(&cfg)
	}
	svc, err := nexus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(router.Config{Logger: cfg.Logger, Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(), Disclose: true,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	// Unix socket paths are short: not under t.TempDir().
	sockDir, err := os.MkdirTemp("", "nx")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sockDir, "r.sock")
	lctx, lcancel := context.WithCancel(context.Background())
	rl, err := r.ListenRawSocket(lctx, "unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeRawSocket(rl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		r.Close(cctx)
		srv.Shutdown(cctx)
		lcancel()
		cancel()
		if c, ok := any(svc).(interface{ Close() error }); ok {
			c.Close()
		}
		os.RemoveAll(sockDir)
	})
	return &sockRig{t: t, r: r, svc: svc, dir: dir, ws: "ws://" + ln.Addr().String() + "/ws", unix: "unix://" + sock, ctx: ctx}
}

// dial joins realm izaber at url; ticket "" means anonymous.
func (sr *sockRig) dial(url, authid, ticket string) (*session.Session, error) {
	p, err := transport.Dial(sr.ctx, url, transport.DialOptions{})
	if err != nil {
		return nil, err
	}
	return joinIzaber(sr.ctx, sr.t, p, authid, ticket)
}

func (sr *sockRig) join(authid, ticket string) *session.Session {
	sr.t.Helper()
	s, err := sr.dial(sr.ws, authid, ticket)
	if err != nil {
		sr.t.Fatalf("join %s: %v", authid, err)
	}
	return s
}

func (sr *sockRig) call(s *session.Session, uri string, args ...any) (any, error) {
	res, err := s.Call(sr.ctx, uri, protocol.List(args), nil)
	if err != nil {
		return nil, err
	}
	return res.Arg(0), nil
}

func (sr *sockRig) mustCall(s *session.Session, uri string, args ...any) any {
	sr.t.Helper()
	v, err := sr.call(s, uri, args...)
	if err != nil {
		sr.t.Fatalf("%s: %v", uri, err)
	}
	return v
}

// errURI is the URI of a WAMP error, or a description of what err is.
func errURI(err error) string {
	var se *session.Error
	if errors.As(err, &se) {
		return se.URI
	}
	if err == nil {
		return "<no error>"
	}
	return "<not a WAMP error: " + err.Error() + ">"
}

const (
	quotaExceeded    = "com.izaber.wamp.error.quota_exceeded"
	permissionDenied = "com.izaber.wamp.error.permissiondenied"
	notAuthorized    = "wamp.error.not_authorized"
)

// A frontend user cannot make the router keep megabytes: every stored
// value has a quota, and a refused value leaves nothing behind.
func TestQuotasRefuseLargeValues(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	alice := sr.join("alice", "alice-pw")
	big := strings.Repeat("x", 1<<20)

	_, err := sr.call(alice, "com.izaber.wamp.my.metadata.set", "big", big)
	if errURI(err) != quotaExceeded {
		t.Errorf("1 MiB metadata value: %v, want %s", err, quotaExceeded)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.my.metadata.get", "big"); v != nil {
		t.Errorf("refused value stored: %d bytes", len(v.(string)))
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.my.metadata.list").(map[string]any); len(v) != 0 {
		t.Errorf("metadata after refusal: %d keys", len(v))
	}
	// A YAML document that aliases would blow up is refused too.
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	_, err = sr.call(alice, "com.izaber.wamp.my.metadata.set", "bomb", bomb, true)
	if errURI(err) != quotaExceeded {
		t.Errorf("YAML alias bomb: %v, want %s", err, quotaExceeded)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.my.metadata.set", "ok", strings.Repeat("y", 60<<10)); len(v.(string)) != 60<<10 {
		t.Errorf("60 KiB value refused")
	}

	_, err = sr.call(alice, "com.izaber.wamp.system.roster.register", "roster.big", big, nil)
	if errURI(err) != quotaExceeded {
		t.Errorf("1 MiB roster data: %v, want %s", err, quotaExceeded)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.system.roster.query", "roster.big").([]any); len(v) != 0 {
		t.Errorf("refused roster entry listed")
	}

	_, err = sr.call(alice, "com.izaber.wamp.my.apikeys.create", map[string]any{"description": strings.Repeat("d", 64<<10)})
	if errURI(err) != quotaExceeded {
		t.Errorf("64 KiB API key description: %v, want %s", err, quotaExceeded)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.my.apikeys.list").([]any); len(v) != 0 {
		t.Errorf("refused API key stored (%d keys)", len(v))
	}
}

// API keys are kept as digests: list shows no secret and no file under the
// data directory holds one.
func TestAPIKeysStoredAsHashesOnly(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	alice := sr.join("alice", "alice-pw")
	key := sr.mustCall(alice, "com.izaber.wamp.my.apikeys.create", map[string]any{"description": "ci"}).(map[string]any)
	plain, _ := key["plaintext_key"].(string)
	if len(plain) < 32 {
		t.Fatalf("create returned plaintext_key %q", plain)
	}
	for _, uri := range []string{"my.apikeys.list", "com.izaber.wamp.my.apikeys.list"} {
		l := sr.mustCall(alice, uri).([]any)
		if len(l) != 1 {
			t.Fatalf("%s = %v", uri, l)
		}
		rec := l[0].(map[string]any)
		if rec["plaintext_key"] != nil || rec["uuid"] != key["uuid"] || rec["description"] != "ci" || rec["key"] != key["key"] {
			t.Errorf("%s record = %v", uri, rec)
		}
	}
	if _, err := sr.dial(sr.ws, "alice", plain); err != nil {
		t.Errorf("API key login: %v", err)
	}
	err := filepath.WalkDir(filepath.Join(sr.dir, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), plain) {
			t.Errorf("%s holds the API key in plaintext", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A session whose API key allows only key management mints keys and OTPs
// no broader than itself: they cannot read the user's metadata.
func TestKeyMintingIsNeverBroader(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	alice := sr.join("alice", "alice-pw")
	sr.mustCall(alice, "com.izaber.wamp.my.metadata.set", "secret", "s3")
	k1 := sr.mustCall(alice, "com.izaber.wamp.my.apikeys.create", map[string]any{"permissions": []any{
		map[string]any{"uri": "com.izaber.wamp.my.apikeys.*", "perms": "c"},
		map[string]any{"uri": "com.izaber.wamp.my.otps.*", "perms": "c"},
	}}).(map[string]any)
	s1 := sr.join("alice", k1["plaintext_key"].(string))
	_, err := sr.call(s1, "com.izaber.wamp.my.metadata.get", "secret")
	if errURI(err) != notAuthorized {
		t.Fatalf("key-management key reads metadata: %v", err)
	}

	k2 := sr.mustCall(s1, "com.izaber.wamp.my.apikeys.create").(map[string]any)
	s2 := sr.join("alice", k2["plaintext_key"].(string))
	_, err = sr.call(s2, "com.izaber.wamp.my.metadata.get", "secret")
	if errURI(err) != notAuthorized {
		t.Errorf("key minted by a restricted session reads metadata: %v", err)
	}
	_, err = sr.call(s2, "com.izaber.wamp.my.apikeys.create")
	if errURI(err) != notAuthorized {
		t.Errorf("key minted by a restricted session mints keys: %v", err)
	}

	otp := sr.mustCall(s1, "com.izaber.wamp.my.otps.create").(map[string]any)
	s3 := sr.join("alice", otp["plaintext_key"].(string))
	_, err = sr.call(s3, "com.izaber.wamp.my.metadata.get", "secret")
	if errURI(err) != notAuthorized {
		t.Errorf("OTP minted by a restricted session reads metadata: %v", err)
	}
}

// Deleting another user's API key or OTP is refused as Nexus refuses it;
// a malformed uuid is an error.
func TestDeletingAnotherUsersRecord(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	alice := sr.join("alice", "alice-pw")
	bob := sr.join("bob", "bob-pw")
	key := sr.mustCall(alice, "com.izaber.wamp.my.apikeys.create").(map[string]any)
	otp := sr.mustCall(alice, "com.izaber.wamp.my.otps.create").(map[string]any)

	for _, c := range []struct{ uri, uuid string }{
		{"com.izaber.wamp.my.apikeys.delete", key["uuid"].(string)},
		{"com.izaber.wamp.my.otps.delete", otp["uuid"].(string)},
		{"com.izaber.wamp.my.otp.delete", otp["uuid"].(string)},
	} {
		_, err := sr.call(bob, c.uri, c.uuid)
		if errURI(err) != permissionDenied {
			t.Errorf("bob %s(alice's uuid): %v, want %s", c.uri, err, permissionDenied)
		}
		for _, bad := range []string{"not-a-uuid", "", strings.Repeat("A", 23), "AAAAAAAAAAAAAAAAAAAA/A"} {
			_, err := sr.call(bob, c.uri, bad)
			if errURI(err) != "com.izaber.wamp.error" {
				t.Errorf("%s(%q): %v, want com.izaber.wamp.error", c.uri, bad, err)
			}
		}
		if v := sr.mustCall(bob, c.uri, "AAAAAAAAAAAAAAAAAAAAAA"); v != true {
			t.Errorf("%s of an unknown uuid = %v, want true", c.uri, v)
		}
	}
	if _, err := sr.dial(sr.ws, "alice", key["plaintext_key"].(string)); err != nil {
		t.Errorf("alice's key after bob's delete: %v", err)
	}
	if _, err := sr.dial(sr.ws, "alice", otp["plaintext_key"].(string)); err != nil {
		t.Errorf("alice's OTP after bob's delete: %v", err)
	}
}

// An OTP's origin names the client's address, as Nexus's does.
func TestOTPOriginIsClientAddress(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	for _, c := range []struct{ url, want string }{
		{sr.ws, "alice@127.0.0.1"},
		{sr.unix, "alice@unix"},
	} {
		s, err := sr.dial(c.url, "alice", "alice-pw")
		if err != nil {
			t.Fatal(err)
		}
		otp := sr.mustCall(s, "com.izaber.wamp.my.otps.create").(map[string]any)
		if otp["origin"] != c.want {
			t.Errorf("origin over %s = %v, want %q", c.url[:4], otp["origin"], c.want)
		}
	}
}

// The built-in roles are Nexus's shipped ones: backend is confined to
// com.izaber.wamp.*, so bare Nexus URIs, the WAMP meta API and foreign
// URIs are refused, as on Nexus.
func TestRolesAsNexusShipsThem(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	sessions := map[string]*session.Session{
		"alice": sr.join("alice", "alice-pw"),
		"bob":   sr.join("bob", "bob-pw"),
		"carol": sr.join("carol", "carol-pw"),
		"anon":  sr.join("", ""),
	}
	noop := func(context.Context, *session.Invocation) (*session.Result, error) { return &session.Result{}, nil }
	for _, tc := range []struct {
		who, action, uri string
		allowed          bool
	}{
		{"bob", "call", "com.izaber.wamp.auth.whoami", true},
		{"bob", "call", "auth.whoami", false},
		{"bob", "call", "my.metadata.list", false},
		{"bob", "call", "com.izaber.wamp.my.metadata.list", true},
		{"bob", "call", "wamp.session.count", false},
		{"bob", "register", "com.izaber.wamp.app.proc", true},
		{"bob", "register", "com.example.proc", false},
		{"bob", "subscribe", "com.izaber.wamp.app.topic", true},
		{"bob", "subscribe", "com.example.topic", false},
		{"bob", "publish", "com.example.topic", false},
		{"alice", "call", "com.izaber.wamp.auth.whoami", true},
		{"alice", "call", "auth.whoami", false},
		{"alice", "call", "my.metadata.list", true},
		{"alice", "call", "wamp.session.count", false},
		{"alice", "register", "com.izaber.wamp.frontend.proc", true},
		{"alice", "register", "com.izaber.wamp.app.proc2", false},
		{"alice", "subscribe", "com.izaber.wamp.public.news", true},
		{"alice", "publish", "com.izaber.wamp.app.topic", false},
		{"anon", "call", "com.izaber.wamp.auth.whoami", false},
		{"anon", "call", "com.izaber.wamp.system.roster.query", true},
		{"anon", "publish", "com.izaber.wamp.public", true},
		{"carol", "call", "auth.whoami", true},
		{"carol", "call", "wamp.session.count", true},
		{"carol", "register", "com.example.proc", true},
	} {
		s := sessions[tc.who]
		var err error
		switch tc.action {
		case "call":
			var args protocol.List
			if strings.HasSuffix(tc.uri, "roster.query") {
				args = protocol.List{"roster.x"}
			}
			_, err = s.Call(sr.ctx, tc.uri, args, nil)
		case "register":
			_, err = s.Register(sr.ctx, tc.uri, noop)
		case "subscribe":
			_, err = s.Subscribe(sr.ctx, tc.uri, func(*session.Event) {})
		case "publish":
			err = s.Publish(sr.ctx, tc.uri, nil, nil, session.Acknowledge(true))
		}
		if denied := errURI(err) == notAuthorized; denied == tc.allowed {
			t.Errorf("%s %s %s: %v (want allowed %v)", tc.who, tc.action, tc.uri, err, tc.allowed)
		}
	}
}

// The procedures Nexus serves beyond the facade's: the directory (empty
// without LDAP), re-authentication, trusted OTPs and the deprecated
// preference aliases.
func TestServicesNexusServes(t *testing.T) {
	sr := newSockRig(t, wireUsers)
	alice := sr.join("alice", "alice-pw")
	bob := sr.join("bob", "bob-pw")
	carol := sr.join("carol", "carol-pw")

	for _, uri := range []string{"com.izaber.wamp.ad.users", "com.izaber.wamp.ad.groups"} {
		if diff := cmp.Diff([]any{}, sr.mustCall(alice, uri)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", uri, diff)
		}
	}
	for _, uri := range []string{"ad.users", "ad.groups", "com.izaber.wamp.directory.users", "com.izaber.wamp.directory.groups"} {
		if diff := cmp.Diff([]any{}, sr.mustCall(carol, uri)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", uri, diff)
		}
	}

	if v := sr.mustCall(alice, "com.izaber.wamp.system.preference.set", "theme", "dark"); v != "dark" {
		t.Errorf("system.preference.set = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.my.metadata.get", "theme"); v != "dark" {
		t.Errorf("metadata after system.preference.set = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.system.preference.get", "theme"); v != "dark" {
		t.Errorf("system.preference.get = %v", v)
	}

	if v := sr.mustCall(alice, "com.izaber.wamp.auth.authenticate", "alice", "alice-pw"); v != true {
		t.Errorf("auth.authenticate(right) = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.authenticate", "alice", "nope"); v != false {
		t.Errorf("auth.authenticate(wrong) = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.reauthenticate", "nope"); v != false {
		t.Errorf("reauthenticate(wrong) = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.reauthenticate", "alice-pw"); v != int64(120) {
		t.Errorf("reauthenticate = %#v, want 120", v)
	}
	if v, ok := sr.mustCall(alice, "com.izaber.wamp.auth.is_reauthenticated").(float64); !ok || v <= 100 || v > 120 {
		t.Errorf("is_reauthenticated = %v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.extend_reauthenticate"); v != int64(120) {
		t.Errorf("extend_reauthenticate = %#v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.reauthenticate_expire"); v != nil {
		t.Errorf("reauthenticate_expire = %#v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.is_reauthenticated"); v != false {
		t.Errorf("is_reauthenticated after expire = %#v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.extend_reauthenticate"); v != false {
		t.Errorf("extend_reauthenticate after expire = %#v", v)
	}
	if v := sr.mustCall(alice, "com.izaber.wamp.auth.refresh_authorizer"); v != nil {
		t.Errorf("refresh_authorizer = %#v", v)
	}

	// system.otp.*: trust mints OTPs for other users; nobody else does.
	_, err := sr.call(alice, "com.izaber.wamp.system.otp.create", "bob")
	if errURI(err) != notAuthorized {
		t.Errorf("frontend system.otp.create: %v", err)
	}
	_, err = sr.call(bob, "com.izaber.wamp.system.otp.create", "alice")
	if errURI(err) != permissionDenied {
		t.Errorf("backend system.otp.create: %v", err)
	}
	otp := sr.mustCall(carol, "com.izaber.wamp.system.otp.create", "bob").(map[string]any)
	if otp["login"] != "bob" || otp["origin"] != "carol@127.0.0.1 created token for bob" {
		t.Errorf("system.otp.create = %v", otp)
	}
	if l := sr.mustCall(carol, "system.otp.list", "bob").([]any); len(l) != 1 || l[0].(map[string]any)["plaintext_key"] != nil {
		t.Errorf("system.otp.list = %v", l)
	}
	bs, err := sr.dial(sr.ws, "bob", otp["plaintext_key"].(string))
	if err != nil {
		t.Fatalf("login with a trusted OTP: %v", err)
	}
	if who := sr.mustCall(bs, "com.izaber.wamp.auth.whoami").(map[string]any); who["authid"] != "bob" {
		t.Errorf("trusted OTP session = %v", who)
	}
	otp2 := sr.mustCall(carol, "com.izaber.wamp.system.otp.create", "bob").(map[string]any)
	if v := sr.mustCall(carol, "com.izaber.wamp.system.otp.delete", otp2["uuid"]); v != true {
		t.Errorf("system.otp.delete = %v", v)
	}
	if _, err := sr.dial(sr.ws, "bob", otp2["plaintext_key"].(string)); err == nil {
		t.Error("deleted trusted OTP logs in")
	}
	_, err = sr.call(carol, "com.izaber.wamp.system.otp.create", "nobody")
	if errURI(err) != "com.izaber.wamp.error" {
		t.Errorf("system.otp.create for an unknown user: %v", err)
	}
}

// A users file holding plaintext passwords that other users can read is
// refused, with a message saying how to fix it.
func TestReadableUsersFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(path, []byte(wireUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := nexus.New(nexus.Config{UsersFile: path})
	if err == nil {
		if c, ok := any(svc).(interface{ Close() error }); ok {
			c.Close()
		}
		t.Fatal("world-readable users file with plaintext passwords accepted")
	}
	for _, want := range []string{path, "chmod 600", "password_hash"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "alice-pw") {
		t.Errorf("error quotes a password: %v", err)
	}
}
