package nexus_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

const rigUsers = `
users:
  - login: Craig
    role: backend
    wampcra_secret: craig-secret
    wampcra_salt: craig-salt
    wampcra_iterations: 100
    wampcra_keylen: 32
  - login: plaincra
    role: frontend
    wampcra_secret: plain-secret
  - login: alice
    password: alice-pw
    role: frontend
  - login: Bob
    password: bob-pw
    role: backend
  - login: carol
    password: carol-pw
    role: trust
  - login: dave
    password: dave-pw
    disabled: true
`

type rig struct {
	t   *testing.T
	svc *nexus.Service
	r   *router.Router
	ctx context.Context
	wg  sync.WaitGroup
	dir string
	ser protocol.Serializer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	leaktest.Guard(t) // no goroutine may outlive the router and its sessions
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte(rigUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := nexus.New(nexus.Config{UsersFile: users, DataDir: filepath.Join(dir, "data"), AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	rg := &rig{t: t, svc: svc, r: r, ctx: ctx, dir: dir, ser: protocol.JSON}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		if err := r.Close(cctx); err != nil {
			t.Errorf("router close: %v", err)
		}
		rg.wg.Wait()
		if err := svc.Close(); err != nil {
			t.Errorf("service close: %v", err)
		}
		cancel()
	})
	return rg
}

// dial joins realm izaber; ticket "" means anonymous.
func (rg *rig) dial(authid, ticket string) (*session.Session, error) {
	ser := rg.ser
	if ser == nil {
		ser = protocol.JSON
	}
	c, s := transport.Pipe(ser)
	rg.wg.Add(1)
	go func() {
		defer rg.wg.Done()
		rg.r.ServePeer(rg.ctx, s)
	}()
	return joinIzaber(rg.ctx, rg.t, c, authid, ticket)
}

// joinIzaber joins realm izaber over peer as authid with ticket ("" means
// anonymous); the session closes when the test ends, the peer when the
// join fails.
func joinIzaber(ctx context.Context, t *testing.T, peer transport.Peer, authid, ticket string) (*session.Session, error) {
	cfg := session.Config{Realm: "izaber", AuthID: authid}
	if ticket != "" {
		cfg.Auth = []auth.ClientMethod{auth.Ticket(ticket)}
	}
	s, err := session.Join(ctx, peer, cfg)
	if err != nil {
		peer.Close()
		return nil, err
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(cctx)
	})
	return s, nil
}

func (rg *rig) join(authid, ticket string) *session.Session {
	rg.t.Helper()
	s, err := rg.dial(authid, ticket)
	if err != nil {
		rg.t.Fatalf("join %s: %v", authid, err)
	}
	return s
}

// call calls uri and returns the first result argument.
func (rg *rig) call(s *session.Session, uri string, args ...any) (any, error) {
	res, err := s.Call(rg.ctx, uri, protocol.List(args), nil)
	if err != nil {
		return nil, err
	}
	if len(res.Args) != 1 {
		rg.t.Errorf("%s returned %d arguments, want 1: %v", uri, len(res.Args), res.Args)
		return nil, nil
	}
	return res.Args[0], nil
}

func (rg *rig) mustCall(s *session.Session, uri string, args ...any) any {
	rg.t.Helper()
	v, err := rg.call(s, uri, args...)
	if err != nil {
		rg.t.Fatalf("%s: %v", uri, err)
	}
	return v
}

func wantError(t *testing.T, err error, uri, contains string) {
	t.Helper()
	var se *session.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *session.Error", err)
	}
	if se.URI != uri {
		t.Errorf("error URI = %q, want %q (%v)", se.URI, uri, se.Args)
	}
	if len(se.Args) == 0 {
		t.Errorf("error %s has no message", se.URI)
		return
	}
	msg, _ := se.Args[0].(string)
	if !strings.Contains(msg, contains) {
		t.Errorf("error message %q does not contain %q", msg, contains)
	}
}

func TestWelcomeAndWhoami(t *testing.T) {
	rg := newRig(t)
	s := rg.join("ALICE", "alice-pw")
	info := s.Info()
	if info.AuthID != "alice" || info.AuthRole != "frontend" || info.AuthMethod != "ticket" || info.AuthProvider != "nexus" {
		t.Errorf("WELCOME info = %+v", info)
	}
	if id, _ := info.AuthExtra["cache_id"].(string); id == "" || info.AuthExtra["has_restrictions"] != false {
		t.Errorf("authextra = %v", info.AuthExtra)
	}
	if diff := cmp.Diff(map[string]any{"authid": "alice", "role": "frontend"}, rg.mustCall(s, "com.izaber.wamp.auth.whoami")); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	// As on Nexus, frontend may call only the prefixed whoami, and
	// anonymous sessions neither.
	_, err := rg.call(s, "auth.whoami")
	wantError(t, err, "wamp.error.not_authorized", `to call procedure "auth.whoami"`)
	anon := rg.join("", "")
	if anon.Info().AuthRole != "public" {
		t.Errorf("anonymous role = %q", anon.Info().AuthRole)
	}
	_, err = rg.call(anon, "com.izaber.wamp.auth.whoami")
	wantError(t, err, "wamp.error.not_authorized", `to call procedure "com.izaber.wamp.auth.whoami"`)
	carol := rg.join("carol", "carol-pw")
	for _, uri := range []string{"auth.whoami", "com.izaber.wamp.auth.whoami"} {
		if diff := cmp.Diff(map[string]any{"authid": "carol", "role": "trust"}, rg.mustCall(carol, uri)); diff != "" {
			t.Errorf("trust %s (-want +got):\n%s", uri, diff)
		}
	}
}

func TestBadLoginAbort(t *testing.T) {
	rg := newRig(t)
	for _, c := range []struct{ authid, ticket string }{
		{"alice", "wrong"}, {"nobody", "alice-pw"}, {"dave", "dave-pw"},
	} {
		_, err := rg.dial(c.authid, c.ticket)
		var ab *session.AbortError
		if !errors.As(err, &ab) {
			t.Fatalf("%s: error %v is not an ABORT", c.authid, err)
		}
		if ab.Reason != "com.izaber.wamp.error.permissiondenied" || ab.Message != "Permission Denied" {
			t.Errorf("%s: ABORT %q %q", c.authid, ab.Reason, ab.Message)
		}
	}
}

func TestPermissionDenials(t *testing.T) {
	rg := newRig(t)
	alice := rg.join("alice", "alice-pw")
	id := alice.Info().Session
	_, err := alice.Register(rg.ctx, "com.example.proc", func(context.Context, *session.Invocation) (*session.Result, error) {
		return nil, nil
	})
	wantError(t, err, "wamp.error.not_authorized", `is not authorized to register procedure "com.example.proc" on realm "izaber"`)
	_, err = rg.call(alice, "com.example.other")
	wantError(t, err, "wamp.error.not_authorized",
		`session (session_id=`+itoa(id)+`, authid="alice", authrole="frontend") is not authorized to call procedure "com.example.other" on realm "izaber"`)
	_, err = alice.Subscribe(rg.ctx, "com.example.topic", func(*session.Event) {})
	wantError(t, err, "wamp.error.not_authorized", `is not authorized to subscribe to topic "com.example.topic"`)

	anon := rg.join("", "")
	_, err = rg.call(anon, "com.izaber.wamp.my.metadata.get", "k")
	wantError(t, err, "wamp.error.not_authorized", `to call procedure "com.izaber.wamp.my.metadata.get"`)

	// backend may register under com.izaber.wamp.; trust may do anything.
	bob := rg.join("bob", "bob-pw")
	_, err = bob.Register(rg.ctx, "com.example.proc", func(context.Context, *session.Invocation) (*session.Result, error) {
		return nil, nil
	})
	wantError(t, err, "wamp.error.not_authorized", `is not authorized to register procedure "com.example.proc"`)
	if _, err := bob.Register(rg.ctx, "com.izaber.wamp.example.proc", func(context.Context, *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"hi"}}, nil
	}); err != nil {
		t.Fatalf("backend register: %v", err)
	}
	carol := rg.join("carol", "carol-pw")
	if v := rg.mustCall(carol, "com.izaber.wamp.example.proc"); v != "hi" {
		t.Errorf("trust call = %v", v)
	}
	// Roster permission failures use Nexus's own URI.
	_, err = rg.call(alice, "com.izaber.wamp.system.roster.register", "not.a.roster", "x", nil)
	wantError(t, err, "com.izaber.wamp.error.permissiondenied", "Permission Denied")
	_, err = rg.call(alice, "com.izaber.wamp.system.roster.register", "roster.x", "x", "")
	wantError(t, err, "com.izaber.wamp.error", "visibility")
}

func itoa(id protocol.ID) string {
	const digits = "0123456789"
	if id == 0 {
		return "0"
	}
	var b []byte
	for id > 0 {
		b = append([]byte{digits[id%10]}, b...)
		id /= 10
	}
	return string(b)
}

func TestRosterOverWire(t *testing.T) {
	rg := newRig(t)
	alice := rg.join("alice", "alice-pw")
	bob := rg.join("bob", "bob-pw")
	anon := rg.join("", "")

	rec := rg.mustCall(alice, "com.izaber.wamp.system.roster.register", "roster.chat", map[string]any{"name": "alice"}, nil).(map[string]any)
	aid := alice.Info().Session
	want := map[string]any{
		"key": itoa(aid) + "_roster.chat", "name": "roster.chat", "session_id": int64(aid),
		"visibility": "*", "data": map[string]any{"name": "alice"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, rec[k]); diff != "" {
			t.Errorf("record[%q] (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"created", "uuid", "owner"} {
		if rec[k] == nil {
			t.Errorf("record lacks %q: %v", k, rec)
		}
	}
	rg.mustCall(bob, "com.izaber.wamp.system.roster.register", "roster.chat", "bob-only-backends", "backend")
	rg.mustCall(bob, "com.izaber.wamp.system.roster.register", "roster.chat", "bob", protocol.List{"frontend", "public"}) // same session+name: replaces

	q := func(s *session.Session, uri string) any { return rg.mustCall(s, uri, "roster.chat") }
	if diff := cmp.Diff([]any{map[string]any{"name": "alice"}, "bob"}, q(anon, "com.izaber.wamp.system.roster.query")); diff != "" {
		t.Errorf("public query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{map[string]any{"name": "alice"}}, q(bob, "com.izaber.wamp.system.roster.query")); diff != "" {
		t.Errorf("backend query (-want +got):\n%s", diff)
	}
	if v := rg.mustCall(alice, "com.izaber.wamp.system.roster.unregister", "roster.chat"); v != true {
		t.Errorf("unregister = %v", v)
	}
	if v := rg.mustCall(alice, "com.izaber.wamp.system.roster.unregister", "roster.chat"); v != true {
		t.Errorf("second unregister = %v", v)
	}
	if diff := cmp.Diff([]any{"bob"}, q(anon, "com.izaber.wamp.system.roster.query")); diff != "" {
		t.Errorf("after unregister (-want +got):\n%s", diff)
	}
	// Entries go when their session leaves.
	if err := bob.Close(rg.ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := q(anon, "com.izaber.wamp.system.roster.query").([]any)
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roster entry of a closed session still listed: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetadataOverWire(t *testing.T) {
	rg := newRig(t)
	alice := rg.join("alice", "alice-pw")
	for i, p := range []string{"", "com.izaber.wamp."} {
		key := "color" + itoa(protocol.ID(i+1))
		if v := rg.mustCall(alice, p+"my.metadata.set", key, "blue", false); v != "blue" {
			t.Errorf("%sset = %v", p, v)
		}
		if v := rg.mustCall(alice, p+"my.metadata.get", key); v != "blue" {
			t.Errorf("%sget = %v", p, v)
		}
		y := rg.mustCall(alice, p+"my.metadata.set", key+"y", "a: 1\n", true)
		if y != "a: 1\n" {
			t.Errorf("%sset yaml = %#v", p, y)
		}
		if diff := cmp.Diff(map[string]any{"a": int64(1)}, rg.mustCall(alice, p+"my.metadata.get", key+"y")); diff != "" {
			t.Errorf("%sget of yaml value (-want +got):\n%s", p, diff)
		}
		if v := rg.mustCall(alice, p+"my.metadata.get", "missing"); v != nil {
			t.Errorf("%sget missing = %v", p, v)
		}
	}
	l := rg.mustCall(alice, "com.izaber.wamp.my.metadata.list").(map[string]any)
	if len(l) != 4 {
		t.Errorf("list = %v", l)
	}
	r := l["color1"].(map[string]any)
	if r["value"] != "blue" || r["uuid"] == nil || r["owner"] == nil {
		t.Errorf("list record = %v", r)
	}
	if _, has := r["key"]; has {
		t.Errorf("list record has key: %v", r)
	}
	if v, err := rg.call(alice, "my.metadata.delete", "color1"); err != nil || v != nil {
		t.Errorf("delete = %v, %v", v, err)
	}
	if v, err := rg.call(alice, "com.izaber.wamp.my.metadata.delete", "color2"); err != nil || v != nil {
		t.Errorf("prefixed delete = %v, %v", v, err)
	}
	if l := rg.mustCall(alice, "my.metadata.list").(map[string]any); len(l) != 2 {
		t.Errorf("list after delete = %v", l)
	}
	_, err := rg.call(alice, "my.metadata.set", "k", "a: [", true)
	wantError(t, err, "com.izaber.wamp.error", "YAML")
	_, err = rg.call(alice, "my.metadata.get")
	wantError(t, err, "com.izaber.wamp.error", "missing required argument 'key'")
}

func TestAPIKeysAndOTPsOverWire(t *testing.T) {
	rg := newRig(t)
	alice := rg.join("alice", "alice-pw")

	key := rg.mustCall(alice, "com.izaber.wamp.my.apikeys.create", nil).(map[string]any)
	var fields []string
	for k := range key {
		fields = append(fields, k)
	}
	if len(key) != 7 || key["plaintext_key"] == nil || key["description"] != "" || key["expires"] != nil {
		t.Errorf("API key = %v (fields %v)", key, fields)
	}
	key2 := rg.mustCall(alice, "my.apikeys.create", map[string]any{"description": "second"}).(map[string]any)
	if key2["description"] != "second" {
		t.Errorf("described key = %v", key2)
	}
	for _, p := range []string{"", "com.izaber.wamp."} {
		if l := rg.mustCall(alice, p+"my.apikeys.list").([]any); len(l) != 2 {
			t.Errorf("%sapikeys.list = %v", p, l)
		}
	}

	// Log in with the API key: restricted.
	ks := rg.join("Alice", key["plaintext_key"].(string))
	if ks.Info().AuthExtra["has_restrictions"] != true || ks.Info().AuthRole != "frontend" {
		t.Errorf("API key session info = %+v", ks.Info())
	}
	if v := rg.mustCall(ks, "com.izaber.wamp.auth.whoami").(map[string]any); v["authid"] != "alice" {
		t.Errorf("API key whoami = %v", v)
	}
	rg.mustCall(ks, "my.metadata.set", "via", "key")
	for _, uri := range []string{
		"com.izaber.wamp.my.apikeys.create", "my.apikeys.create",
		"com.izaber.wamp.my.otps.create", "my.otps.create", "com.izaber.wamp.my.otp.create", "my.otp.create",
	} {
		_, err := rg.call(ks, uri)
		wantError(t, err, "wamp.error.not_authorized", "is not authorized")
	}

	// OTPs through both URI forms; each works once.
	for _, p := range []string{"my.otp.", "com.izaber.wamp.my.otps.", "my.otps.", "com.izaber.wamp.my.otp."} {
		otp := rg.mustCall(alice, p+"create").(map[string]any)
		for _, f := range []string{"uuid", "origin", "expires", "permissions", "key", "owner", "login", "plaintext_key"} {
			if _, ok := otp[f]; !ok {
				t.Errorf("%screate lacks %q: %v", p, f, otp)
			}
		}
		if otp["login"] != "alice" || len(otp["permissions"].([]any)) != 0 {
			t.Errorf("%screate = %v", p, otp)
		}
		exp, err := time.Parse(time.RFC3339Nano, otp["expires"].(string))
		if err != nil || exp.Sub(time.Now()) < 9*time.Minute || exp.Sub(time.Now()) > 11*time.Minute {
			t.Errorf("%screate expires = %v (%v)", p, otp["expires"], err)
		}
		l := rg.mustCall(alice, p+"list").([]any)
		if len(l) != 1 || l[0].(map[string]any)["plaintext_key"] != nil {
			t.Errorf("%slist = %v", p, l)
		}
		os := rg.join("alice", otp["plaintext_key"].(string))
		if os.Info().AuthExtra["has_restrictions"] != true {
			t.Errorf("OTP session authextra = %v", os.Info().AuthExtra)
		}
		_, err = rg.call(os, "com.izaber.wamp.my.otps.create")
		wantError(t, err, "wamp.error.not_authorized", "is not authorized")
		_, err = rg.dial("alice", otp["plaintext_key"].(string))
		var ab *session.AbortError
		if !errors.As(err, &ab) || ab.Reason != "com.izaber.wamp.error.permissiondenied" {
			t.Errorf("second OTP login: %v", err)
		}
		if l := rg.mustCall(alice, p+"list").([]any); len(l) != 0 {
			t.Errorf("%slist after use = %v", p, l)
		}
		// delete
		otp = rg.mustCall(alice, p+"create").(map[string]any)
		if v := rg.mustCall(alice, p+"delete", otp["uuid"]); v != true {
			t.Errorf("%sdelete = %v", p, v)
		}
		if _, err := rg.dial("alice", otp["plaintext_key"].(string)); err == nil {
			t.Errorf("deleted OTP still logs in")
		}
	}

	// Deleting the API key ends its session's access and its logins.
	for i, p := range []string{"my.apikeys.delete", "com.izaber.wamp.my.apikeys.delete"} {
		k := []map[string]any{key, key2}[i]
		if v := rg.mustCall(alice, p, k["uuid"]); v != true {
			t.Errorf("%s = %v", p, v)
		}
	}
	_, err := rg.call(ks, "com.izaber.wamp.auth.whoami")
	wantError(t, err, "wamp.error.not_authorized", "is not authorized")
	if _, err := rg.dial("alice", key["plaintext_key"].(string)); err == nil {
		t.Error("deleted API key still logs in")
	}
}

func TestPersistenceAcrossRouters(t *testing.T) {
	rg := newRig(t)
	alice := rg.join("alice", "alice-pw")
	rg.mustCall(alice, "my.metadata.set", "theme", map[string]any{"dark": true, "size": int64(12)})
	key := rg.mustCall(alice, "my.apikeys.create").(map[string]any)
	rg.svc.Close() // releases the data directory

	svc2, err := nexus.New(nexus.Config{UsersFile: filepath.Join(rg.dir, "users.yaml"), DataDir: filepath.Join(rg.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "izaber", Authenticators: svc2.Authenticators(), Authorizer: svc2.Authorizer()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc2.Install(r2.Realm("izaber")); err != nil {
		t.Fatal(err)
	}
	rg2 := &rig{t: t, svc: svc2, r: r2, ctx: rg.ctx}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r2.Close(cctx)
		rg2.wg.Wait()
		svc2.Close()
	})
	s2 := rg2.join("alice", key["plaintext_key"].(string))
	if diff := cmp.Diff(map[string]any{"dark": true, "size": int64(12)}, rg2.mustCall(s2, "com.izaber.wamp.my.metadata.get", "theme")); diff != "" {
		t.Errorf("metadata after restart (-want +got):\n%s", diff)
	}
	if err := svc2.Install(r2.Realm("izaber")); err == nil {
		t.Error("second Install on one realm succeeded")
	}
}

func TestEveryServiceRegisteredTwice(t *testing.T) {
	rg := newRig(t)
	carol := rg.join("carol", "carol-pw")
	names := []string{
		"auth.whoami", "auth.reauthenticate", "auth.reauthenticate_expire", "auth.is_reauthenticated",
		"auth.extend_reauthenticate", "auth.refresh_authorizer", "ad.users", "ad.groups",
		"system.roster.register", "system.roster.unregister", "system.roster.query",
		"my.metadata.set", "my.metadata.get", "my.metadata.list", "my.metadata.delete",
		"my.apikeys.create", "my.apikeys.list", "my.apikeys.delete",
		"my.otp.create", "my.otp.list", "my.otp.delete",
		"my.otps.create", "my.otps.list", "my.otps.delete",
		"system.otp.create", "system.otp.list", "system.otp.delete",
	}
	// Nexus registers its deprecated aliases (and auth.authenticate) only
	// under com.izaber.wamp.
	prefixedOnly := []string{
		"auth.authenticate", "system.reauthenticate", "system.is_reauthenticated", "system.extend_reauthenticate",
		"directory.users", "directory.groups", "system.preference.get", "system.preference.set",
	}
	for _, n := range prefixedOnly {
		_, err := carol.Call(rg.ctx, n, nil, nil)
		wantError(t, err, "wamp.error.no_such_procedure", "")
	}
	for _, n := range append(names, prefixedOnly...) {
		for _, uri := range []string{n, "com.izaber.wamp." + n} {
			if !strings.HasPrefix(uri, "com.") && slices.Contains(prefixedOnly, n) {
				continue
			}
			// Too many arguments: the service itself must answer, with
			// Nexus's generic error URI (not no_such_procedure).
			_, err := carol.Call(rg.ctx, uri, protocol.List{1, 2, 3, 4, 5}, nil)
			wantError(t, err, "com.izaber.wamp.error", "takes at most")
		}
	}
}

func TestShapesOverEverySerializer(t *testing.T) {
	for _, ser := range []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR} {
		t.Run(ser.Name(), func(t *testing.T) {
			rg := newRig(t)
			rg.ser = ser
			alice := rg.join("alice", "alice-pw")
			rec := rg.mustCall(alice, "com.izaber.wamp.system.roster.register", "roster.s", protocol.List{int64(1), "x", true}, nil).(map[string]any)
			if rec["session_id"] != int64(alice.Info().Session) {
				t.Errorf("session_id = %#v", rec["session_id"])
			}
			if _, ok := rec["created"].(float64); !ok {
				t.Errorf("created = %#v", rec["created"])
			}
			if diff := cmp.Diff([]any{[]any{int64(1), "x", true}}, rg.mustCall(alice, "com.izaber.wamp.system.roster.query", "roster.s")); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			v := map[string]any{"n": int64(-5), "f": 2.5, "l": []any{"a", nil}}
			if diff := cmp.Diff(v, rg.mustCall(alice, "my.metadata.set", "k", v)); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(v, rg.mustCall(alice, "com.izaber.wamp.my.metadata.get", "k")); diff != "" {
				t.Errorf("get (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{"authid": "alice", "role": "frontend"}, rg.mustCall(alice, "com.izaber.wamp.auth.whoami")); diff != "" {
				t.Errorf("whoami (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWAMPCRAOverWire(t *testing.T) {
	rg := newRig(t)
	for _, c := range []struct{ authid, secret, role string }{
		{"CRAIG", "craig-secret", "backend"},
		{"plaincra", "plain-secret", "frontend"},
	} {
		cl, sv := transport.Pipe(protocol.JSON)
		rg.wg.Add(1)
		go func() { defer rg.wg.Done(); rg.r.ServePeer(rg.ctx, sv) }()
		s, err := session.Join(rg.ctx, cl, session.Config{Realm: "izaber", AuthID: c.authid, Auth: []auth.ClientMethod{auth.WAMPCRA(c.secret)}})
		if err != nil {
			t.Fatalf("%s: %v", c.authid, err)
		}
		info := s.Info()
		if info.AuthID != strings.ToLower(c.authid) || info.AuthRole != c.role || info.AuthMethod != "wampcra" || info.AuthProvider != "nexus" {
			t.Errorf("%s: info %+v", c.authid, info)
		}
		if diff := cmp.Diff(map[string]any{"authid": strings.ToLower(c.authid), "role": c.role}, rg.mustCall(s, "com.izaber.wamp.auth.whoami")); diff != "" {
			t.Errorf("whoami (-want +got):\n%s", diff)
		}
		if err := s.Close(rg.ctx); err != nil {
			t.Error(err)
		}
		cl2, sv2 := transport.Pipe(protocol.JSON)
		rg.wg.Add(1)
		go func() { defer rg.wg.Done(); rg.r.ServePeer(rg.ctx, sv2) }()
		_, err = session.Join(rg.ctx, cl2, session.Config{Realm: "izaber", AuthID: c.authid, Auth: []auth.ClientMethod{auth.WAMPCRA("wrong")}})
		var ab *session.AbortError
		if !errors.As(err, &ab) || ab.Reason != "com.izaber.wamp.error.permissiondenied" || ab.Message != "Permission Denied" {
			t.Errorf("%s with a wrong secret: %v", c.authid, err)
		}
		cl2.Close()
	}
}
