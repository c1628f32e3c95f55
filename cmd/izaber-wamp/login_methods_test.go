package main

// Every login method from the command line: ticket (the default),
// WAMP-CRA plain and salted, cryptosign and anonymous, chosen with
// --authmethods, $IZABER_AUTHMETHODS or izaber.yaml's authmethods, with the
// same keys izaber.yaml has.

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Users of the test router for the login methods other than ticket.
const (
	craUser         = "cra-1" // WAMP-CRA with a plain secret
	craSecret       = "cra-secret-8810"
	craSaltedUser   = "crasalt-1" // WAMP-CRA with a salted secret
	craSaltedSecret = "crasalt-secret-2207"
	signUser        = "sign-1" // cryptosign
)

// signKeyFile holds signUser's private key (the hex of its seed), written
// by loginMethodUsers.
var signKeyFile string

// loginMethodUsers writes signUser's key into dir and returns the users
// file entries of the login-method users.
func loginMethodUsers(dir string) (string, error) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i*7 + 3)
	}
	signKeyFile = filepath.Join(dir, "sign-1.key")
	if err := os.WriteFile(signKeyFile, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return "", err
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return fmt.Sprintf(`  - {login: %s, password: unused-3391, wampcra_secret: %s, role: backend}
  - {login: %s, password: unused-3392, wampcra_secret: %s, wampcra_salt: salt-77, wampcra_iterations: 100, wampcra_keylen: 32, role: backend}
  - {login: %s, password: unused-3393, cryptosign_pubkeys: [%s], role: backend}
`, craUser, craSecret, craSaltedUser, craSaltedSecret, signUser, hex.EncodeToString(pub)), nil
}

func TestCLILoginMethods(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, tt := range []struct {
		name   string
		args   []string
		env    map[string]string
		authid string
	}{
		{"ticket", []string{"--authmethods", "ticket"}, map[string]string{"IZABER_USER": "backend-1", "IZABER_PASSWORD": cliUsers["backend-1"].password}, "backend-1"},
		{"wampcra flag", []string{"--user", craUser, "--authmethods", "wampcra", "--wampcra-secret", craSecret}, nil, craUser},
		{"wampcra env", nil, map[string]string{"IZABER_USER": craUser, "IZABER_AUTHMETHODS": "wampcra", "IZABER_WAMPCRA_SECRET": craSecret}, craUser},
		{"wampcra secret is the password", []string{"--authmethods", "wampcra"}, map[string]string{"IZABER_USER": craUser, "IZABER_PASSWORD": craSecret}, craUser},
		{"wampcra salted", []string{"--user", craSaltedUser, "--authmethods", "wampcra"}, map[string]string{"IZABER_WAMPCRA_SECRET": craSaltedSecret}, craSaltedUser},
		{"cryptosign flag", []string{"--user", signUser, "--authmethods", "cryptosign", "--cryptosign-key-file", signKeyFile}, nil, signUser},
		{"cryptosign env", nil, map[string]string{"IZABER_USER": signUser, "IZABER_AUTHMETHODS": "cryptosign", "IZABER_CRYPTOSIGN_KEY_FILE": signKeyFile}, signUser},
		{"several methods", []string{"--user", signUser, "--authmethods", "cryptosign,ticket", "--cryptosign-key-file", signKeyFile}, nil, signUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := as(t, "", append([]string{"whoami"}, tt.args...)...)
			for k, v := range tt.env {
				c.env[k] = v
			}
			r := c.want(exitOK)
			if !strings.Contains(r.stdout, `"authid":"`+tt.authid+`"`) {
				t.Fatalf("whoami: %q", r.stdout)
			}
			for _, secret := range []string{craSecret, craSaltedSecret} {
				if strings.Contains(r.stderr, secret) {
					t.Fatalf("secret on stderr: %s", r.stderr)
				}
			}
		})
	}

	// Anonymous: Nexus lets the role "public" log in but not call
	// auth.whoami; the refusal names the role.
	for _, args := range [][]string{{"--authmethods", "anonymous"}, {"--anonymous"}} {
		r := as(t, "", append([]string{"whoami"}, args...)...).want(exitWAMPError)
		mustContain(t, "anonymous whoami", r.stderr, "wamp.error.not_authorized", `authrole="public"`)
	}

	// izaber.yaml's keys, the same as the flags'.
	dir := t.TempDir()
	yaml := fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: %s\n      username: %s\n      authmethods: [wampcra]\n      wampcra_secret: %s\n", wsURL, craSaltedUser, craSaltedSecret)
	os.WriteFile(filepath.Join(dir, "izaber.yaml"), []byte(yaml), 0o600)
	c := as(t, "", "whoami")
	delete(c.env, "IZABER_URL")
	c.dir = dir
	if r := c.want(exitOK); !strings.Contains(r.stdout, craSaltedUser) {
		t.Fatalf("izaber.yaml wampcra: %q", r.stdout)
	}

	// A wrong secret: exit 3, saying which secret and where it came from,
	// never what it is.
	c = as(t, "", "whoami", "--user", craUser, "--authmethods", "wampcra")
	c.env["IZABER_WAMPCRA_SECRET"] = "not-the-secret-4417"
	r := c.want(exitConnect)
	mustContain(t, "stderr", r.stderr, craUser, "WAMP-CRA secret", "$IZABER_WAMPCRA_SECRET")
	if strings.Contains(r.stderr, "not-the-secret-4417") {
		t.Fatalf("secret in the error: %s", r.stderr)
	}
	// Configuration mistakes: exit 2 before connecting.
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	for _, args := range [][]string{
		{"whoami", "--authmethods", "kerberos"},
		{"whoami", "--authmethods", "cryptosign"}, // no key
		{"whoami", "--authmethods", "cryptosign", "--cryptosign-key-file", bad},
		{"whoami", "--authmethods", "cryptosign", "--cryptosign-key-file", filepath.Join(dir, "missing.key")},
	} {
		c := as(t, signUser, args...)
		c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
		r := c.want(exitUsage)
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: want one line:\n%s", args, r.stderr)
		}
	}
	// Completion offers the methods.
	r = as(t, "", "__complete", "whoami", "--authmethods", "").want(exitOK)
	mustContain(t, "completion", r.stdout, "ticket", "wampcra", "cryptosign", "anonymous")
}
