package nexus_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// lockedBuffer is a log destination shared by the router's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Strangers cannot flood the log: failed logins with 4 MiB authids (which
// the router refuses before login, being over its 64 KiB pre-login message
// limit) and with 60 KiB authids (which reach the authenticators), a 60 KiB
// realm and a 30 KiB ABORT reason and message from clients that never
// logged in, and
// a logged-in session calling a 60 KiB URI it may not call, add a few
// kilobytes to the log, even at Debug level, and no line carries more than
// a cut, escaped piece of what a client sent. (Before, each failed login
// wrote its full authid at Info: 21 MB for five 4 MiB authids.)
func TestClientStringsCannotFloodTheLog(t *testing.T) {
	var logs lockedBuffer
	lg := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sr := newSockRig(t, wireUsers, func(c *nexus.Config) { c.Logger = lg })
	for i := range 5 {
		if _, err := sr.dial(sr.ws, strings.Repeat("x", 4<<20)+string(rune('a'+i)), "wrong-password"); err == nil {
			t.Fatal("logged in")
		}
	}
	huge := strings.Repeat("x", 60<<10)
	for i := range 5 {
		_, err := sr.dial(sr.ws, huge+string(rune('a'+i))+"\nlevel=ERROR msg=forged", "wrong-password")
		if err == nil {
			t.Fatal("logged in")
		}
	}
	dialRaw := func() transport.Peer {
		p, err := transport.Dial(sr.ctx, sr.ws, transport.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := dialRaw()
	p.Send(sr.ctx, &protocol.Hello{Realm: "r" + huge, Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}}}})
	p.Recv(sr.ctx)
	p.Close()
	p = dialRaw()
	p.Send(sr.ctx, &protocol.Hello{Realm: "izaber", Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}},
		"authid": "alice", "authmethods": protocol.List{"ticket"}}})
	p.Recv(sr.ctx) // CHALLENGE
	p.Send(sr.ctx, &protocol.Abort{Details: protocol.Dict{"message": huge[:30<<10]}, Reason: "wamp.error." + huge[:30<<10]})
	p.Close()
	// A logged-in session calling a 4 MiB URI it may not call.
	alice := sr.join("alice", "alice-pw")
	if _, err := alice.Call(sr.ctx, "com.izaber.wamp."+huge, nil, nil); err == nil {
		t.Error("call allowed")
	}
	sr.svc.Close() // flushes the failed-login summaries

	out := logs.String()
	if len(out) > 16<<10 {
		t.Errorf("the log holds %d bytes", len(out))
	}
	for i, line := range strings.Split(out, "\n") {
		if len(line) > 1500 {
			t.Errorf("line %d has %d bytes: %.200s", i, len(line), line)
		}
		if strings.HasPrefix(line, "level=ERROR msg=forged") {
			t.Errorf("a client forged a log line: %q", line)
		}
	}
	if !strings.Contains(out, "failed logins") {
		t.Errorf("failed logins are not in the log:\n%s", out)
	}
	t.Logf("%d bytes of log", len(out))
}
