package leaktest

import (
	"os"
	"os/signal"
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

	stop := make(chan struct{})
	go func() { <-stop }()
	if err := Check(base, 50*time.Millisecond); err == nil {
		t.Fatal("a goroutine left running was not reported")
	}
	close(stop)
	if err := Check(base, 2*time.Second); err != nil {
		t.Fatalf("after the goroutine ended: %v", err)
	}
}
