package main

// Features of the client commands beyond the basics: arbitrary WAMP
// options (-o), arguments from a file or stdin, subscribe --timeout and
// progressive results as they arrive.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// -o KEY=VALUE puts any option in the CALL, PUBLISH, REGISTER or
// SUBSCRIBE message, the value parsed like an argument.
func TestCLIOptions(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	// The facade asks for disclose_me like Python; -o overrides it.
	r := as(t, "backend-1", "call", "test.details").want(exitOK)
	mustContain(t, "call", r.stdout, `"caller_authid":"backend-1"`)
	r = as(t, "backend-1", "call", "-o", "disclose_me=false", "test.details").want(exitOK)
	if strings.Contains(r.stdout, "caller_authid") {
		t.Fatalf("call -o disclose_me=false: caller disclosed: %s", r.stdout)
	}
	// Subscribe and register with -o match=prefix, publish with
	// -o disclose_me=true.
	sub := as(t, "backend-1", "subscribe", "-o", "match=prefix", "--count", "1", "test.opt.").start("Ctrl-C")
	reg := as(t, "backend-1", "register", "-o", "match=prefix", "test.optproc.", "--", "echo", `"matched"`).start("Ctrl-C")
	as(t, "backend-1", "publish", "-o", "disclose_me=true", "test.opt.x", "hi").want(exitOK)
	if code := sub.wait(); code != exitOK {
		t.Fatalf("subscribe exit %d: %s", code, sub.stderr)
	}
	mustContain(t, "event", sub.stdout.String(), `"topic":"com.izaber.wamp.test.opt.x"`, `"publisher_authid":"backend-1"`)
	if r := as(t, "backend-1", "call", "test.optproc.anything").want(exitOK); r.stdout != `"matched"`+"\n" {
		t.Fatalf("prefix registration: %q", r.stdout)
	}
	reg.interrupt()
	// A bad option is refused by the router: exit 1, before anything else.
	as(t, "backend-1", "subscribe", "-o", "match=regex", "test.opt.").want(exitWAMPError)
	// A malformed -o is a usage error.
	as(t, "backend-1", "call", "-o", "novalue", "test.echo").want(exitUsage)
}

// Positional and keyword arguments from a file or standard input.
func TestCLIArgsFromFile(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	dir := t.TempDir()
	args := filepath.Join(dir, "args.json")
	kwargs := filepath.Join(dir, "kwargs.json")
	os.WriteFile(args, []byte(`[1, "two", {"three": [3]}]`+"\n"), 0o600)
	os.WriteFile(kwargs, []byte(`{"a": 1, "b": "x"}`), 0o600)

	r := as(t, "backend-1", "call", "test.echo", "--args-file", args).want(exitOK)
	if r.stdout != `[1,"two",{"three":[3]}]`+"\n" {
		t.Fatalf("--args-file: %q", r.stdout)
	}
	r = as(t, "backend-1", "call", "test.echo", "--kwargs-file", kwargs, "-k", "b=y").want(exitOK)
	if r.stdout != `{"args":[],"kwargs":{"a":1,"b":"y"}}`+"\n" {
		t.Fatalf("--kwargs-file with -k: %q", r.stdout)
	}
	// "-" is standard input.
	c := as(t, "backend-1", "call", "test.add", "--args-file", "-")
	c.stdin = "[20, 22]"
	if r := c.want(exitOK); r.stdout != "42\n" {
		t.Fatalf("--args-file -: %q", r.stdout)
	}
	c = as(t, "backend-1", "call", "test.echo", "--kwargs-file", "-")
	c.stdin = `{"from": "stdin"}`
	if r := c.want(exitOK); r.stdout != `{"args":[],"kwargs":{"from":"stdin"}}`+"\n" {
		t.Fatalf("--kwargs-file -: %q", r.stdout)
	}
	// Publish takes them too.
	sub := as(t, "backend-1", "subscribe", "--count", "1", "test.fromfile").start("Ctrl-C")
	as(t, "backend-1", "publish", "test.fromfile", "--args-file", args, "--kwargs-file", kwargs).want(exitOK)
	sub.wait()
	mustContain(t, "event", sub.stdout.String(), `"args":[1,"two",{"three":[3]}]`, `"kwargs":{"a":1,"b":"x"}`)

	// Mistakes are usage errors, found before connecting.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"not": "a list"}`), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"call", "p", "x", "--args-file", args}, "--args-file"},
		{[]string{"call", "p", "--args-file", bad}, "JSON list"},
		{[]string{"call", "p", "--kwargs-file", args}, "JSON object"},
		{[]string{"call", "p", "--args-file", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"call", "p", "--args-file", "-", "--kwargs-file", "-"}, "standard input"},
	} {
		c := as(t, "", tt.args...)
		c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
		r := c.want(exitUsage)
		mustContain(t, strings.Join(tt.args, " "), r.stderr, tt.want)
	}
}

// subscribe --timeout ends the subscription after a while: exit 0, or 1
// when --count events did not arrive in time.
func TestCLISubscribeTimeout(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	start := time.Now()
	r := as(t, "backend-1", "subscribe", "--timeout", "300ms", "test.quiet").want(exitOK)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("exited after %v", d)
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q", r.stdout)
	}
	r = as(t, "backend-1", "subscribe", "--timeout", "300ms", "--count", "2", "test.quiet").want(exitWAMPError)
	mustContain(t, "stderr", r.stderr, "0 of 2 events")
	// Events before the deadline are printed.
	sub := as(t, "backend-1", "subscribe", "--timeout", "10s", "--count", "1", "test.intime").start("Ctrl-C")
	as(t, "backend-1", "publish", "test.intime", "1").want(exitOK)
	if code := sub.wait(); code != exitOK {
		t.Fatalf("exit %d: %s", code, sub.stderr)
	}
}

// call --progress prints each progressive result when it arrives, not
// when the call ends.
func TestCLICallProgressAsItArrives(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	gate := make(chan struct{})
	progressGates <- gate
	b := as(t, "backend-1", "call", "--progress", "test.gated").start(`"first"`)
	if out := b.stdout.String(); out != `"first"`+"\n" {
		t.Fatalf("before the end of the call: %q", out)
	}
	close(gate)
	if code := b.wait(); code != exitOK {
		t.Fatalf("exit %d: %s", code, b.stderr)
	}
	if out := b.stdout.String(); out != `"first"`+"\n"+`"done"`+"\n" {
		t.Fatalf("output %q", out)
	}
}

// --trace prints every WAMP message, both ways, on stderr, with the
// password and other secrets redacted; stdout is unchanged.
func TestCLITrace(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	r := as(t, "backend-1", "call", "--trace", "test.add", "2", "3").want(exitOK)
	if r.stdout != "5\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	mustContain(t, "trace", r.stderr,
		"--> HELLO [1,", "<-- CHALLENGE [4,", "--> AUTHENTICATE [5,", "<-- WELCOME [2,",
		`--> CALL [48,`, `"com.izaber.wamp.test.add",[2,3]]`, "<-- RESULT [50,", ",[5]]", "--> GOODBYE", "<-- GOODBYE")
	if strings.Contains(r.stderr, cliUsers["backend-1"].password) {
		t.Fatalf("password in the trace:\n%s", r.stderr)
	}
	// The plaintext key of a new API key is on stdout (asked for), not in
	// the trace.
	r = as(t, "backend-1", "apikeys", "create", "--trace", "--description", "trace test").want(exitOK)
	var key struct {
		Plain string `json:"plaintext_key"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &key); err != nil || key.Plain == "" {
		t.Fatalf("apikeys create: %v %q", err, r.stdout)
	}
	mustContain(t, "trace", r.stderr, "<-- RESULT", `"plaintext_key":"[redacted]"`)
	if strings.Contains(r.stderr, key.Plain) {
		t.Fatalf("API key in the trace:\n%s", r.stderr)
	}
}
