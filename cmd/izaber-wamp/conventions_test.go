package main

// The command-line conventions people expect (measured against the nats
// CLI): help on stdout, "help COMMAND", short usage errors with
// did-you-mean, --version, shell completion, exit status 130 on Ctrl-C.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Help is output the user asked for: stdout, exit 0, however it is asked
// for, and "help COMMAND" is the same text as "COMMAND -h".
func TestCLIHelpOnStdout(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, args := range [][]string{
		{"help"}, {"-h"}, {"--help"},
		{"call", "-h"}, {"call", "--help"}, {"help", "call"},
		{"roster", "-h"}, {"help", "roster"},
		{"roster", "register", "-h"}, {"help", "roster", "register"},
		{"router", "-h"}, {"help", "router"},
	} {
		r := as(t, "", args...).want(exitOK)
		if r.stdout == "" || r.stderr != "" {
			t.Errorf("%q: help must go to stdout only; stdout %d bytes, stderr %q", args, len(r.stdout), r.stderr)
		}
	}
	for _, cmd := range [][]string{{"call"}, {"roster", "register"}, {"subscribe"}, {"router"}} {
		byFlag := as(t, "", append(cmd, "-h")...).want(exitOK)
		byHelp := as(t, "", append([]string{"help"}, cmd...)...).want(exitOK)
		if byFlag.stdout != byHelp.stdout {
			t.Errorf("help %s differs from %s -h:\n%s\n---\n%s", strings.Join(cmd, " "), strings.Join(cmd, " "), byHelp.stdout, byFlag.stdout)
		}
		mustContain(t, "help "+strings.Join(cmd, " "), byHelp.stdout, "izaber-wamp "+strings.Join(cmd, " "))
	}
	// Help for something that does not exist is a usage error.
	r := as(t, "", "help", "cal").want(exitUsage)
	mustContain(t, "help cal", r.stderr, `unknown command "cal"`, "call")
}

// A mistyped flag or command gets a short error naming the likely
// intended one, not the whole help.
func TestCLIShortUsageErrors(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"call", "x", "--timout", "3s"}, []string{"--timout", "did you mean --timeout?"}},
		{[]string{"subscribe", "t", "--cont", "1"}, []string{"--cont", "did you mean --count?"}},
		{[]string{"whoami", "--usr", "bob"}, []string{"--usr", "did you mean --user?"}},
		{[]string{"register", "--forse", "p", "--", "cat"}, []string{"--forse", "did you mean --force?"}},
		{[]string{"calll", "x"}, []string{`unknown command "calll"`, "did you mean call?"}},
		{[]string{"metadata", "lst"}, []string{`unknown command "lst"`, "did you mean list?"}},
		{[]string{"router", "hash-pasword"}, []string{`unknown command "hash-pasword"`, "did you mean hash-password?"}},
		{[]string{"version", "extra"}, []string{`unexpected arguments ["extra"]`}},
		{[]string{"call", "x", "--timeout", "soon"}, []string{"--timeout", "soon"}},
	} {
		c := as(t, "", tt.args...)
		c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
		r := c.want(exitUsage)
		mustContain(t, strings.Join(tt.args, " "), r.stderr, tt.want...)
		if n := strings.Count(r.stderr, "\n"); n > 3 {
			t.Errorf("%q: %d lines of error, want at most 3:\n%s", tt.args, n, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout %q", tt.args, r.stdout)
		}
	}
}

// --version, like every Go CLI people know.
func TestCLIVersionFlag(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	r := as(t, "", "--version").want(exitOK)
	v := as(t, "", "version").want(exitOK)
	if !strings.HasPrefix(r.stdout, "izaber-wamp ") || r.stdout != v.stdout {
		t.Fatalf("--version %q, version %q", r.stdout, v.stdout)
	}
}

// Shell completion scripts for bash, zsh and fish, and completion of
// commands, flags and flag values.
func TestCLICompletion(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := as(t, "", "completion", shell).want(exitOK)
		mustContain(t, shell+" completion", r.stdout, "izaber-wamp")
	}
	// What the scripts ask the binary: the completions of a partial word.
	r := as(t, "", "__complete", "ca").want(exitOK)
	mustContain(t, "command completion", r.stdout, "call")
	r = as(t, "", "__complete", "subscribe", "--ma").want(exitOK)
	mustContain(t, "flag completion", r.stdout, "--match")
	r = as(t, "", "__complete", "subscribe", "--match", "").want(exitOK)
	mustContain(t, "flag value completion", r.stdout, "exact", "prefix", "wildcard")
	r = as(t, "", "__complete", "call", "--serializer", "").want(exitOK)
	mustContain(t, "serializer completion", r.stdout, "cbor", "msgpack", "json")

	// The bash script loads and completes, where there is a bash.
	if bash, err := exec.LookPath("bash"); err == nil {
		script := as(t, "", "completion", "bash").want(exitOK).stdout
		file := filepath.Join(t.TempDir(), "izaber-wamp.bash")
		if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		// What bash does on "izaber-wamp sub<TAB>", with a stand-in for
		// the one bash-completion function the script uses when the
		// package is not installed.
		probe := `_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source "$1"
COMP_WORDS=(izaber-wamp sub); COMP_CWORD=1; COMP_LINE="izaber-wamp sub"; COMP_POINT=${#COMP_LINE}
__start_izaber-wamp izaber-wamp sub izaber-wamp
printf '%s\n' "${COMPREPLY[@]}"`
		c := exec.Command(bash, "-c", probe, "probe", file)
		c.Env = append(os.Environ(), "PATH="+filepath.Dir(cliBinary)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := c.Output() // stderr: compopt complains outside a real completion
		if err != nil || strings.TrimSpace(string(out)) != "subscribe" {
			t.Fatalf("bash completion of \"izaber-wamp sub\": %v\n%s", err, out)
		}
	}
}

// Ctrl-C ends a long-running command with exit status 130, as the help
// says, after leaving the session cleanly.
func TestCLIInterruptExitStatus(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, args := range [][]string{
		{"subscribe", "test.ctrlc"},
		{"register", "test.ctrlc", "--", "cat"},
		{"roster", "register", "roster.cli.ctrlc", "x"},
	} {
		ready := "Ctrl-C"
		if args[0] == "roster" {
			ready = `"name":"roster.cli.ctrlc"` // the record, printed once registered
		}
		b := as(t, "backend-1", args...).start(ready)
		if code := b.interrupt(); code != exitInterrupt {
			t.Errorf("%q after Ctrl-C: exit %d, want %d\nstderr: %s", args, code, exitInterrupt, b.stderr)
		}
	}
}
