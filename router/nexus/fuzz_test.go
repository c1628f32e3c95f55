package nexus

import (
	"strings"
	"testing"
)

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte(testUsers))
	f.Add([]byte("users:\n  - login: a\n    role: r\nroles:\n  r:\n    - {uri: 'a./x/.*', perms: c}\n"))
	f.Add([]byte("users: [\n"))
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
