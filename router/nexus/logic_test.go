package nexus

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testUsers = `
users:
  - login: Alice
    password: alice-pw
    role: frontend
  - login: bob
    password_hash: "$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M"
    role: backend
  - login: carol
    password: carol-pw
    role: trust
    wampcra_secret: carol-cra
    wampcra_salt: salt123
  - login: dave
    password: dave-pw
    disabled: true
  - login: erin
    password: erin-pw
    role: frontend
    cryptosign_pubkeys: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
`

func TestMain(m *testing.M) {
	// PBKDF2 at production strength makes up most of the test time on a
	// loaded machine; the Nexus-compatible rounds have their own vector test.
	keyDigestRounds, passwordIterations = 1000, 1000
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(runCrashChild(dir))
	}
	os.Exit(m.Run())
}

func writeUsers(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestService(t *testing.T, dataDir string) (*Service, *clock) {
	t.Helper()
	s, err := New(Config{UsersFile: writeUsers(t, testUsers), DataDir: dataDir, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.now = c.Now
	return s, c
}

func TestPasswordHash(t *testing.T) {
	// Vector made with Python's hashlib.pbkdf2_hmac and passlib's ab64 alphabet.
	h, err := parsePasswordHash("$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M")
	if err != nil {
		t.Fatal(err)
	}
	if !h.verify("correct horse") {
		t.Error("vector password rejected")
	}
	if h.verify("correct horsE") {
		t.Error("wrong password accepted")
	}
	enc, err := hashPassword("s3cret", 1000)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := parsePasswordHash(enc)
	if err != nil {
		t.Fatalf("own hash %q does not parse: %v", enc, err)
	}
	if !h2.verify("s3cret") || h2.verify("s3cret ") {
		t.Error("own hash does not verify correctly")
	}
	enc2, _ := hashPassword("s3cret", 1000)
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, bad := range []string{
		"", "plain", "$pbkdf2-sha256$1000$MDEy", "$pbkdf2-sha512$1000$MDEy$cBg8",
		"$pbkdf2-sha256$0$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
		"$pbkdf2-sha256$x$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
		"$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$cBg8",
		"$pbkdf2-sha256$1000$!!$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
	} {
		if _, err := parsePasswordHash(bad); err == nil {
			t.Errorf("parsePasswordHash(%q) accepted", bad)
		}
	}
}

func TestKeyDigestMatchesNexus(t *testing.T) {
	// passlib pbkdf2_sha256 (29000 rounds), salt = login, urlsafe base64
	// minus the trailing '=' (computed with Python's hashlib).
	if got, want := keyDigestN("alice", "Zz9-key", nexusKeyRounds), "X6MQRa3j_332F8oPcjBpTnYmSmsEET-Gy4ixwB0CLP4"; got != want {
		t.Errorf("keyDigest = %q, want %q", got, want)
	}
}

func TestParsePerms(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     string
		elevated string
		err      bool
	}{
		{"crspoq", "crspoq", "", false}, {"qoc", "coq", "", false}, {"c-s-", "cs", "", false}, {"", "", "", false},
		{"c+", "c", "c", false}, {"c+r+", "cr", "cr", false}, {"c+q", "cq", "c", false},
		{"+c", "", "", true}, {"c-+", "", "", true}, {"r!", "", "", true}, {"x", "", "", true},
	} {
		p, el, err := parsePerms(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parsePerms(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (p.String() != tc.want || el.String() != tc.elevated) {
			t.Errorf("parsePerms(%q) = %q elevated %q, want %q elevated %q", tc.in, p, el, tc.want, tc.elevated)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, uri string
		want     bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.b.c", "a.b.c.d", false},
		{"a.b.c", "A.b.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c.d", true},
		{"a.*", "a", false},
		{"a.*", "ab.c", false},
		{"*", "anything.at.all", true},
		{"a./b.*/.c", "a.bxx.c", true},
		{"a./b.*/.c", "a.BXX.c", true},
		{"a./b.*/.c", "a.xb.c", false},
		{"a./b.*/.c", "a.b.x.c", false},
		{"a./^(x|y)$/", "a.y", true},
		{"a./^(x|y)$/", "a.z", false},
		{`a./x\/y/.*`, "a.x/y.z", true},
	} {
		p, err := parsePattern(tc.pat)
		if err != nil {
			t.Fatalf("parsePattern(%q): %v", tc.pat, err)
		}
		if got := p.match(strings.Split(tc.uri, ".")); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pat, tc.uri, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a..b", "a.", ".a", "a.*.b", "a*", "a./x", "a./x/b", "a./(/"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("parsePattern(%q) accepted", bad)
		}
	}
}

func TestRuleSetMostSpecificWins(t *testing.T) {
	rs, err := newRuleSet([][2]string{
		{"*", "c"},
		{"a.*", "s"},
		{"a.b.*", "p"},
		{"a.b.c", "r"},
		{"a./b/.c", "o"},
		{"x./1/", "c"},
		{"x./1|2/", "s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ uri, want string }{
		{"z", "c"},
		{"a.z", "s"},
		{"a.z.y", "s"},
		{"a.b.z", "p"},
		{"a.b.c", "r"},  // exact beats regex at equal length
		{"a.bb.c", "o"}, // regex full match beats prefix a.*
		{"a.b.c.d", "p"},
		{"x.1", ""}, // two regexes tie: conflict denies
		{"x.2", "s"},
	} {
		r := rs.lookup(tc.uri)
		got := ""
		if r != nil {
			got = r.perms.String()
		}
		if got != tc.want {
			t.Errorf("lookup(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
	if _, err := newRuleSet([][2]string{{"a", "c"}, {"a", "s"}}); err == nil {
		t.Error("duplicate pattern accepted")
	}
}

func TestUsersFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no login", "users:\n  - password: pw-secret-1\n", "users[0].login: missing"},
		{"bad role", "users:\n  - login: a\n    role: wizard\n", `users[0].role: role "wizard" is not defined`},
		{"dup login", "users:\n  - login: a\n  - login: A\n", `users[1].login: login "a" given more than once`},
		{"both pw", "users:\n  - login: a\n    password: pw-secret-1\n    password_hash: x\n", "users[0]: give either password or password_hash"},
		{"bad hash", "users:\n  - login: a\n    password_hash: pw-secret-1\n", "users[0].password_hash: password_hash must have the form"},
		{"bad key", "users:\n  - login: a\n    cryptosign_pubkeys: [abc]\n", "users[0].cryptosign_pubkeys[0]: must be 64 hex digits"},
		{"salt no secret", "users:\n  - login: a\n    wampcra_salt: s\n", "users[0]: wampcra_salt"},
		{"unknown field", "users:\n  - login: a\n    pasword: pw-secret-1\n", `unknown field "pasword"`},
		{"bad yaml", "users: [\n  pw-secret-1", "users file"},
		{"type", "users:\n  - login: a\n    disabled: pw-secret-1\n", "users file"},
		{"bad perms", "roles:\n  frontend:\n    - uri: a.*\n      perms: cz\n", `roles.frontend: pattern "a.*": unknown permission letter 'z'`},
		{"bad rule uri", "roles:\n  frontend:\n    - perms: c\n", "roles.frontend[0].uri: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeUsers(t, tc.yaml)
			_, err := New(Config{UsersFile: path})
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name the file and %q", msg, tc.want)
			}
			if strings.Contains(msg, "pw-secret-1") {
				t.Errorf("error %q quotes a secret", msg)
			}
		})
	}
	if _, err := New(Config{UsersFile: filepath.Join(t.TempDir(), "missing.yaml")}); err == nil {
		t.Error("missing users file accepted")
	}
}

func denied(t *testing.T, err error) {
	t.Helper()
	var d *auth.Denied
	if !errors.As(err, &d) {
		t.Fatalf("error %v is not *auth.Denied", err)
	}
	if d.Reason != "com.izaber.wamp.error.permissiondenied" || d.Message != "Permission Denied" {
		t.Errorf("denied = %+v", d)
	}
}

func TestTicketLogin(t *testing.T) {
	s, _ := newTestService(t, "")
	ctx := context.Background()
	for _, tc := range []struct{ login, ticket, role string }{
		{"alice", "alice-pw", "frontend"},
		{"ALICE", "alice-pw", "frontend"},
		{"Bob", "correct horse", "backend"},
	} {
		id, err := s.checkTicket(ctx, tc.login, tc.ticket)
		if err != nil {
			t.Fatalf("%s: %v", tc.login, err)
		}
		if id.AuthID != strings.ToLower(tc.login) || id.AuthRole != tc.role || id.AuthProvider != "nexus" || id.AuthMethod != "ticket" {
			t.Errorf("%s: identity %+v", tc.login, id)
		}
		if cid, _ := id.AuthExtra["cache_id"].(string); cid == "" || id.AuthExtra["has_restrictions"] != false {
			t.Errorf("%s: authextra %v", tc.login, id.AuthExtra)
		}
	}
	for _, tc := range []struct{ login, ticket string }{
		{"alice", "wrong"}, {"alice", ""}, {"", "alice-pw"}, {"nobody", "alice-pw"},
		{"dave", "dave-pw"}, {"bob", "Correct horse"},
	} {
		_, err := s.checkTicket(ctx, tc.login, tc.ticket)
		denied(t, err)
	}
}

func call0(s *Service, authid, role string, session protocol.ID, name string, args ...any) (any, error) {
	return s.invoke(&call{name: name, session: session, authid: authid, role: role, args: args})
}

func TestAPIKeyAndOTPLogin(t *testing.T) {
	s, clk := newTestService(t, t.TempDir())
	ctx := context.Background()

	kv, err := call0(s, "alice", "frontend", 1, "my.apikeys.create", protocol.Dict{"description": "ci"})
	if err != nil {
		t.Fatal(err)
	}
	key := kv.(protocol.Dict)
	for _, f := range []string{"uuid", "owner", "key", "plaintext_key", "description", "expires", "permissions"} {
		if _, ok := key[f]; !ok {
			t.Errorf("API key dict lacks %q: %v", f, key)
		}
	}
	if len(key) != 7 || key["description"] != "ci" || key["expires"] != nil {
		t.Errorf("API key dict = %v", key)
	}
	plain := key["plaintext_key"].(string)
	if key["key"] != keyDigest("alice", plain) {
		t.Error("stored key is not the digest of the plaintext key")
	}
	id, err := s.checkTicket(ctx, "Alice", plain)
	if err != nil {
		t.Fatalf("API key login: %v", err)
	}
	if id.AuthExtra["has_restrictions"] != true {
		t.Errorf("API key session authextra = %v", id.AuthExtra)
	}
	s.joined(10, id.AuthExtra)
	if s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.apikeys.create") ||
		s.allowed("frontend", id.AuthExtra, "call", "my.apikeys.create") ||
		s.allowed("frontend", id.AuthExtra, "call", "my.otps.create") ||
		s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.otp.create") {
		t.Error("API key session may manage keys")
	}
	if !s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.metadata.get") {
		t.Error("API key session may not read metadata")
	}
	// Deleting the key ends what its sessions may do.
	if _, err := call0(s, "alice", "frontend", 1, "my.apikeys.delete", key["uuid"]); err != nil {
		t.Fatal(err)
	}
	if s.allowed("frontend", id.AuthExtra, "call", "my.metadata.get") {
		t.Error("session of a deleted API key is still authorized")
	}
	_, err = s.checkTicket(ctx, "alice", plain)
	denied(t, err)

	// OTPs: single use.
	ov, err := call0(s, "alice", "frontend", 1, "my.otps.create")
	if err != nil {
		t.Fatal(err)
	}
	otp := ov.(protocol.Dict)
	if otp["login"] != "alice" || otp["origin"] != "alice@unknown" || otp["expires"] != "2026-01-02T03:14:05.000000+00:00" {
		t.Errorf("OTP dict = %v", otp)
	}
	oplain := otp["plaintext_key"].(string)
	lv, _ := call0(s, "alice", "frontend", 1, "my.otp.list")
	if l := lv.(protocol.List); len(l) != 1 || l[0].(protocol.Dict)["plaintext_key"] != nil {
		t.Errorf("OTP list = %v", lv)
	}
	oid, err := s.checkTicket(ctx, "alice", oplain)
	if err != nil {
		t.Fatalf("OTP login: %v", err)
	}
	if !s.allowed("frontend", oid.AuthExtra, "call", "com.izaber.wamp.auth.whoami") || s.allowed("frontend", oid.AuthExtra, "call", "my.otp.create") {
		t.Error("OTP session restrictions wrong")
	}
	_, err = s.checkTicket(ctx, "alice", oplain)
	denied(t, err)

	// OTPs: expire after 10 minutes.
	ov, _ = call0(s, "alice", "frontend", 1, "my.otp.create")
	clk.Add(10*time.Minute + time.Second)
	_, err = s.checkTicket(ctx, "alice", ov.(protocol.Dict)["plaintext_key"].(string))
	denied(t, err)
	ov, _ = call0(s, "alice", "frontend", 1, "my.otp.create")
	clk.Add(9 * time.Minute)
	if _, err := s.checkTicket(ctx, "alice", ov.(protocol.Dict)["plaintext_key"].(string)); err != nil {
		t.Errorf("OTP refused before expiry: %v", err)
	}

	// Expired API key.
	kv, _ = call0(s, "alice", "frontend", 1, "my.apikeys.create", protocol.Dict{"expires": isoTime(clk.Now().Add(time.Hour))})
	k2 := kv.(protocol.Dict)["plaintext_key"].(string)
	if _, err := s.checkTicket(ctx, "alice", k2); err != nil {
		t.Errorf("unexpired key refused: %v", err)
	}
	clk.Add(2 * time.Hour)
	_, err = s.checkTicket(ctx, "alice", k2)
	denied(t, err)
}

func TestKeyOwnPermissions(t *testing.T) {
	s, _ := newTestService(t, "")
	kv, err := call0(s, "carol", "trust", 1, "my.apikeys.create", protocol.Dict{"permissions": protocol.List{
		protocol.Dict{"uri": "com.izaber.wamp.my.apikeys.create", "perms": "c"},
		protocol.Dict{"uri": "auth.whoami", "perms": "c"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.checkTicket(context.Background(), "carol", kv.(protocol.Dict)["plaintext_key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"com.izaber.wamp.my.apikeys.create", true},
		{"auth.whoami", true},
		{"my.apikeys.create", false},
		{"com.izaber.wamp.my.otp.create", false},
		{"some.other.proc", false}, // the key's list is an allow-list
	} {
		if got := s.allowed("trust", id.AuthExtra, "call", tc.uri); got != tc.want {
			t.Errorf("allowed(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
	if _, err := call0(s, "carol", "trust", 1, "my.apikeys.create", protocol.Dict{"permissions": protocol.List{
		protocol.Dict{"uri": "a..b", "perms": "c"}}}); err == nil {
		t.Error("bad permission pattern accepted")
	}
}

func TestRoleAuthorization(t *testing.T) {
	s, _ := newTestService(t, "")
	ids := map[string]protocol.Dict{}
	for _, u := range []struct{ login, pw string }{{"alice", "alice-pw"}, {"bob", "correct horse"}, {"carol", "carol-pw"}} {
		id, err := s.checkTicket(context.Background(), u.login, u.pw)
		if err != nil {
			t.Fatal(err)
		}
		ids[u.login] = id.AuthExtra
	}
	for _, tc := range []struct {
		role, login, action, uri string
		want                     bool
	}{
		// Nexus's shipped rules (its devdb).
		{"public", "", "call", "auth.whoami", false},
		{"public", "", "call", "com.izaber.wamp.auth.whoami", false},
		{"public", "", "call", "com.izaber.wamp.system.roster.query", true},
		{"public", "", "call", "system.roster.query", false},
		{"public", "", "call", "com.izaber.wamp.system.roster.register", false},
		{"public", "", "call", "com.izaber.wamp.my.metadata.get", false},
		{"public", "", "publish", "com.izaber.wamp.public", true},
		{"public", "", "publish", "com.izaber.wamp.public.x", false},
		{"public", "", "publish", "com.izaber.wamp.discovery.kncknc", true},
		{"public", "", "subscribe", "com.izaber.wamp.discovery.whsthr", true},
		{"public", "", "call", "com.izaber.wamp.dashboard:main:dashboardRegistry.get", true},
		{"public", "", "subscribe", "anything", false},
		{"frontend", "alice", "call", "com.izaber.wamp.my.metadata.set", true},
		{"frontend", "alice", "call", "my.apikeys.create", true},
		{"frontend", "alice", "call", "com.izaber.wamp.system.roster.register", true},
		{"frontend", "alice", "call", "system.roster.register", false},
		{"frontend", "alice", "call", "com.izaber.wamp.auth.whoami", true},
		{"frontend", "alice", "call", "auth.whoami", false},
		{"frontend", "alice", "call", "com.izaber.wamp.ad.users", true},
		{"frontend", "alice", "register", "com.izaber.wamp.frontend.app.x", true},
		{"frontend", "alice", "publish", "com.izaber.wamp.public.news", true},
		{"frontend", "alice", "subscribe", "com.izaber.wamp.zerp1.any.thing", true},
		{"frontend", "alice", "call", "com.izaber.wamp.dashboard:x.y", true},
		{"frontend", "alice", "register", "com.izaber.wamp.dashboard:x.y", false},
		{"frontend", "alice", "call", "com.izaber.wamp.reauth", true}, // c+: within two minutes of login
		{"frontend", "alice", "call", "com.example.proc", false},
		{"frontend", "alice", "call", "wamp.session.list", false},
		{"frontend", "alice", "register", "my.thing", false},
		{"frontend", "alice", "publish", "roster.x", false},
		{"backend", "bob", "register", "com.izaber.wamp.example.proc", true},
		{"backend", "bob", "publish", "com.izaber.wamp.example.topic", true},
		{"backend", "bob", "call", "com.izaber.wamp.auth.whoami", true},
		{"backend", "bob", "register", "com.example.proc", false},
		{"backend", "bob", "call", "auth.whoami", false},
		{"backend", "bob", "call", "my.metadata.get", false},
		{"backend", "bob", "call", "wamp.session.list", false},
		{"trust", "carol", "register", "wamp.anything", true},
		{"trust", "carol", "call", "auth.whoami", true},
		{"frontend", "alice", "bogus", "com.izaber.wamp.my.metadata.get", false},
	} {
		if got := s.allowed(tc.role, ids[tc.login], tc.action, tc.uri); got != tc.want {
			t.Errorf("%s %s %s = %v, want %v", tc.role, tc.action, tc.uri, got, tc.want)
		}
	}
	// A session claiming restrictions without a cookie is refused.
	if s.allowed("backend", protocol.Dict{"has_restrictions": true}, "call", "x") {
		t.Error("restricted session without a cookie allowed")
	}
	if s.allowed("backend", protocol.Dict{"cache_id": "forged"}, "call", "x") {
		t.Error("unknown cache_id allowed")
	}
}

func TestRoster(t *testing.T) {
	s, _ := newTestService(t, "")
	reg := func(sess protocol.ID, authid, role, name string, data, vis any) (any, error) {
		return call0(s, authid, role, sess, "system.roster.register", name, data, vis)
	}
	rec, err := reg(1, "alice", "frontend", "roster.room", "a1", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := rec.(protocol.Dict)
	if d["key"] != "1_roster.room" || d["name"] != "roster.room" || d["session_id"] != int64(1) || d["visibility"] != "*" || d["data"] != "a1" {
		t.Errorf("record = %v", d)
	}
	if _, err := reg(1, "alice", "frontend", "roster.room", "a2", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reg(2, "bob", "backend", "roster.room", "b", "backend"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg(3, "bob", "backend", "roster.room", "c", protocol.List{"frontend", "x"}); err != nil {
		t.Fatal(err)
	}
	q := func(role string) protocol.List {
		v, err := call0(s, "x", role, 9, "system.roster.query", "roster.room")
		if err != nil {
			t.Fatal(err)
		}
		return v.(protocol.List)
	}
	if diff := cmp.Diff(protocol.List{"a2", "c"}, q("frontend")); diff != "" {
		t.Errorf("frontend query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(protocol.List{"a2", "b"}, q("backend")); diff != "" {
		t.Errorf("backend query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(protocol.List{"a2", "b", "c"}, q("trust")); diff != "" {
		t.Errorf("trust query (-want +got):\n%s", diff)
	}
	for _, bad := range []any{"", false, protocol.List{}, int64(0)} {
		_, err := reg(1, "alice", "frontend", "roster.room", "x", bad)
		if u, _, _ := errorURI(err); err == nil || u != ErrGeneric {
			t.Errorf("visibility %#v: err %v", bad, err)
		}
	}
	_, err = reg(1, "alice", "frontend", "other.room", "x", nil)
	if u, a, _ := errorURI(err); u != ErrPermissionDenied || a[0] != "Permission Denied" {
		t.Errorf("register without o: %v", err)
	}
	if v, err := call0(s, "alice", "frontend", 1, "system.roster.unregister", "roster.room"); err != nil || v != true {
		t.Errorf("unregister = %v, %v", v, err)
	}
	if v, err := call0(s, "alice", "frontend", 1, "system.roster.unregister", "roster.none"); err != nil || v != true {
		t.Errorf("unregister of nothing = %v, %v", v, err)
	}
	s.left(2, nil)
	if diff := cmp.Diff(protocol.List{"c"}, q("trust")); diff != "" {
		t.Errorf("after leave (-want +got):\n%s", diff)
	}
	if _, err := call0(s, "x", "frontend", 1, "system.roster.query"); err == nil {
		t.Error("query without a name accepted")
	}
	if _, err := call0(s, "x", "frontend", 1, "system.roster.query", int64(3)); err == nil {
		t.Error("query with a non-string name accepted")
	}
}

func TestMetadataPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestService(t, dir)
	if v, err := call0(s, "alice", "frontend", 1, "my.metadata.set", "color", "blue"); err != nil || v != "blue" {
		t.Fatalf("set = %v, %v", v, err)
	}
	v, err := call0(s, "alice", "frontend", 1, "my.metadata.set", "cfg", "a: 1\nb: [x, 2.5]\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if y, ok := v.(string); !ok || !strings.Contains(y, "a: 1") {
		t.Errorf("yaml set returned %#v", v)
	}
	if _, err := call0(s, "alice", "frontend", 1, "my.metadata.set", "n", protocol.Dict{"big": int64(1) << 60, "f": 1.5}); err != nil {
		t.Fatal(err)
	}
	kv, _ := call0(s, "alice", "frontend", 1, "my.apikeys.create")
	plain := kv.(protocol.Dict)["plaintext_key"].(string)
	s.Close()

	s2, _ := newTestService(t, dir)
	if v, _ := call0(s2, "ALICE", "frontend", 1, "my.metadata.get", "color"); v != "blue" {
		t.Errorf("after restart color = %#v", v)
	}
	v, _ = call0(s2, "alice", "frontend", 1, "my.metadata.get", "cfg")
	if diff := cmp.Diff(protocol.Dict{"a": int64(1), "b": protocol.List{"x", 2.5}}, v); diff != "" {
		t.Errorf("yaml value after restart (-want +got):\n%s", diff)
	}
	v, _ = call0(s2, "alice", "frontend", 1, "my.metadata.get", "n")
	if diff := cmp.Diff(protocol.Dict{"big": int64(1) << 60, "f": 1.5}, v); diff != "" {
		t.Errorf("numbers after restart (-want +got):\n%s", diff)
	}
	if v, _ := call0(s2, "alice", "frontend", 1, "my.metadata.get", "missing"); v != nil {
		t.Errorf("missing key = %#v", v)
	}
	lv, _ := call0(s2, "alice", "frontend", 1, "my.metadata.list")
	l := lv.(protocol.Dict)
	if len(l) != 3 {
		t.Errorf("list = %v", l)
	}
	rec := l["color"].(protocol.Dict)
	if rec["value"] != "blue" || rec["uuid"] == "" || rec["owner"] == "" || rec["key"] != nil {
		t.Errorf("list record = %v", rec)
	}
	if _, err := s2.checkTicket(context.Background(), "alice", plain); err != nil {
		t.Errorf("API key after restart: %v", err)
	}
	if v, err := call0(s2, "alice", "frontend", 1, "my.metadata.delete", "color"); err != nil || v != nil {
		t.Errorf("delete = %v, %v", v, err)
	}
	s2.Close()
	s3, _ := newTestService(t, dir)
	if v, _ := call0(s3, "alice", "frontend", 1, "my.metadata.get", "color"); v != nil {
		t.Errorf("deleted key back after restart: %#v", v)
	}
	// Other users' data is separate.
	if v, _ := call0(s3, "bob", "backend", 1, "my.metadata.get", "cfg"); v != nil {
		t.Errorf("bob sees alice's metadata: %#v", v)
	}
	// The database holds only digests of OTPs and API keys.
	ov, _ := call0(s3, "alice", "frontend", 1, "my.otp.create")
	b, err := os.ReadFile(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), ov.(protocol.Dict)["plaintext_key"].(string)) {
		t.Error("OTP plaintext stored on disk")
	}
	if strings.Contains(string(b), plain) {
		t.Error("API key plaintext stored on disk")
	}
	if _, err := call0(s3, "alice", "frontend", 1, "my.metadata.set", "bad", "a: [", true); err == nil {
		t.Error("bad YAML accepted")
	}
}

func TestCorruptLegacyFileIsKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users", "alice.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestService(t, dir)
	if _, err := call0(s, "alice", "frontend", 1, "my.metadata.set", "k", "v"); err == nil {
		t.Error("write over unreadable data succeeded")
	}
	if _, err := call0(s, "alice", "frontend", 1, "my.metadata.get", "k"); err == nil {
		t.Error("read of unreadable data succeeded")
	}
	if _, err := call0(s, "bob", "backend", 1, "my.metadata.set", "k", "v"); err != nil {
		t.Errorf("another user's write failed: %v", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{not json" {
		t.Error("unreadable user file was changed")
	}
}

func TestLegacyFileNames(t *testing.T) {
	seen := map[string]string{}
	for _, l := range []string{"alice", "a.b@c-d_e", "../etc", "~616263", "abc", "a/b", ".hidden", strings.Repeat("x", 300)} {
		f := legacyFileName(l)
		if strings.ContainsAny(f, "/\\") || f == "" || f[0] == '.' {
			t.Errorf("login %q maps outside the users dir: %s", l, f)
		}
		if o, dup := seen[f]; dup {
			t.Errorf("logins %q and %q share %s", o, l, f)
		}
		seen[f] = l
		if len(l) <= 100 {
			if got, err := legacyLogin(f, l); err != nil || got != l {
				t.Errorf("legacyLogin(%q) = %q, %v; want %q", f, got, err, l)
			}
		}
	}
	if _, err := legacyLogin("alice", "bob"); err == nil {
		t.Error("a file holding another login's data accepted")
	}
}

func TestServiceArgs(t *testing.T) {
	s, _ := newTestService(t, "")
	if _, err := call0(s, "alice", "frontend", 1, "auth.whoami", "extra"); err == nil {
		t.Error("whoami with an argument accepted")
	}
	v, err := s.invoke(&call{name: "com.izaber.wamp.my.metadata.set", authid: "alice", role: "frontend",
		kwargs: protocol.Dict{"key": "k", "value": int64(3)}})
	if err != nil || v != int64(3) {
		t.Errorf("keyword arguments: %v, %v", v, err)
	}
	if _, err := s.invoke(&call{name: "my.metadata.set", authid: "alice", role: "frontend",
		args: protocol.List{"k", "v"}, kwargs: protocol.Dict{"nope": 1}}); err == nil {
		t.Error("unknown keyword accepted")
	}
	if _, err := call0(s, "ghost", "frontend", 1, "my.metadata.get", "k"); err == nil {
		t.Error("unknown user may use metadata")
	}
	if _, err := call0(s, "alice", "frontend", 1, "my.apikeys.create", protocol.Dict{"role": "trust"}); err == nil {
		t.Error("unknown API key field accepted")
	}
	if _, err := call0(s, "alice", "frontend", 1, "my.apikeys.create", protocol.Dict{"expires": "soon"}); err == nil {
		t.Error("bad expires accepted")
	}
	v, _ = call0(s, "alice", "frontend", 1, "auth.whoami")
	if diff := cmp.Diff(protocol.Dict{"authid": "alice", "role": "frontend"}, v); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	call0(s, "alice", "frontend", 1, "my.apikeys.create")
	lv, _ := call0(s, "alice", "frontend", 1, "my.apikeys.list")
	if len(lv.(protocol.List)) != 1 {
		t.Errorf("alice's keys: %v", lv)
	}
}

func TestRestrictedOTP(t *testing.T) {
	s, _ := newTestService(t, "")
	ov, err := call0(s, "alice", "frontend", 1, "my.otps.create", protocol.Dict{"permissions": protocol.List{
		protocol.Dict{"uri": "com.izaber.wamp.auth.whoami", "perms": "c"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	otp := ov.(protocol.Dict)
	ps := otp["permissions"].(protocol.List)
	if len(ps) != 1 || ps[0].(protocol.Dict)["uri"] != "com.izaber.wamp.auth.whoami" || ps[0].(protocol.Dict)["uuid"] == "" {
		t.Errorf("permissions = %v", ps)
	}
	id, err := s.checkTicket(context.Background(), "alice", otp["plaintext_key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.auth.whoami") {
		t.Error("restricted OTP may not call whoami")
	}
	if s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.metadata.get") {
		t.Error("restricted OTP may call outside its list")
	}
	for _, bad := range []any{"x", protocol.Dict{"description": "no"}, protocol.Dict{"permissions": "c"},
		protocol.Dict{"permissions": protocol.List{"c"}}, protocol.Dict{"permissions": protocol.List{protocol.Dict{"uri": "a"}}},
		protocol.Dict{"permissions": protocol.List{protocol.Dict{"uri": "a", "perms": "c", "x": 1}}},
		protocol.Dict{"permissions": protocol.List{protocol.Dict{"uri": "a", "perms": "c!"}}}} {
		if _, err := call0(s, "alice", "frontend", 1, "my.otp.create", bad); err == nil {
			t.Errorf("OTP request %v accepted", bad)
		}
	}
}

func TestNormalizeYAMLTypes(t *testing.T) {
	v, err := yamlLoad("i: 3\nbig: 18446744073709551615\nneg: -2\nf: 1.25\nb: true\nn: null\nm: {1: x}\nl: [a, 2]\n")
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.Dict{"i": int64(3), "big": uint64(18446744073709551615), "neg": int64(-2), "f": 1.25, "b": true,
		"n": nil, "m": protocol.Dict{"1": "x"}, "l": protocol.List{"a", int64(2)}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("yamlLoad (-want +got):\n%s", diff)
	}
}

func TestOTPSingleUseUnderConcurrency(t *testing.T) {
	s, _ := newTestService(t, t.TempDir())
	for round := 0; round < 3; round++ {
		ov, err := call0(s, "alice", "frontend", 1, "my.otp.create")
		if err != nil {
			t.Fatal(err)
		}
		plain := ov.(protocol.Dict)["plaintext_key"].(string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.checkTicket(context.Background(), "alice", plain); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Errorf("round %d: OTP accepted %d times, want once", round, ok)
		}
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	lg := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Config{UsersFile: writeUsers(t, testUsers), Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secrets := []string{"alice-pw", "wrong-secret-1", "carol-cra"}
	s.checkTicket(ctx, "alice", "alice-pw")
	s.checkTicket(ctx, "alice", "wrong-secret-1")
	s.checkTicket(ctx, "nobody", "wrong-secret-1")
	kv, _ := call0(s, "alice", "frontend", 1, "my.apikeys.create")
	key := kv.(protocol.Dict)["plaintext_key"].(string)
	secrets = append(secrets, key)
	s.checkTicket(ctx, "alice", key)
	runAuth(authByMethod(t, s, "wampcra"), &auth.Request{AuthID: "carol"}, auth.WAMPCRA("wrong-secret-1"))
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "failed logins") {
		t.Fatalf("expected refusals in the log, got:\n%s", out)
	}
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Errorf("log contains secret %q:\n%s", sec, out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
