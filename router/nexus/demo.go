package nexus

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// DemoUser is an account WriteDemoUsers created. It holds plaintext
// credentials, meant to be shown once to the person starting a demo router.
type DemoUser struct {
	Login     string
	Password  string
	Role      string
	CRASecret string // WAMP-CRA secret (salted), or ""
}

// demoHeader marks files written by WriteDemoUsers; only such files are
// overwritten.
const demoHeader = "# izaber-wamp demo users: written by WriteDemoUsers, overwritten on the next run.\n"

// WriteDemoUsers writes a users file at path with fresh random credentials
// for backend-1, frontend-1 (which also has a salted WAMP-CRA secret) and
// trust-1, and returns them. The file stores password hashes only. It
// refuses (with an error matching fs.ErrExist) to replace a file that it did
// not write itself.
func WriteDemoUsers(path string) ([]DemoUser, error) {
	if old, err := os.ReadFile(path); err == nil {
		if !bytes.HasPrefix(old, []byte(demoHeader)) {
			return nil, fmt.Errorf("nexus: demo users: %s: %w (and it is not a demo users file)", path, fs.ErrExist)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("nexus: demo users: %w", err)
	}
	users := []DemoUser{
		{Login: "backend-1", Role: RoleBackend},
		{Login: "frontend-1", Role: RoleFrontend, CRASecret: newToken(18)},
		{Login: "trust-1", Role: RoleTrust},
	}
	var f usersFile
	for i := range users {
		u := &users[i]
		u.Password = newToken(12)
		h, err := HashPassword(u.Password)
		if err != nil {
			return nil, err
		}
		fu := fileUser{Login: u.Login, PasswordHash: h, Role: u.Role}
		if u.CRASecret != "" {
			fu.WAMPCRASecret = u.CRASecret
			fu.WAMPCRASalt = newToken(12)
			fu.WAMPCRAIterations = 1000
			fu.WAMPCRAKeyLen = 32
		}
		f.Users = append(f.Users, fu)
	}
	body, err := yaml.MarshalWithOptions(demoFile(f), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("nexus: demo users: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("nexus: demo users: %w", err)
	}
	if err := writeFileAtomic(path, append([]byte(demoHeader), body...)); err != nil {
		return nil, fmt.Errorf("nexus: demo users: %w", err)
	}
	return users, nil
}

// demoFile is usersFile without empty fields, for a tidy demo file.
type demoFile usersFile

func (d demoFile) MarshalYAML() (any, error) {
	var users []map[string]any
	for _, u := range d.Users {
		m := map[string]any{"login": u.Login, "password_hash": u.PasswordHash, "role": u.Role}
		if u.WAMPCRASecret != "" {
			m["wampcra_secret"] = u.WAMPCRASecret
			m["wampcra_salt"] = u.WAMPCRASalt
			m["wampcra_iterations"] = u.WAMPCRAIterations
			m["wampcra_keylen"] = u.WAMPCRAKeyLen
		}
		users = append(users, m)
	}
	return map[string]any{"users": users}, nil
}

// String describes a demo user without its secrets.
func (u DemoUser) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (role %s, password <redacted>", u.Login, u.Role)
	if u.CRASecret != "" {
		b.WriteString(", wampcra secret <redacted>")
	}
	b.WriteString(")")
	return b.String()
}

// writeFileAtomic replaces path with data (mode 0600): a reader sees the
// old or the new content, never a mix, and a crash leaves one of the two.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}
