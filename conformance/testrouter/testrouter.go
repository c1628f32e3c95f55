// Package testrouter serves the izaber-wamp router (package router)
// in-process on loopback, with the test principals of
// testdata/crossbar/config.json, so that the conformance suites can check
// our router exactly as they check crossbar.
//
// Every authentication method is offered: anonymous (role "anonymous"),
// ticket, WAMP-CRA plain and salted, and cryptosign (role "frontend"); no
// authorizer (everything is allowed, as on the crossbar test node).
package testrouter

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/router"
)

// The test principals, as in testdata/crossbar/config.json.
const (
	Realm = "izaber"

	TicketAuthID = "ticketuser"
	TicketSecret = "ticket-secret-1"

	CRAAuthID = "crauser"
	CRASecret = "cra-secret-1"

	SaltedAuthID     = "saltuser"
	SaltedSecret     = "salt-secret-1"
	SaltedSalt       = "salt123"
	SaltedIterations = 100
	SaltedKeyLen     = 16

	CryptosignAuthID = "cryptouser"
	// CryptosignSeed is the Ed25519 seed of the cryptosign test principal
	// (hex). It is test data, not a secret: the crossbar test node lists
	// its public key.
	CryptosignSeed = "77616d702d636f6e666f726d616e63652d63727970746f7369676e2d74657374"

	// Role is the role of the authenticated principals.
	Role = "frontend"
)

// CryptosignKey is the private key of the cryptosign test principal.
func CryptosignKey() ed25519.PrivateKey {
	seed, _ := hex.DecodeString(CryptosignSeed)
	return ed25519.NewKeyFromSeed(seed)
}

// CryptosignPublicKey is the hex public key of the cryptosign principal.
func CryptosignPublicKey() string {
	return hex.EncodeToString(CryptosignKey().Public().(ed25519.PublicKey))
}

// Options configures Start.
type Options struct {
	// MaxMessageSize is the router's message size limit (default: the
	// router's own default).
	MaxMessageSize int
	// Logger receives the router's logs (nil discards them).
	Logger *slog.Logger
}

// Server is a running in-process router.
type Server struct {
	Router *router.Router
	// WebSocket, TCP and Unix are the URLs of its listeners.
	WebSocket, TCP, Unix string

	srv    *http.Server
	cancel context.CancelFunc
	dir    string
}

// URLs lists the three listener URLs.
func (s *Server) URLs() []string { return []string{s.WebSocket, s.TCP, s.Unix} }

// Authenticators are the router-side authenticators of the test
// principals.
func Authenticators() []auth.Authenticator {
	tickets := map[string]string{TicketAuthID: TicketSecret}
	cra := map[string]auth.CRAUser{
		CRAAuthID: {Secret: CRASecret, Identity: auth.Identity{AuthRole: Role}},
		SaltedAuthID: {Secret: SaltedSecret, Salt: SaltedSalt, Iterations: SaltedIterations, KeyLen: SaltedKeyLen,
			Identity: auth.Identity{AuthRole: Role}},
	}
	pub := CryptosignPublicKey()
	return []auth.Authenticator{
		auth.AnonymousAuthenticator("anonymous"),
		auth.TicketAuthenticator(func(_ context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			want, ok := tickets[req.AuthID]
			if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(ticket)) != 1 {
				return nil, nil
			}
			return &auth.Identity{AuthRole: Role}, nil
		}),
		auth.CRAAuthenticator(func(_ context.Context, req *auth.Request) (*auth.CRAUser, error) {
			u, ok := cra[req.AuthID]
			if !ok {
				return nil, nil
			}
			return &u, nil
		}),
		auth.CryptosignAuthenticator(func(_ context.Context, req *auth.Request, key string) (*auth.Identity, error) {
			if key != pub || req.AuthID != "" && req.AuthID != CryptosignAuthID {
				return nil, nil
			}
			return &auth.Identity{AuthID: CryptosignAuthID, AuthRole: Role}, nil
		}),
	}
}

// Start serves a router on WebSocket (/ws), RawSocket TCP and RawSocket
// Unix, all on loopback.
func Start(o Options) (*Server, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, err := router.New(router.Config{
		Realms:         []router.RealmConfig{{Name: Realm, Authenticators: Authenticators()}},
		Logger:         log,
		MaxMessageSize: o.MaxMessageSize,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Router: r, cancel: cancel}
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	s.WebSocket = "ws://" + ln.Addr().String() + "/ws"
	tcp, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	go r.ServeRawSocket(tcp)
	s.TCP = "tcp://" + tcp.Addr().String()
	// Unix socket paths are limited to ~100 bytes: keep it short.
	if s.dir, err = os.MkdirTemp("", "wtr"); err != nil {
		return fail(err)
	}
	sock := filepath.Join(s.dir, "r.sock")
	unix, err := r.ListenRawSocket(ctx, "unix", sock)
	if err != nil {
		return fail(err)
	}
	go r.ServeRawSocket(unix)
	s.Unix = "unix://" + sock
	return s, nil
}

// Close stops the router (bounded to a few seconds) and its listeners.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Router.Close(ctx)
	if s.srv != nil {
		err = errors.Join(err, s.srv.Shutdown(ctx))
	}
	s.cancel()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return err
}
