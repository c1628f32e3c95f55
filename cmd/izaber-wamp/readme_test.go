package main

// The README's command-line section stays true: its commands run as
// written (against a router on free ports) and print what it shows, and
// its copy of "izaber-wamp help" is the real one.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const readmeHelpMarker = "<!-- output of: izaber-wamp help"

// readmeSection returns the README's command-line section.
func readmeSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## First minute with the command-line tool")
	if i < 0 {
		t.Fatal("README has no command-line section")
	}
	s = s[i:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	return s
}

// fence is one fenced block of the README.
type fence struct {
	lang string
	text string
	at   int // offset in the section
}

var fenceRE = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```\n")

func fences(section string) []fence {
	var fs []fence
	for _, m := range fenceRE.FindAllStringSubmatchIndex(section, -1) {
		fs = append(fs, fence{lang: section[m[2]:m[3]], text: section[m[4]:m[5]], at: m[0]})
	}
	return fs
}

func TestREADMEHelp(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	section := readmeSection(t)
	i := strings.Index(section, readmeHelpMarker)
	if i < 0 {
		t.Fatalf("README: no %q", readmeHelpMarker)
	}
	var block *fence
	for _, f := range fences(section) {
		if f.at > i {
			block = &f
			break
		}
	}
	if block == nil {
		t.Fatal("README: no block after the help marker")
	}
	r := as(t, "", "help").want(exitOK)
	if d := cmp.Diff(block.text, r.stdout); d != "" {
		t.Fatalf("README's izaber-wamp help differs from the real one (-README +real):\n%s", d)
	}
}

// The walkthrough, run line by line with sh as a reader would, with two
// differences: the router listens on free ports (its URL replaces the
// README's), and the binary under test is on PATH instead of "go install".
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	section := readmeSection(t)
	blocks := fences(section)
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "PATH=" + filepath.Dir(cliBinary) + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IZABER_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	if d := os.Getenv("IZABER_CLI_COVERDIR"); d != "" {
		env = append(env, "GOCOVERDIR="+d) // see cli.cmd
	}
	readmeURL := ""      // the URL the README shows
	var routerURL string // and the real one
	passwords := map[string]string{}
	sh := func(line string) *exec.Cmd {
		line = strings.ReplaceAll(line, readmeURL, routerURL)
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = env
		return cmd
	}
	type ran struct {
		line           string
		stdout, stderr string
	}
	var results []ran
	var running []*exec.Cmd
	var runningOut []*syncBuffer
	stopAll := func() { // Ctrl-C
		for _, c := range running {
			c.Process.Signal(os.Interrupt)
			kill := time.AfterFunc(10*time.Second, func() { c.Process.Kill() })
			c.Wait()
			kill.Stop()
		}
		running = nil
	}
	defer stopAll()

	// The output blocks, in order, each after the command it shows.
	var outputs []fence
	for _, f := range blocks {
		if f.lang == "" {
			outputs = append(outputs, f)
		}
	}
	for _, f := range blocks {
		if f.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(f.text), "\n") {
			switch {
			case strings.HasPrefix(line, "go run ./cmd/izaber-wamp router"):
				// Same command on free ports.
				args := append(strings.Fields(strings.TrimPrefix(line, "go run ./cmd/izaber-wamp ")), "--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0")
				rt := as(t, "", args...).start("Ctrl-C to stop")
				out := rt.stdout.String()
				checkShown(t, outputs[0].text, out)
				for _, l := range strings.Split(out, "\n") {
					f := strings.Fields(l)
					if len(f) >= 6 && f[0] == "login" {
						passwords[f[1]] = f[5]
					}
					if u, ok := strings.CutPrefix(l, "WebSocket: "); ok {
						routerURL = u
					}
				}
				for _, l := range strings.Split(outputs[0].text, "\n") {
					if u, ok := strings.CutPrefix(l, "WebSocket: "); ok {
						readmeURL = u
					}
				}
			case strings.HasPrefix(line, "go install "), strings.HasPrefix(line, "export PATH="):
				// The binary under test is on PATH.
			case strings.HasPrefix(line, "export "):
				// Let sh parse the assignment; the placeholder is the
				// password the router printed.
				line = regexp.MustCompile(`<password printed for (\S+)>`).ReplaceAllStringFunc(line, func(p string) string {
					return passwords[strings.TrimSuffix(strings.TrimPrefix(p, "<password printed for "), ">")]
				})
				out, err := sh(line + "\nenv -0").Output()
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				env = strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			case strings.HasPrefix(line, "izaber-wamp register "), strings.HasPrefix(line, "izaber-wamp subscribe "):
				stopAll()                 // the README stops the register before subscribing
				cmd := sh("exec " + line) // so that Ctrl-C reaches it
				out, errb := &syncBuffer{}, &syncBuffer{}
				cmd.Stdout, cmd.Stderr = out, errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(15 * time.Second)
				for !strings.Contains(errb.String(), "Ctrl-C to stop") {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not ready: %s", line, errb)
					}
					time.Sleep(10 * time.Millisecond)
				}
				running = append(running, cmd)
				runningOut = append(runningOut, out)
			default:
				cmd := sh(line)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				cmd.WaitDelay = 30 * time.Second
				done := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
				cmd.Run()
				done.Stop()
				results = append(results, ran{line, out.String(), errb.String()})
			}
		}
	}
	if routerURL == "" || len(results) < 4 || len(runningOut) == 0 {
		t.Fatalf("walkthrough incomplete: router %q, %d commands run", routerURL, len(results))
	}
	find := func(prefix string) ran {
		for _, r := range results {
			if strings.HasPrefix(r.line, prefix) {
				return r
			}
		}
		t.Fatalf("README runs no %q", prefix)
		return ran{}
	}
	// whoami prints the JSON shown (indented on a terminal, one line here).
	who := find("izaber-wamp whoami")
	sameJSON(t, "whoami", outputs[1].text, who.stdout)
	// The failing call prints the sentence quoted and exits 1.
	m := regexp.MustCompile("The second call prints\n`([^`]*)`\nand exits (\\d+)").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("README: no quoted error of the second call")
	}
	nothing := find("izaber-wamp call example.nothing")
	if got := strings.TrimSpace(nothing.stderr); got != m[1] {
		t.Fatalf("README says the call prints\n%s\nit prints\n%s", m[1], got)
	}
	if got := strings.TrimSpace(nothing.stdout); got != "exit status "+m[2] {
		t.Fatalf("README says exit status %s; %q", m[2], got)
	}
	// The subscriber prints the event line shown.
	find("izaber-wamp publish")
	sub := runningOut[len(runningOut)-1]
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sub.String(), "\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ids := regexp.MustCompile(`"publisher":\d+`)
	shown := ids.ReplaceAllString(strings.TrimSpace(outputs[len(outputs)-2].text), `"publisher":0`)
	if got := ids.ReplaceAllString(strings.TrimSpace(sub.String()), `"publisher":0`); got != shown {
		t.Fatalf("README says the subscriber prints\n%s\nit prints\n%s", shown, got)
	}
}

// checkShown checks output against a README block in which digits, the
// demo passwords and "…" stand for what varies.
func checkShown(t *testing.T, shown, got string) {
	t.Helper()
	want := strings.Split(strings.TrimSpace(shown), "\n")
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(want) != len(lines) {
		t.Fatalf("README shows %d lines, the command prints %d:\n%s\n---\n%s", len(want), len(lines), shown, got)
	}
	pw := regexp.MustCompile(`password \S+`)
	for i, w := range want {
		re := regexp.QuoteMeta(pw.ReplaceAllString(w, "password PASSWORD"))
		re = strings.ReplaceAll(re, "PASSWORD", `\S+`)
		re = strings.ReplaceAll(re, "…", ".*")
		re = regexp.MustCompile(`\d+`).ReplaceAllString(re, `\d+`)
		if !regexp.MustCompile("^" + re + "$").MatchString(lines[i]) {
			t.Fatalf("README shows\n%s\nthe command prints\n%s", w, lines[i])
		}
	}
}

func sameJSON(t *testing.T, what, shown, got string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(shown), &a); err != nil {
		t.Fatalf("%s: README block is not JSON: %v", what, err)
	}
	if err := json.Unmarshal([]byte(got), &b); err != nil {
		t.Fatalf("%s: output is not JSON: %v: %q", what, err, got)
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("%s: README differs from the output (-README +real):\n%s", what, d)
	}
}
