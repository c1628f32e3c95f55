package nexus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte(testUsers))
	f.Add([]byte("users:\n  - login: a\n    role: r\nroles:\n  r:\n    - {uri: 'a./x/.*', perms: c}\n"))
	f.Add([]byte("users: [\n"))
	f.Add([]byte("users:\n  - {login: a, password: p}\nquotas:\n  metadata_keys: -1\n  otps: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := parseUsers("fuzz.yaml", data, false)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for login, u := range db.users {
			if login != strings.ToLower(login) || u.login != login || u.uuid == "" {
				t.Errorf("user %q stored badly", login)
			}
			if _, ok := db.roles[u.role]; !ok && !bypassRole(u.role) {
				t.Errorf("user %q has undefined role %q", login, u.role)
			}
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"a.b.c", "a.*", "*", "a./b.*/.c", `a./x\/y/.*`, "a..b", "/(/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePattern(s)
		if err != nil {
			return
		}
		if p.exact == len(p.segs) && !p.prefix && !p.match(strings.Split(s, ".")) {
			t.Errorf("literal pattern %q does not match itself", s)
		}
	})
}

func FuzzYAMLLoad(f *testing.F) {
	for _, s := range []string{"a: 1\n", "[1, 2.5, x]", "!!binary aGk=", "&a [*a]", "? [a]\n: b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := yamlLoad(s)
		if err != nil {
			return
		}
		if _, err := yamlDump(v); err != nil {
			t.Errorf("loaded value of %q cannot be dumped: %v", s, err)
		}
	})
}

// FuzzLegacyFile feeds arbitrary bytes as a pre-bbolt user file to the
// migration's parser: it never panics, and what it accepts is in the
// store's forms (values that decode to themselves, no plaintext keys).
// TestMigrateOldDataDir covers the writing.
func FuzzLegacyFile(f *testing.F) {
	for _, name := range []string{"alice.json", "~7a6fc3ab.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "olddata", "users", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"login": "alice", "apikeys": [{"uuid": "x", "plaintext_key": "k"}], "otps": [null, {}]}`))
	f.Add([]byte(`{"login": "bob"}`))
	f.Add([]byte(`{"metadata": {"": {"value": 1}, "n": {"value": 1e999}, "m": {"value": [{"a": null}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseLegacy("alice", data)
		if err != nil {
			return
		}
		if d.login != "alice" {
			t.Fatalf("file alice.json parsed as login %q", d.login)
		}
		for _, m := range d.meta {
			if m.key == "" {
				t.Fatal("empty metadata key kept")
			}
			if _, err := decodeValue(m.value); err != nil {
				t.Fatalf("metadata %q: encoded value does not decode: %v", m.key, err)
			}
		}
		for _, k := range d.keys {
			if k.UUID == "" || k.Permissions == nil {
				t.Fatalf("API key record %+v", k)
			}
		}
	})
}
