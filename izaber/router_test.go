package izaber_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

// testUsers are the accounts of the test router; the passwords are
// test-only.
var testUsers = map[string]struct{ password, role string }{
	"backend-1":  {"backend-pass-1", "backend"},
	"backend-2":  {"backend-pass-2", "backend"},
	"frontend-1": {"frontend-pass-1", "frontend"},
	"trust-1":    {"trust-pass-1", "trust"},
}

// nexusRouter is the embedded router with the Nexus services, served over
// WebSocket on a loopback address. Stop drops every connection abruptly
// (as a crashed router would); Start serves again on the same address with
// a fresh router (no registrations), keeping users and stored data.
type nexusRouter struct {
	dir   string
	users string

	mu      sync.Mutex
	addr    string
	rawAddr string // RawSocket over TCP, same lifetime as the WebSocket
	r       *router.Router
	svc     *nexus.Service
	srv     *http.Server
	ln      net.Listener
	conns   map[net.Conn]struct{}
	done    chan struct{}
}

// startNexus starts a router; the caller must Close it.
func startNexus() (*nexusRouter, error) {
	dir, err := os.MkdirTemp("", "izaber-test-")
	if err != nil {
		return nil, err
	}
	nr := &nexusRouter{dir: dir, users: filepath.Join(dir, "users.yaml")}
	body := "users:\n"
	for login, u := range testUsers {
		body += fmt.Sprintf("  - {login: %s, password: %s, role: %s}\n", login, u.password, u.role)
	}
	// Nexus's backend rules, plus the absolute URIs of TestPrefixOnTheWire.
	body += "roles:\n  backend:\n    - {uri: 'com.izaber.wamp.*', perms: crsp}\n    - {uri: 'roster.*', perms: oq}\n    - {uri: 'pfx.*', perms: crsp}\n"
	if err := os.WriteFile(nr.users, []byte(body), 0o600); err != nil {
		return nil, err
	}
	if err := nr.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return nr, nil
}

// URL is the WebSocket URL of the router.
func (nr *nexusRouter) URL() string {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return "ws://" + nr.addr + "/ws"
}

// RawURL is the RawSocket URL of the router, in Python's tcpip:// spelling.
func (nr *nexusRouter) RawURL() string {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return "tcpip://" + nr.rawAddr
}

// YAML returns an izaber.yaml for user at this router.
func (nr *nexusRouter) YAML(user string) string {
	return fmt.Sprintf(`default:
  wamp:
    connection:
      url: %s
      username: %s
      password: %s
      connect_timeout: 5
      backoff_initial: 0.05
      backoff_max: 0.2
      timeout: 10
`, nr.URL(), user, testUsers[user].password)
}

// Start serves a fresh router on the address (a new loopback port the
// first time, the same one afterwards).
func (nr *nexusRouter) Start() error {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	if nr.r != nil {
		return errors.New("already running")
	}
	svc, err := nexus.New(nexus.Config{UsersFile: nr.users, DataDir: filepath.Join(nr.dir, "data"), AllowAnonymous: true})
	if err != nil {
		return err
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		return err
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		return err
	}
	addr := nr.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old socket may linger briefly
		ln, err = net.Listen("tcp", addr)
		if err == nil || i > 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	nr.addr = ln.Addr().String()
	nr.conns = map[net.Conn]struct{}{}
	nr.srv = &http.Server{
		Handler: r.WebSocketHandler(),
		ConnState: func(c net.Conn, s http.ConnState) {
			nr.mu.Lock()
			defer nr.mu.Unlock()
			switch s {
			case http.StateNew:
				nr.conns[c] = struct{}{}
			case http.StateClosed:
				delete(nr.conns, c)
			}
		},
	}
	raw, err := r.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return err
	}
	nr.rawAddr = raw.Addr().String()
	go r.ServeRawSocket(raw) // closed by r.Close
	nr.r, nr.svc, nr.ln = r, svc, ln
	nr.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		srv.Serve(ln)
		close(done)
	}(nr.srv, nr.done)
	return nil
}

// Stop kills every connection at once and shuts the router down.
func (nr *nexusRouter) Stop() {
	nr.mu.Lock()
	r, svc, srv, done := nr.r, nr.svc, nr.srv, nr.done
	conns := make([]net.Conn, 0, len(nr.conns))
	for c := range nr.conns {
		conns = append(conns, c)
	}
	nr.r = nil
	nr.mu.Unlock()
	if r == nil {
		return
	}
	srv.Close() // stops accepting; hijacked WebSocket connections stay open
	for _, c := range conns {
		c.Close() // so cut them: the clients see a dead connection, no GOODBYE
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	r.Close(ctx)
	cancel()
	<-done
	svc.Close()
}

// Close stops the router and removes its files.
func (nr *nexusRouter) Close() {
	nr.Stop()
	os.RemoveAll(nr.dir)
}
