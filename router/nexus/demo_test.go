package nexus

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/auth"
)

func TestWriteDemoUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "users.yaml")
	users, err := WriteDemoUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 3 {
		t.Fatalf("users = %v", users)
	}
	raw, _ := os.ReadFile(path)
	s, err := New(Config{UsersFile: path})
	if err != nil {
		t.Fatalf("demo file does not load: %v\n%s", err, raw)
	}
	cra := 0
	for _, u := range users {
		if strings.Contains(string(raw), u.Password) {
			t.Errorf("file holds %s's plaintext password", u.Login)
		}
		if strings.Contains(u.String(), u.Password) {
			t.Errorf("String() shows the password")
		}
		id, err := s.checkTicket(context.Background(), u.Login, u.Password)
		if err != nil || id.AuthRole != u.Role {
			t.Errorf("%s cannot log in: %+v %v", u.Login, id, err)
		}
		if u.CRASecret != "" {
			cra++
			if _, err := runAuth(authByMethod(t, s, "wampcra"), &auth.Request{AuthID: u.Login, Session: 1}, auth.WAMPCRA(u.CRASecret)); err != nil {
				t.Errorf("%s cannot log in with WAMP-CRA: %v", u.Login, err)
			}
		}
	}
	if cra != 1 {
		t.Errorf("%d demo users with a CRA secret, want 1", cra)
	}
	again, err := WriteDemoUsers(path)
	if err != nil {
		t.Fatalf("rewriting a demo file: %v", err)
	}
	if again[0].Password == users[0].Password {
		t.Error("second run reused the password")
	}
	other := filepath.Join(t.TempDir(), "real.yaml")
	os.WriteFile(other, []byte("users: []\n"), 0o600)
	if _, err := WriteDemoUsers(other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwriting a real users file: %v", err)
	}
	if b, _ := os.ReadFile(other); string(b) != "users: []\n" {
		t.Error("real users file changed")
	}
}
