package main

// Exit status and error text of failed connections: a configuration that
// cannot work is a usage error (2) reported at once with a hint; a router
// that is down or refuses the login is a connection failure (3).

import (
	"strings"
	"testing"
)

// A refused login says for whom, where, and where the password came from.
func TestCLILoginFailureSaysWhere(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	c := as(t, "backend-1", "whoami")
	c.env["IZABER_PASSWORD"] = "wrong-password-5521"
	r := c.want(exitConnect)
	mustContain(t, "stderr", r.stderr, "backend-1", wsURL, "$IZABER_PASSWORD")
	if strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "wrong-password-5521") {
		t.Fatalf("want one line without the password:\n%s", r.stderr)
	}
	c = as(t, "", "whoami", "--user", "backend-1", "--password", "wrong-password-5521")
	r = c.want(exitConnect)
	mustContain(t, "stderr", r.stderr, "backend-1", "--password")
}
