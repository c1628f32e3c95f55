package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOptionsNotMutated: Dial copies its options and what they point to.
func TestOptionsNotMutated(t *testing.T) {
	checkLeaks(t)
	pki := getPKI(t)
	ts := startServer(t, "wss", ServerOptions{}, pki.serverTLS(true), echo)
	ctx := ctxT(t, 5*time.Second)
	base := &tls.Config{RootCAs: pki.pool}
	hdr := http.Header{"X-A": {"1"}}
	p, err := Dial(ctx, ts.url, DialOptions{TLS: base, Header: hdr, ServerName: "localhost", CertFile: pki.clientCert, KeyFile: pki.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if base.ServerName != "" || len(base.Certificates) != 0 || base.InsecureSkipVerify {
		t.Errorf("TLS config modified: %+v", base)
	}
	if len(hdr) != 1 || hdr.Get("User-Agent") != "" {
		t.Errorf("Header modified: %v", hdr)
	}
}

type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed (and replaced) by each Write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	return s.b.Write(p)
}

// waitFor waits until the buffer holds sub, at most d.
func (s *syncBuffer) waitFor(d time.Duration, sub string) bool {
	timeout := time.After(d)
	for {
		s.mu.Lock()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		found, changed := strings.Contains(s.b.String(), sub), s.changed
		s.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-changed:
		case <-timeout:
			return false
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoggerInjected: diagnostics go to the injected logger.
func TestLoggerInjected(t *testing.T) {
	checkLeaks(t)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l, err := ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", ServerOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0x7F, 0xF9, 0, 0})
	c.Read(make([]byte, 4))
	c.Close()
	if !buf.waitFor(3*time.Second, "rawsocket handshake failed") {
		t.Fatalf("no log record; log: %q", buf.String())
	}
	if !strings.Contains(buf.String(), "client asked for serializer 9") {
		t.Errorf("log lacks the reason: %q", buf.String())
	}
}
