package main

// What the client commands say about their configuration before they do
// anything: izaber.yaml's warnings, and the built-in defaults they fall
// back to.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A misspelt key in izaber.yaml is reported by every command, not only by
// "config", and its value (perhaps a password) is never printed.
func TestCLIConfigWarningsOnEveryCommand(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	dir := t.TempDir()
	yaml := "default:\n  wamp:\n    connection:\n      url: " + wsURL + "\n      username: backend-1\n      pasword: " + cliUsers["backend-1"].password + "\n"
	if err := os.WriteFile(filepath.Join(dir, "izaber.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"whoami"}, {"call", "test.echo"}, {"config"}, {"metadata", "list"}} {
		c := as(t, "", args...)
		delete(c.env, "IZABER_URL")
		c.dir = dir
		r := c.run()
		mustContain(t, strings.Join(args, " ")+" stderr", r.stderr, "warning", "pasword")
		if strings.Contains(r.stdout+r.stderr, cliUsers["backend-1"].password) {
			t.Errorf("%q: the misspelt password's value was printed:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

// With nothing configured the commands say they use the built-in URL,
// user and password instead of using them silently.
func TestCLIAnnouncesDefaults(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	// No URL anywhere ("config" does not connect, so nothing is dialled).
	c := as(t, "", "config")
	delete(c.env, "IZABER_URL")
	r := c.want(exitOK)
	mustContain(t, "config stderr", r.stderr, "wss://nexus.izaber.com/ws", "default")
	// A user but no password, off a terminal: Python's default password is
	// sent, and the command says so.
	c = as(t, "", "whoami", "--user", "backend-1")
	r = c.want(exitConnect)
	mustContain(t, "whoami stderr", r.stderr, "no password", "backend-1", "default")
	// Configured: nothing announced.
	r = as(t, "backend-1", "whoami").want(exitOK)
	if r.stderr != "" {
		t.Fatalf("stderr with full configuration: %q", r.stderr)
	}
}

func TestSecretKey(t *testing.T) {
	for k, want := range map[string]bool{
		"password": true, "pasword": true, "passwrd": true, "Password": true, "bind_password": true,
		"secret": true, "plaintext_key": true, "key": true, "api_key": true, "ticket": true,
		"url": false, "username": false, "realm": false, "host": false, "keys": false, "port": false, "serializer": false, "socket": false, "packet": false,
	} {
		if got := secretKey(k); got != want {
			t.Errorf("secretKey(%q) = %v, want %v", k, got, want)
		}
	}
}
