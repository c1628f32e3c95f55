package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// oldNexus serves realm izaber with a my.apikeys.list that returns
// plaintext_key, as Nexus versions that keep keys in plaintext do.
func oldNexus(t *testing.T, secret string) string {
	t.Helper()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber",
		Authenticators: []auth.Authenticator{auth.TicketAuthenticator(func(_ context.Context, req *auth.Request, _ string) (*auth.Identity, error) {
			return &auth.Identity{AuthID: req.AuthID, AuthRole: "backend"}, nil
		})},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Realm("izaber").RegisterInternal("com.izaber.wamp.my.apikeys.list", func(context.Context, *router.SessionInfo, *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{protocol.List{protocol.Dict{
			"uuid": "old-nexus-key", "key": "digest", "plaintext_key": secret, "description": "from an old Nexus",
		}}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Close(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// `apikeys list` prints no secret, whether the server keeps none (ours)
// or still returns plaintext_key (older Nexus).
func TestAPIKeysListShowsNoSecret(t *testing.T) {
	const secret = "OLD-NEXUS-PLAINTEXT-KEY-0123456789"
	c := as(t, "backend-1", "apikeys", "list")
	c.env["IZABER_URL"] = oldNexus(t, secret)
	r := c.want(exitOK)
	if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
		t.Errorf("apikeys list printed a plaintext key:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "old-nexus-key") || !strings.Contains(r.stdout, "from an old Nexus") {
		t.Errorf("apikeys list lost the key's other fields:\n%s", r.stdout)
	}

	created := decodeLine(t, as(t, "frontend-1", "apikeys", "create").want(exitOK).stdout).(map[string]any)
	plain, _ := created["plaintext_key"].(string)
	if plain == "" {
		t.Fatalf("create printed no plaintext_key: %v", created)
	}
	r = as(t, "frontend-1", "apikeys", "list").want(exitOK)
	if strings.Contains(r.stdout, plain) || strings.Contains(r.stdout, "plaintext_key") || !strings.Contains(r.stdout, created["uuid"].(string)) {
		t.Errorf("apikeys list against our router:\n%s", r.stdout)
	}
}

// `izaber-wamp router hash-password` prints a password_hash that the
// users file accepts and that logs the user in.
func TestRouterHashPassword(t *testing.T) {
	var out, errb bytes.Buffer
	if code := hashPassword(strings.NewReader("correct horse\n"), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	hash := strings.TrimSpace(out.String())
	if !strings.HasPrefix(hash, "$pbkdf2-sha256$") || strings.Contains(out.String()+errb.String(), "correct horse") {
		t.Fatalf("hash %q (stderr %q)", hash, errb.String())
	}
	users := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  - {login: alice, password_hash: \""+hash+"\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := nexus.New(nexus.Config{UsersFile: users}) // hashes only: a readable file is accepted
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer()}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer r.Close(ctx)
	for _, c := range []struct {
		pw string
		ok bool
	}{{"correct horse", true}, {"correct horse ", false}} {
		cl, sv := transport.Pipe(protocol.JSON)
		go r.ServePeer(ctx, sv)
		s, err := session.Join(ctx, cl, session.Config{Realm: "izaber", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket(c.pw)}})
		if (err == nil) != c.ok {
			t.Errorf("login with %q: %v", c.pw, err)
		}
		if err == nil {
			s.Close(ctx)
		} else {
			cl.Close()
		}
	}
	for _, stdin := range []string{"\n", ""} {
		out.Reset()
		if code := hashPassword(strings.NewReader(stdin), &out, &errb); code == exitOK || out.Len() != 0 {
			t.Errorf("hash-password < %q: exit %d, stdout %q", stdin, code, out.String())
		}
	}

	// Through the command line: stdin (here empty), never arguments.
	if r := as(t, "", "router", "hash-password").want(1); !strings.Contains(r.stderr, "empty password") {
		t.Errorf("empty stdin: %q", r.stderr)
	}
	as(t, "", "router", "hash-password", "secret").want(exitUsage)
	if r := as(t, "", "router", "hash-password", "--help").want(exitOK); !strings.Contains(r.stdout, "password_hash") {
		t.Errorf("help: %q", r.stdout)
	}
}
