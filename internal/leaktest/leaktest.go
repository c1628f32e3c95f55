// Package leaktest finds goroutines that tests left running. It is for this
// module's tests only, and it is the module's one leak checker:
//
//   - Guard(t), called first in a test (or a test helper such as a
//     router constructor), fails t if goroutines the test started are still
//     running after all its other cleanups;
//   - Count and Check, from TestMain, fail a whole package run that ends with
//     more goroutines than it started with.
//
// Goroutines are told apart by their ids, so one that an earlier test left
// behind and that ends during this one cannot hide a leak of this one, and
// the report lists only the goroutines the test started. A test using Guard
// must not run in parallel with others (their goroutines would count as its
// own).
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines the runtime or the testing package start and never
// end: go test -fuzz installs a SIGINT handler, whose loop lives forever.
var ignored = []string{"os/signal.loop"}

// GuardWait is how long Guard waits for goroutines to end: those started
// by a test may still be unwinding (closing connections, leaving handlers)
// when its cleanups return.
const GuardWait = 5 * time.Second

// Guard records the goroutines running now and registers a cleanup that
// fails t if any goroutine started since is still running GuardWait after
// every cleanup registered later has run. Call it before anything that
// starts goroutines, so that its cleanup runs last.
func Guard(t testing.TB) {
	t.Helper()
	guard(t, GuardWait)
}

func guard(t testing.TB, wait time.Duration) {
	before := map[int]bool{}
	for _, g := range stacks() {
		before[g.id] = true
	}
	t.Cleanup(func() {
		left := waitFor(wait, func() []goroutine {
			var left []goroutine
			for _, g := range stacks() {
				if !before[g.id] && !g.self && !g.ignored() {
					left = append(left, g)
				}
			}
			return left
		})
		if len(left) > 0 {
			t.Errorf("goroutine leak: %d goroutines started by the test are still running:\n\n%s", len(left), join(left))
		}
	})
}

// Main runs a package's tests and exits: with status 1 when they passed
// but goroutines they started are still running 5 s after the last one
// (listing them on stderr). A package's TestMain is then
//
//	func TestMain(m *testing.M) { leaktest.Main(m) }
func Main(m *testing.M) {
	base := Count()
	code := m.Run()
	if code == 0 {
		if err := Check(base, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Count returns the number of running goroutines, not counting ignored ones.
func Count() int {
	n := 0
	for _, g := range stacks() {
		if !g.ignored() {
			n++
		}
	}
	return n
}

// Check waits up to wait for the goroutine count to fall to base (a Count
// taken before the tests ran) and otherwise returns an error listing every
// goroutine still running.
func Check(base int, wait time.Duration) error {
	var all []goroutine
	left := waitFor(wait, func() []goroutine {
		all = all[:0]
		for _, g := range stacks() {
			if !g.ignored() {
				all = append(all, g)
			}
		}
		if len(all) <= base {
			return nil
		}
		return all
	})
	if len(left) > 0 {
		return fmt.Errorf("goroutine leak: %d running, %d at start:\n\n%s", len(left), base, join(left))
	}
	return nil
}

// waitFor calls check until it returns nothing or wait has passed, and
// returns its last answer. There is no event to wait on for a goroutine's
// end, so it polls, quickly at first.
func waitFor(wait time.Duration, check func() []goroutine) []goroutine {
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	for {
		left := check()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// goroutine is one entry of a full runtime.Stack dump.
type goroutine struct {
	id    int
	self  bool // the goroutine that took the dump
	stack string
}

func (g goroutine) ignored() bool {
	return slices.ContainsFunc(ignored, func(s string) bool { return strings.Contains(g.stack, s) })
}

// stacks returns every goroutine, the calling one first.
func stacks() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, s := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		// "goroutine 42 [chan receive]:"
		f := strings.Fields(s)
		id := -1
		if len(f) > 1 && f[0] == "goroutine" {
			if n, err := strconv.Atoi(f[1]); err == nil {
				id = n
			}
		}
		out = append(out, goroutine{id: id, self: i == 0, stack: s})
	}
	return out
}

func join(gs []goroutine) string {
	s := make([]string, len(gs))
	for i, g := range gs {
		s[i] = g.stack
	}
	return strings.Join(s, "\n\n")
}
