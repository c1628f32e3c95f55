package main

// Exit status and error text of failed connections: a configuration that
// cannot work is a usage error (2) reported at once with a hint; a router
// that is down or refuses the login is a connection failure (3).

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCLIConnectExitCodes(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	notWAMP := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notWAMP.Close) // after the parallel subtests
	hostPort := strings.TrimPrefix(notWAMP.URL, "http://")
	wsHostPort := strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/ws")
	for _, tt := range []struct {
		name string
		url  string
		code int
		want []string // in stderr
	}{
		{"malformed URL", "ws://[bad", exitUsage, []string{"ws://[bad"}},
		{"unknown scheme", "foo://127.0.0.1:1", exitUsage, []string{"foo://127.0.0.1:1", "ws://"}},
		{"http URL", "http://" + wsHostPort + "/ws", exitUsage, []string{"ws://" + wsHostPort + "/ws"}},
		{"no scheme", wsHostPort, exitUsage, []string{"ws://" + wsHostPort + "/ws"}},
		{"not a WebSocket endpoint", "ws://" + hostPort + "/", exitUsage, []string{"404", "ws://" + hostPort + "/ws"}},
		{"TLS verification", wssURL, exitUsage, []string{wssURL, "certificate", "ca_file"}},
		{"refused", "ws://127.0.0.1:1/ws", exitConnect, []string{"ws://127.0.0.1:1/ws", "refused", "retrying in", "Ctrl-C to stop"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A generous connect timeout: the fail-fast cases must not
			// wait for it (the harness kills the command after 30s).
			c := as(t, "backend-1", "whoami", "--url", tt.url, "--connect-timeout", "60s")
			if tt.code == exitConnect {
				c.args[len(c.args)-1] = "2s" // long enough for a retry notice
			}
			r := c.want(tt.code)
			mustContain(t, "stderr", r.stderr, tt.want...)
			if tt.code == exitUsage {
				if n := strings.Count(r.stderr, "\n"); n != 1 {
					t.Errorf("want one sentence on one line, got %d lines:\n%s", n, r.stderr)
				}
			}
		})
	}
}

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
