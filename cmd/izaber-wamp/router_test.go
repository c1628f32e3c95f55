package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

func TestRouterCommandDemo(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"router", "--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0", "--demo", "--log-level", "error", "--data", t.TempDir()}, pw, &stderr)
		pw.Close()
	}()
	var wsURL, tcpURL, password string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "WebSocket: "):
			wsURL = f[1]
		case strings.HasPrefix(line, "RawSocket: "):
			tcpURL = f[1]
		case len(f) >= 6 && f[0] == "login" && f[1] == "backend-1":
			password = f[5]
		}
		if strings.HasPrefix(line, "Realm: ") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if wsURL == "" || tcpURL == "" || password == "" {
		t.Fatalf("router output incomplete: ws %q tcp %q password set %v; stderr %s", wsURL, tcpURL, password != "", stderr.String())
	}
	jctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sessions []*session.Session
	for _, u := range []string{wsURL, tcpURL} {
		p, err := transport.Dial(jctx, u, transport.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := session.Join(jctx, p, session.Config{Realm: "izaber", AuthID: "backend-1", Auth: []auth.ClientMethod{auth.Ticket(password)}})
		if err != nil {
			t.Fatalf("join %s: %v", u, err)
		}
		sessions = append(sessions, s)
		if s.Info().AuthRole != "backend" {
			t.Fatalf("role %q", s.Info().AuthRole)
		}
		if _, err := s.Call(jctx, "com.izaber.wamp.auth.whoami", nil, nil); err != nil {
			t.Fatalf("whoami: %v", err)
		}
	}
	// a wrong password is refused
	p, err := transport.Dial(jctx, tcpURL, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.Join(jctx, p, session.Config{Realm: "izaber", AuthID: "backend-1", Auth: []auth.ClientMethod{auth.Ticket("wrong")}}); err == nil {
		t.Fatal("joined with a wrong password")
	}

	stop() // what SIGINT does
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d; stderr %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("router did not stop")
	}
	for _, s := range sessions {
		<-s.Done()
		var we *session.Error
		if !errors.As(s.Err(), &we) || we.URI != "wamp.close.system_shutdown" {
			t.Fatalf("session ended with %v, want GOODBYE wamp.close.system_shutdown", s.Err())
		}
	}
}

func TestDispatcher(t *testing.T) {
	var out, errb strings.Builder
	if c := run(context.Background(), []string{"version"}, &out, &errb); c != 0 || !strings.HasPrefix(out.String(), "izaber-wamp ") {
		t.Fatalf("version: %d %q", c, out.String())
	}
	if c := run(context.Background(), []string{"nope"}, &out, &errb); c != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Fatalf("unknown: %d %q", c, errb.String())
	}
	out.Reset()
	if c := run(context.Background(), nil, &out, &errb); c != 0 || !strings.Contains(out.String(), "Usage: izaber-wamp <command>") {
		t.Fatalf("no command: %d %q", c, out.String())
	}
	errb.Reset()
	if c := run(context.Background(), []string{"router", "--log-level", "loud"}, &out, &errb); c != 2 || !strings.Contains(errb.String(), "log-level") {
		t.Fatalf("bad flag: %d %q", c, errb.String())
	}
}
