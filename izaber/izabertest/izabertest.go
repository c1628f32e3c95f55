// Package izabertest runs the embedded development router with the
// Nexus-compatible services and a fixed set of users on a loopback
// WebSocket, for tests and examples of programs that use package izaber,
// as net/http/httptest does for HTTP servers:
//
//	nx, err := izabertest.Start()
//	if err != nil { ... }
//	defer nx.Close()
//	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
//
// The users are backend-1 and backend-2 (role backend), frontend-1 (role
// frontend, with a salted WAMP-CRA secret), trust-1 (role trust, with a
// cryptosign key); each gets a fresh random password. Anonymous login is
// allowed (role public). Stop and Restart simulate a router that crashes
// and comes back, for reconnection tests.
package izabertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

// Realm is the realm the router serves (izaber's default realm).
const Realm = "izaber"

// User is an account of the router. It holds plaintext secrets: test
// credentials only.
type User struct {
	Login    string
	Role     string
	Password string
	// CRASecret is the WAMP-CRA secret (salted on the router), or "".
	CRASecret string
	// CryptosignKey is the Ed25519 key whose public half the router
	// knows, or nil.
	CryptosignKey ed25519.PrivateKey

	craSalt string
}

// Router is a running embedded router. Its methods are safe for
// concurrent use.
type Router struct {
	dir  string
	file string // users file

	mu      sync.Mutex
	users   map[string]User
	addr    string // WebSocket listen address, kept across Restart
	rawAddr string // RawSocket listen address (a new one after Restart)
	r       *router.Router
	svc     *nexus.Service // closed after r, releasing the data directory
	srv     *http.Server
	conns   map[net.Conn]struct{}
	served  chan struct{} // closed when srv.Serve returned
}

// Start starts a router on 127.0.0.1 (a free port) with fresh users.
// Close it when done.
func Start() (*Router, error) {
	dir, err := os.MkdirTemp("", "izabertest-")
	if err != nil {
		return nil, err
	}
	nr := &Router{dir: dir, file: filepath.Join(dir, "users.yaml"), users: map[string]User{}}
	if err := nr.writeUsers(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := nr.Restart(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return nr, nil
}

func token() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (nr *Router) writeUsers() error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	for _, u := range []User{
		{Login: "backend-1", Role: nexus.RoleBackend},
		{Login: "backend-2", Role: nexus.RoleBackend},
		{Login: "frontend-1", Role: nexus.RoleFrontend, CRASecret: token(), craSalt: token()},
		{Login: "trust-1", Role: nexus.RoleTrust, CryptosignKey: key},
	} {
		u.Password = token()
		nr.users[u.Login] = u
	}
	return nr.saveUsers()
}

// SetPassword changes the password of login; the router uses it from the
// next Restart (for a test of a login that fails on reconnection).
func (nr *Router) SetPassword(login, password string) error {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	u, ok := nr.users[login]
	if !ok {
		return fmt.Errorf("izabertest: no user %q", login)
	}
	u.Password = password
	nr.users[login] = u
	return nr.saveUsers()
}

// saveUsers writes the users file.
func (nr *Router) saveUsers() error {
	body := "users:\n"
	for _, login := range slices.Sorted(maps.Keys(nr.users)) {
		u := nr.users[login]
		body += fmt.Sprintf("  - login: %s\n    password: %q\n    role: %s\n", u.Login, u.Password, u.Role)
		if u.CRASecret != "" {
			body += fmt.Sprintf("    wampcra_secret: %q\n    wampcra_salt: %q\n    wampcra_iterations: 1000\n    wampcra_keylen: 32\n", u.CRASecret, u.craSalt)
		}
		if u.CryptosignKey != nil {
			body += fmt.Sprintf("    cryptosign_pubkeys: [%s]\n", hex.EncodeToString(u.CryptosignKey.Public().(ed25519.PublicKey)))
		}
	}
	return os.WriteFile(nr.file, []byte(body), 0o600)
}

// Logins lists the users' logins, sorted.
func (nr *Router) Logins() []string {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	out := make([]string, 0, len(nr.users))
	for l := range nr.users {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// User returns the account login (the zero User if there is none).
func (nr *Router) User(login string) User {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return nr.users[login]
}

// Password returns the password of login.
func (nr *Router) Password(login string) string { return nr.User(login).Password }

// URL is the router's WebSocket URL, ws://127.0.0.1:<port>/ws; it stays
// the same across Restart.
func (nr *Router) URL() string {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return "ws://" + nr.addr + "/ws"
}

// RawURL is the router's RawSocket URL, tcpip://127.0.0.1:<port> (in the
// Python library's spelling). It changes on Restart.
func (nr *Router) RawURL() string {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return "tcpip://" + nr.rawAddr
}

// YAML returns an izaber.yaml that logs in as login (with its password)
// at this router, with short timeouts and reconnection delays that suit
// tests.
func (nr *Router) YAML(login string) string {
	return fmt.Sprintf(`default:
  wamp:
    connection:
      url: %s
      username: %s
      password: %q
      connect_timeout: 5
      backoff_initial: 0.05
      backoff_max: 0.2
      timeout: 10
`, nr.URL(), login, nr.Password(login))
}

// Restart serves a fresh router (no sessions, registrations or
// subscriptions; the users and their stored data stay) on the same
// WebSocket address. It fails when the router is running.
func (nr *Router) Restart() error {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	if nr.r != nil {
		return errors.New("izabertest: the router is running")
	}
	svc, err := nexus.New(nexus.Config{UsersFile: nr.file, DataDir: filepath.Join(nr.dir, "data"), AllowAnonymous: true})
	if err != nil {
		return err
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: Realm, Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err == nil {
		err = svc.Install(r.Realm(Realm))
	}
	if err != nil {
		svc.Close()
		return err
	}
	addr := nr.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old socket may linger for a moment
		ln, err = net.Listen("tcp", addr)
		if err == nil || i >= 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.Close(context.Background())
		svc.Close()
		return err
	}
	raw, err := r.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		r.Close(context.Background())
		svc.Close()
		return err
	}
	go r.ServeRawSocket(raw) // ends at r.Close
	nr.addr, nr.rawAddr = ln.Addr().String(), raw.Addr().String()
	nr.conns = map[net.Conn]struct{}{}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	nr.srv = &http.Server{
		Handler: mux,
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
	nr.r, nr.svc = r, svc
	nr.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		srv.Serve(ln)
		close(done)
	}(nr.srv, nr.served)
	return nil
}

// Stop kills the router as a crash would: every connection is cut at
// once, without GOODBYE, and nothing listens until Restart.
func (nr *Router) Stop() {
	nr.mu.Lock()
	r, svc, srv, served := nr.r, nr.svc, nr.srv, nr.served
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
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	r.Close(ctx)
	cancel()
	<-served
	svc.Close()
}

// Close stops the router and removes its files.
func (nr *Router) Close() {
	nr.Stop()
	os.RemoveAll(nr.dir)
}
