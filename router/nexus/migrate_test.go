package nexus

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// testdata/olddata was written by the router of commit f3abe3a (one JSON
// file per user, API keys in plaintext beside their digests), through its
// WebSocket API: users alice, Zoë (a login stored under a hex file name)
// and bob (no data). These are the secrets it printed.
const (
	oldKey1     = "HGRX8WhjKCa7dnMn3TbZU8pvjMY0g8EK" // alice, "build server"
	oldKey1UUID = "jQ7iWVbo0oTxAkGfovsKaw"
	oldKey2     = "LQq3hK1Xx6AyorCwYReeUsn6Fq5Rpt9x" // alice, "restricted", may call my.metadata.get only
	oldKey2UUID = "dbHRgJHLwZSaX3uIuxSRkw"
	oldOTP      = "DjqQeAnFVn_wL758DOeqmaurbzIbHdAX" // alice, expires 2026-11-29T14:38:41Z
	oldZoeKey   = "kzyjqbWfTeFt5uuABvNIVGbhFx4OU40B"
)

// copyOldData copies testdata/olddata into a new data directory and
// returns it with a users file (mode 0600) for the same users.
func copyOldData(t *testing.T) (dataDir, usersFile string) {
	t.Helper()
	root := t.TempDir()
	dataDir = filepath.Join(root, "data")
	err := filepath.WalkDir("testdata/olddata/users", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dataDir, "users", d.Name())
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/olddata/users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	usersFile = filepath.Join(root, "users.yaml")
	if err := os.WriteFile(usersFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dataDir, usersFile
}

func openOld(t *testing.T, dataDir, usersFile string) *Service {
	t.Helper()
	s, err := New(Config{UsersFile: usersFile, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeService(s) })
	// While the OTP in testdata is still valid.
	s.now = func() time.Time { return time.Date(2026, 11, 29, 14, 30, 0, 0, time.UTC) }
	return s
}

// closeService closes s where Service has Close (it had none before the
// bbolt store), so that this file also runs against the old code.
func closeService(s any) {
	if c, ok := s.(interface{ Close() error }); ok {
		c.Close()
	}
}

// A data directory written by the old code keeps working: every value with
// its type, every API key and OTP logs in, and no plaintext key is left on
// disk or in list.
func TestMigrateOldDataDir(t *testing.T) {
	// The digests in testdata use Nexus's PBKDF2 rounds.
	rounds := keyDigestRounds
	keyDigestRounds = nexusKeyRounds
	t.Cleanup(func() { keyDigestRounds = rounds })
	ctx := context.Background()
	dataDir, usersFile := copyOldData(t)
	s := openOld(t, dataDir, usersFile)

	want := protocol.Dict{
		"str": "hello", "int": int64(42), "big": uint64(18446744073709551615), "float": 2.5,
		"nested":  protocol.Dict{"darkmode": true, "list": protocol.List{int64(1), "two", nil}},
		"yamlkey": protocol.Dict{"a": int64(1), "b": protocol.List{"x", "y"}},
	}
	check := func(s *Service, when string) {
		t.Helper()
		for k, v := range want {
			got, err := call0(s, "alice", "frontend", 1, "my.metadata.get", k)
			if err != nil {
				t.Fatalf("%s: get %s: %v", when, k, err)
			}
			if diff := cmp.Diff(v, got); diff != "" {
				t.Errorf("%s: metadata %s (-want +got):\n%s", when, k, diff)
			}
		}
		lv, err := call0(s, "alice", "frontend", 1, "my.metadata.list")
		if err != nil {
			t.Fatal(err)
		}
		if rec := lv.(protocol.Dict)["big"].(protocol.Dict); rec["uuid"] != "tZXrKvcVTPsu5qAgNAGkCA" || rec["created"] != "2026-11-29T14:28:41.395964+00:00" {
			t.Errorf("%s: metadata record = %v", when, rec)
		}
		kv, err := call0(s, "alice", "frontend", 1, "my.apikeys.list")
		if err != nil {
			t.Fatal(err)
		}
		keys := kv.(protocol.List)
		if len(keys) != 2 {
			t.Fatalf("%s: %d API keys, want 2", when, len(keys))
		}
		k1, k2 := keys[0].(protocol.Dict), keys[1].(protocol.Dict)
		if k1["uuid"] != oldKey1UUID || k1["description"] != "build server" || k2["uuid"] != oldKey2UUID ||
			k2["expires"] != "2099-01-01T00:00:00+00:00" || len(k2["permissions"].(protocol.List)) != 1 {
			t.Errorf("%s: API keys = %v", when, keys)
		}
		for _, k := range keys {
			if k.(protocol.Dict)["plaintext_key"] != nil {
				t.Errorf("%s: my.apikeys.list returns plaintext_key", when)
			}
		}
		if v, _ := call0(s, "zoë", "backend", 1, "my.metadata.get", "k"); v != "v" {
			t.Errorf("%s: zoë's metadata = %#v", when, v)
		}
		if _, err := s.checkTicket(ctx, "alice", oldKey1); err != nil {
			t.Errorf("%s: old API key: %v", when, err)
		}
		id, err := s.checkTicket(ctx, "alice", oldKey2)
		if err != nil {
			t.Fatalf("%s: old restricted API key: %v", when, err)
		}
		s.joined(7, id.AuthExtra)
		if !s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.metadata.get") ||
			s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.metadata.set") {
			t.Errorf("%s: old restricted key's permissions lost", when)
		}
		if _, err := s.checkTicket(ctx, "zoë", oldZoeKey); err != nil {
			t.Errorf("%s: zoë's old API key: %v", when, err)
		}
	}
	check(s, "after migration")
	if _, err := s.checkTicket(ctx, "alice", oldOTP); err != nil {
		t.Errorf("old OTP: %v", err)
	}
	noPlaintextOnDisk(t, dataDir, oldKey1, oldKey2, oldZoeKey)

	// Restart: nothing is imported twice, nothing lost.
	closeService(s)
	s = openOld(t, dataDir, usersFile)
	check(s, "after restart")
	if _, err := s.checkTicket(ctx, "alice", oldOTP); err == nil {
		t.Error("used OTP logs in again after restart")
	}
}

// noPlaintextOnDisk fails if any file under dir holds one of the secrets.
func noPlaintextOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s holds a plaintext key", path)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A migrated file that is still there (a crash between the import and the
// removal) is removed on the next start without being imported again, so
// changes made since are kept. Half-written temporary files of the old
// writer go too.
func TestMigrationLeftoversAreRemoved(t *testing.T) {
	dataDir, usersFile := copyOldData(t)
	old, err := os.ReadFile(filepath.Join(dataDir, "users", "alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := openOld(t, dataDir, usersFile)
	if _, err := call0(s, "alice", "frontend", 1, "my.metadata.set", "str", "changed"); err != nil {
		t.Fatal(err)
	}
	closeService(s)
	if _, err := os.Stat(filepath.Join(dataDir, "users")); !os.IsNotExist(err) {
		t.Errorf("users/ left after migration: %v", err)
	}
	for name, body := range map[string][]byte{"alice.json": old, ".tmp-123": []byte(`{"apikeys": [{"plaintext_key": "x"}]}`)} {
		if err := os.MkdirAll(filepath.Join(dataDir, "users"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataDir, "users", name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = openOld(t, dataDir, usersFile)
	if v, _ := call0(s, "alice", "frontend", 1, "my.metadata.get", "str"); v != "changed" {
		t.Errorf("leftover file re-imported: str = %#v", v)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "users")); !os.IsNotExist(err) {
		t.Errorf("leftovers not removed: %v", err)
	}
	kv, _ := call0(s, "alice", "frontend", 1, "my.apikeys.list")
	if n := len(kv.(protocol.List)); n != 2 {
		t.Errorf("%d API keys after the leftover, want 2", n)
	}
}
