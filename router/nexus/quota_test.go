package nexus_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Quotas come from Config.Quotas and the users file's quotas: section
// (which wins); each counted entry kind is bounded per user, a refusal
// names the quota, and freeing an entry makes room again.
func TestQuotasConfigurable(t *testing.T) {
	users := wireUsers + `
quotas:
  metadata_keys: 3
  metadata_bytes_per_user: 300
  api_keys: 2
  otps: 2
  roster_entries: 2
  key_permissions: 1
  metadata_key_bytes: -1
`
	sr := newSockRig(t, users, func(c *nexus.Config) {
		c.Quotas = nexus.Quotas{MetadataKeys: 100, APIKeys: 100, RosterDataBytes: 50}
	})
	alice := sr.join("alice", "alice-pw")
	quota := func(err error, name string, limit int64) {
		t.Helper()
		var se *session.Error
		if !errors.As(err, &se) || se.URI != quotaExceeded {
			t.Fatalf("%s: %v, want %s", name, err, quotaExceeded)
		}
		if se.Kwargs["quota"] != name || se.Kwargs["limit"] != limit {
			t.Errorf("%s: kwargs %v", name, se.Kwargs)
		}
		if msg, _ := se.Args[0].(string); !strings.Contains(msg, name) {
			t.Errorf("%s: message %q does not name the quota", name, msg)
		}
	}

	// Metadata keys: the file's 3 beats Config's 100; replacing a value
	// is not a new key; deleting one makes room.
	for _, k := range []string{"a", "b", "c"} {
		sr.mustCall(alice, "my.metadata.set", k, "v")
	}
	sr.mustCall(alice, "my.metadata.set", "a", "v2")
	_, err := sr.call(alice, "my.metadata.set", "d", "v")
	quota(err, "metadata_keys", 3)
	sr.mustCall(alice, "my.metadata.delete", "c")
	sr.mustCall(alice, "my.metadata.set", "d", "v")
	// Bytes per user: all values together.
	_, err = sr.call(alice, "my.metadata.set", "d", strings.Repeat("x", 290))
	quota(err, "metadata_bytes_per_user", 300)
	if v := sr.mustCall(alice, "my.metadata.get", "d"); v != "v" {
		t.Errorf("refused value replaced the old one: %v", v)
	}
	// A negative quota is no limit.
	sr.mustCall(alice, "my.metadata.delete", "d")
	sr.mustCall(alice, "my.metadata.set", strings.Repeat("k", 1000), "v")
	sr.mustCall(alice, "my.metadata.delete", strings.Repeat("k", 1000))
	_, err = sr.call(alice, "my.metadata.set", strings.Repeat("k", 40000), "v")
	quota(err, "metadata_key_bytes", 32768) // bbolt's own key limit
	if _, err := sr.call(alice, "my.metadata.set", "", "v"); errURI(err) != "com.izaber.wamp.error" {
		t.Errorf("empty metadata key: %v", err)
	}

	// API keys and their permissions.
	for range 2 {
		sr.mustCall(alice, "my.apikeys.create")
	}
	_, err = sr.call(alice, "my.apikeys.create")
	quota(err, "api_keys", 2)
	_, err = sr.call(alice, "my.apikeys.create", map[string]any{"permissions": []any{
		map[string]any{"uri": "a", "perms": "c"}, map[string]any{"uri": "b", "perms": "c"}}})
	quota(err, "key_permissions", 1)

	// OTPs.
	for range 2 {
		sr.mustCall(alice, "my.otps.create")
	}
	_, err = sr.call(alice, "my.otps.create")
	quota(err, "otps", 2)

	// Roster entries count per user over all its sessions; data size from Config.
	alice2 := sr.join("alice", "alice-pw")
	sr.mustCall(alice, "com.izaber.wamp.system.roster.register", "roster.a", "x", nil)
	sr.mustCall(alice2, "com.izaber.wamp.system.roster.register", "roster.a", "y", nil)
	_, err = sr.call(alice2, "com.izaber.wamp.system.roster.register", "roster.b", "z", nil)
	quota(err, "roster_entries", 2)
	sr.mustCall(alice2, "com.izaber.wamp.system.roster.register", "roster.a", "y2", nil) // replaces: no new entry
	_, err = sr.call(alice2, "com.izaber.wamp.system.roster.register", "roster.a", strings.Repeat("y", 60), nil)
	quota(err, "roster_data_bytes", 50)
	if err := alice2.Close(sr.ctx); err != nil {
		t.Fatal(err)
	}
	// Closing a session gives its entries back (the router runs leave
	// hooks after the session is gone: poll until then).
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := sr.call(alice, "com.izaber.wamp.system.roster.register", "roster.b", "z", nil)
		if err == nil {
			break
		}
		if errURI(err) != quotaExceeded || time.Now().After(deadline) {
			t.Fatalf("roster quota not released when a session left: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PermissiveRoles lets frontend and backend do everything; it is an
// explicit choice, for development.
func TestPermissiveRoles(t *testing.T) {
	sr := newSockRig(t, wireUsers, func(c *nexus.Config) { c.PermissiveRoles = true })
	bob := sr.join("bob", "bob-pw")
	alice := sr.join("alice", "alice-pw")
	for _, s := range []*session.Session{bob, alice} {
		for _, uri := range []string{"auth.whoami", "wamp.session.count", "com.izaber.wamp.auth.whoami"} {
			if _, err := sr.call(s, uri); err != nil {
				t.Errorf("%s %s: %v", s.Info().AuthRole, uri, err)
			}
		}
	}
	if _, err := alice.Subscribe(sr.ctx, "com.example.topic", func(*session.Event) {}); err != nil {
		t.Errorf("permissive frontend subscribe: %v", err)
	}
	anon := sr.join("", "")
	if _, err := sr.call(anon, "wamp.session.count"); errURI(err) != notAuthorized {
		t.Errorf("anonymous under PermissiveRoles: %v", err)
	}
}

// AllowReadableSecrets accepts a readable users file with a warning; a
// readable file with hashes only is accepted with a warning; a private one
// without.
func TestReadableUsersFileWarnings(t *testing.T) {
	hashed, err := nexus.HashPassword("alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, body string
		mode       os.FileMode
		allow      bool
		warn       string
	}{
		{"plaintext, allowed", wireUsers, 0o644, true, "plaintext secrets"},
		{"hashes only", "users:\n  - {login: alice, password_hash: \"" + hashed + "\"}\n", 0o640, false, "password hashes"},
		{"private", wireUsers, 0o600, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.yaml")
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var buf bytes.Buffer
			lg := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
			svc, err := nexus.New(nexus.Config{UsersFile: path, AllowReadableSecrets: c.allow, Logger: lg})
			if err != nil {
				t.Fatal(err)
			}
			svc.Close()
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			if c.warn == "" && out != "" || c.warn != "" && !strings.Contains(out, c.warn) {
				t.Errorf("log %q, want a warning about %q", out, c.warn)
			}
			if strings.Contains(out, "alice-pw") {
				t.Errorf("log quotes a password: %s", out)
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
