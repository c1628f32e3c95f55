// Package leaktest finds goroutines that tests left running. It is for this
// module's tests only.
package leaktest

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// ignored are goroutines the runtime or the testing package start and never
// end: go test -fuzz installs a SIGINT handler, whose loop lives forever.
var ignored = []string{"os/signal.loop"}

// Count returns the number of running goroutines, not counting ignored ones.
func Count() int {
	n := 0
	for _, g := range stacks() {
		if !isIgnored(g) {
			n++
		}
	}
	return n
}

// Check waits up to wait for the goroutine count to fall to base (a Count
// taken before the tests ran) and otherwise returns an error listing every
// goroutine still running.
func Check(base int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		n := Count()
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d running, %d at start:\n%s", n, base, strings.Join(stacks(), "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func isIgnored(g string) bool {
	for _, s := range ignored {
		if strings.Contains(g, s) {
			return true
		}
	}
	return false
}
