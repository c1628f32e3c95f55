package leaktest

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"testing"
	"time"
)

func TestCheckFindsALeakAndIgnoresSignalLoop(t *testing.T) {
	base := Count()
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt) // starts os/signal.loop for good
	defer signal.Stop(c)
	if err := Check(base, 100*time.Millisecond); err != nil {
		t.Fatalf("signal loop counted as a leak: %v", err)
	}

	// Two goroutines, because the goroutine of the test run before this
	// one (with -count) may still be unwinding when base was taken and end
	// during Check: counts can hide one leak; Guard, which compares ids,
	// cannot.
	stop := make(chan struct{})
	go func() { <-stop }()
	go func() { <-stop }()
	if err := Check(base, 50*time.Millisecond); err == nil {
		t.Fatal("goroutines left running were not reported")
	}
	close(stop)
	if err := Check(base, 2*time.Second); err != nil {
		t.Fatalf("after the goroutine ended: %v", err)
	}
}

// fakeT records what Guard does with a test.
type fakeT struct {
	*testing.T
	cleanups []func()
	errors   []string
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestGuardReportsOnlyGoroutinesTheTestStarted(t *testing.T) {
	Guard(t) // and this test leaves nothing running for the next one
	// A goroutine of an earlier test that ends during this one must not
	// hide this one's leak (a count would).
	earlier, earlierEnded := make(chan struct{}), make(chan struct{})
	go func() { <-earlier; close(earlierEnded) }()

	ft := &fakeT{T: t}
	guard(ft, 50*time.Millisecond)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go leakyWorker(stop, stopped)
	close(earlier)
	<-earlierEnded
	ft.end()
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "leakyWorker") || !strings.Contains(ft.errors[0], "1 goroutines") {
		t.Fatalf("Guard reported %q, want one error naming leakyWorker", ft.errors)
	}
	close(stop)
	<-stopped

	// A goroutine that ends while Guard waits is no leak.
	ft = &fakeT{T: t}
	guard(ft, 5*time.Second)
	done, ended := make(chan struct{}), make(chan struct{})
	go func() { <-done; close(ended) }()
	ft.Cleanup(func() { time.AfterFunc(20*time.Millisecond, func() { close(done) }) })
	ft.end()
	<-ended
	if len(ft.errors) != 0 {
		t.Fatalf("Guard reported %q for a goroutine that ended", ft.errors)
	}
}

func leakyWorker(stop, stopped chan struct{}) {
	<-stop
	close(stopped)
}
