package transport

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestRefusedConnectionsLogBounded: a stranger who makes a listener refuse
// connections over and over (here: 60 bad RawSocket handshakes) gets at
// most refusalBurst log lines written per interval, not one per attempt.
func TestRefusedConnectionsLogBounded(t *testing.T) {
	checkLeaks(t)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l, err := ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", ServerOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const attempts = 60
	for range attempts {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{0x7F, 0xF9, 0, 0}) // serializer 9: refused
		c.Read(make([]byte, 4))           // the refusal
		c.Close()
	}
	l.Close() // waits for the handshakes, which log after answering
	if n := strings.Count(buf.String(), "rawsocket handshake failed"); n != refusalBurst {
		t.Errorf("%d refusals logged one by one, want %d (of %d attempts)", n, refusalBurst, attempts)
	}
}

// TestRefusalSummary: the refusals past the burst are counted and reported
// in one line when the interval ends; then lines are written again.
func TestRefusalSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)))
		for range refusalBurst + 30 {
			r.Info("refused", "remote", "192.0.2.1:1")
		}
		if n := strings.Count(buf.String(), "msg=refused"); n != refusalBurst {
			t.Fatalf("%d lines, want %d", n, refusalBurst)
		}
		time.Sleep(refusalInterval)
		synctest.Wait()
		if !strings.Contains(buf.String(), "count=30") {
			t.Fatalf("no summary of the 30 unlogged refusals:\n%s", buf.String())
		}
		r.Info("refused", "remote", "192.0.2.1:1")
		if n := strings.Count(buf.String(), "msg=refused"); n != refusalBurst+1 {
			t.Errorf("after the interval: %d lines, want %d", n, refusalBurst+1)
		}
	})
}
