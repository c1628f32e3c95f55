package nexus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// crashChildEnv makes the test binary a router (runCrashChild) instead of
// running the tests: TestCrashSafety starts it as a child process.
const crashChildEnv = "NEXUS_CRASH_CHILD_DIR"

// runCrashChild serves a router with the Nexus service on dir (users.yaml,
// data/) over WebSocket on a loopback port, prints "URL <url>" and serves
// until it is killed or its stdin closes (the parent is gone).
func runCrashChild(dir string) int {
	svc, err := New(Config{UsersFile: filepath.Join(dir, "users.yaml"), DataDir: filepath.Join(dir, "data")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err == nil {
		err = svc.Install(r.Realm("izaber"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	go http.Serve(ln, r.WebSocketHandler())
	fmt.Printf("URL ws://%s/ws\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// crashModel is what the crash test knows the store must hold: every
// acknowledged write, and the one write per writer that was in flight when
// the router was killed (it may or may not have happened).
type crashModel struct {
	mu      sync.Mutex
	acked   map[string]string // metadata key -> value; absent = deleted or never set
	pending map[string]*string
	keys    map[string]string // API key uuid -> plaintext, acknowledged
	maybe   map[string]bool   // API key uuids whose create or delete was in flight
}

// TestCrashSafety kills a router process with SIGKILL in a loop while
// writers store metadata and create and delete API keys, and checks after
// every restart that the router starts and that every acknowledged write
// is there (every acknowledged delete gone); the write in flight at the
// kill may or may not be.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte("users:\n  - {login: alice, password: alice-pw}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m := &crashModel{acked: map[string]string{}, pending: map[string]*string{}, keys: map[string]string{}, maybe: map[string]bool{}}
	const iterations = 12
	budget := time.Now().Add(40 * time.Second)
	writes := 0
	for iter := 0; iter <= iterations; iter++ {
		if iter > 3 && time.Now().After(budget) {
			t.Logf("time budget spent after %d iterations", iter)
			iter = iterations // one last start and check
		}
		child, url := startCrashChild(t, exe, dir)
		s := crashJoin(t, url, "alice", "alice-pw")
		m.verify(t, url, s)
		if iter == iterations {
			crashStop(s, child)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var done [4]int
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done[w] = m.write(ctx, s, iter, w)
			}()
		}
		time.Sleep(time.Duration(20+rand.IntN(150)) * time.Millisecond)
		if err := child.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		child.Wait()
		wg.Wait()
		cancel()
		crashStop(s, nil)
		for _, n := range done {
			writes += n
		}
	}
	t.Logf("%d acknowledged writes over %d kills", writes, iterations)
	if writes < iterations {
		t.Errorf("only %d acknowledged writes: the kills did not land during writes", writes)
	}
}

func startCrashChild(t *testing.T, exe, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil { // closed when the test process exits
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
				urlc <- u
			}
		}
		close(urlc)
	}()
	select {
	case u, ok := <-urlc:
		if !ok {
			t.Fatal("restart failed: the router exited without serving")
		}
		return cmd, u
	case <-time.After(15 * time.Second):
		t.Fatal("restart failed: the router did not serve within 15s")
	}
	return nil, ""
}

func crashJoin(t *testing.T, url, authid, ticket string) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Join(ctx, p, session.Config{Realm: "izaber", AuthID: authid, Auth: []auth.ClientMethod{auth.Ticket(ticket)}})
	if err != nil {
		p.Close()
		t.Fatalf("join as %s after restart: %v", authid, err)
	}
	return s
}

// crashStop closes s and, when given, stops the child gracefully.
func crashStop(s *session.Session, child *exec.Cmd) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Close(ctx)
	if child != nil {
		child.Process.Kill()
		child.Wait()
	}
}

// write is one writer: until the router dies it sets and deletes its own
// metadata keys (writer 3 creates and deletes API keys), recording each
// write as pending before it is sent and as acknowledged when answered.
// It returns the number of acknowledged writes.
func (m *crashModel) write(ctx context.Context, s *session.Session, iter, w int) int {
	n := 0
	for seq := 0; ctx.Err() == nil; seq++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		if w == 3 {
			err = m.keyOp(cctx, s, seq)
		} else {
			err = m.metaOp(cctx, s, fmt.Sprintf("w%d.k%d", w, rand.IntN(6)), fmt.Sprintf("%d.%d.%d", iter, w, seq), rand.IntN(5) == 0)
		}
		cancel()
		if err != nil {
			return n // the router is gone: the write stays pending
		}
		n++
	}
	return n
}

func (m *crashModel) metaOp(ctx context.Context, s *session.Session, key, value string, del bool) error {
	var want *string
	if !del {
		want = &value
	}
	m.mu.Lock()
	m.pending[key] = want
	m.mu.Unlock()
	var err error
	if del {
		_, err = s.Call(ctx, "com.izaber.wamp.my.metadata.delete", protocol.List{key}, nil)
	} else {
		_, err = s.Call(ctx, "com.izaber.wamp.my.metadata.set", protocol.List{key, value}, nil)
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, key)
	if del {
		delete(m.acked, key)
	} else {
		m.acked[key] = value
	}
	return nil
}

func (m *crashModel) keyOp(ctx context.Context, s *session.Session, seq int) error {
	m.mu.Lock()
	var victim string
	if seq%3 == 2 {
		for id := range m.keys {
			victim = id
			break
		}
	}
	if victim != "" {
		m.maybe[victim] = true
		m.mu.Unlock()
		if _, err := s.Call(ctx, "com.izaber.wamp.my.apikeys.delete", protocol.List{victim}, nil); err != nil {
			return err
		}
		m.mu.Lock()
		delete(m.keys, victim)
		delete(m.maybe, victim)
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	res, err := s.Call(ctx, "com.izaber.wamp.my.apikeys.create", nil, nil)
	if err != nil {
		return err
	}
	k := res.Arg(0).(protocol.Dict)
	m.mu.Lock()
	m.keys[k["uuid"].(string)] = k["plaintext_key"].(string)
	m.mu.Unlock()
	return nil
}

// verify checks the store behind s against the model, then takes what it
// found for the writes that were in doubt.
func (m *crashModel) verify(t *testing.T, url string, s *session.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Call(ctx, "com.izaber.wamp.my.metadata.list", nil, nil)
	if err != nil {
		t.Fatalf("metadata.list after restart: %v", err)
	}
	got := res.Arg(0).(protocol.Dict)
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for k, rec := range got {
		seen[k] = true
		v := rec.(protocol.Dict)["value"]
		pend, inDoubt := m.pending[k]
		switch {
		case v == m.acked[k] && m.acked[k] != "":
		case inDoubt && pend != nil && v == *pend:
		default:
			t.Errorf("metadata %s = %v after restart; acknowledged %q, in flight %v", k, v, m.acked[k], fmtPending(pend, inDoubt))
		}
		m.acked[k] = v.(string)
	}
	for k, v := range m.acked {
		if seen[k] {
			continue
		}
		if pend, inDoubt := m.pending[k]; !inDoubt || pend != nil {
			t.Errorf("acknowledged metadata %s = %q lost after restart", k, v)
		}
		delete(m.acked, k)
	}
	clear(m.pending)

	res, err = s.Call(ctx, "com.izaber.wamp.my.apikeys.list", nil, nil)
	if err != nil {
		t.Fatalf("apikeys.list after restart: %v", err)
	}
	listed := map[string]bool{}
	for _, k := range res.Arg(0).(protocol.List) {
		listed[k.(protocol.Dict)["uuid"].(string)] = true
	}
	for id := range m.keys {
		if !listed[id] && !m.maybe[id] {
			t.Errorf("acknowledged API key %s lost after restart", id)
		}
		if !listed[id] {
			delete(m.keys, id)
		}
	}
	clear(m.maybe)
	// One acknowledged key still logs in.
	for _, plain := range m.keys {
		p, err := transport.Dial(ctx, url, transport.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ks, err := session.Join(ctx, p, session.Config{Realm: "izaber", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket(plain)}})
		if err != nil {
			p.Close()
			t.Errorf("acknowledged API key does not log in after restart: %v", err)
		} else {
			ks.Close(ctx)
		}
		break
	}
}

func fmtPending(p *string, inDoubt bool) string {
	switch {
	case !inDoubt:
		return "nothing"
	case p == nil:
		return "a delete"
	}
	return fmt.Sprintf("%q", *p)
}
