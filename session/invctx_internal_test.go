package session

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestInvCtx: an invocation's context behaves as context.WithCancel's:
// Done and Err, children and context.AfterFunc cancelled with it, stop
// functions that stop, and no goroutine per derived context.
func TestInvCtx(t *testing.T) {
	var c invCtx
	if c.Err() != nil {
		t.Fatal("cancelled at birth")
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed at birth")
	default:
	}
	before := runtime.NumGoroutine()
	children := make([]context.Context, 1000)
	var cancels []context.CancelFunc
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	for i := range children {
		var cancel context.CancelFunc
		children[i], cancel = context.WithTimeout(&c, time.Hour)
		cancels = append(cancels, cancel)
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Fatalf("%d goroutines for 1000 derived contexts", n)
	}
	stopped, cancel := context.WithCancel(&c)
	cancels = append(cancels, cancel)
	ran := make(chan struct{})
	context.AfterFunc(&c, func() { close(ran) })
	never := context.AfterFunc(&c, func() { t.Error("stopped AfterFunc ran") })
	if !never() {
		t.Fatal("stop did not stop")
	}
	c.cancel()
	c.cancel() // idempotent
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v", c.Err())
	}
	<-c.Done()
	for i, ch := range children {
		if !errors.Is(ch.Err(), context.Canceled) || !errors.Is(context.Cause(ch), context.Canceled) {
			t.Fatalf("child %d: Err %v", i, ch.Err())
		}
	}
	if !errors.Is(stopped.Err(), context.Canceled) {
		t.Fatalf("child: %v", stopped.Err())
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not run")
	}
	// After the cancellation: Done is closed at once, AfterFunc runs.
	var d invCtx
	d.cancel()
	<-d.Done()
	late := make(chan struct{})
	context.AfterFunc(&d, func() { close(late) })
	select {
	case <-late:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc on a cancelled context did not run")
	}
}
