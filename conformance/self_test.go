package conformance

import (
	"context"
	"crypto/subtle"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/router"
)

var flagSelf = flag.Bool("self", os.Getenv("WAMP_CONFORMANCE_SELF") == "1",
	"run the matrix against our own router, started in-process with the principals of testdata/crossbar/config.json (env WAMP_CONFORMANCE_SELF=1)")

// selfPrincipals mirror testdata/crossbar/config.json, so the same default
// credentials work against crossbar and against our router.
var (
	selfTickets = map[string]string{"ticketuser": "ticket-secret-1"}
	selfCRA     = map[string]auth.CRAUser{
		"crauser":  {Secret: "cra-secret-1", Identity: auth.Identity{AuthRole: "frontend"}},
		"saltuser": {Secret: "salt-secret-1", Salt: "salt123", Iterations: 100, KeyLen: 16, Identity: auth.Identity{AuthRole: "frontend"}},
	}
)

// startSelfRouter serves our router (no authorizer: everything allowed, like
// the crossbar test node) over WebSocket /ws, RawSocket TCP and RawSocket
// Unix on loopback, and points the matrix flags at it.
func startSelfRouter(t *testing.T) {
	t.Helper()
	authenticators := []auth.Authenticator{
		auth.AnonymousAuthenticator("anonymous"),
		auth.TicketAuthenticator(func(_ context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			want, ok := selfTickets[req.AuthID]
			if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(ticket)) != 1 {
				return nil, nil
			}
			return &auth.Identity{AuthRole: "frontend"}, nil
		}),
		auth.CRAAuthenticator(func(_ context.Context, req *auth.Request) (*auth.CRAUser, error) {
			u, ok := selfCRA[req.AuthID]
			if !ok {
				return nil, nil
			}
			return &u, nil
		}),
	}
	r, err := router.New(router.Config{
		Realms: []router.RealmConfig{{Name: *flagRealm, Authenticators: authenticators}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tcp, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeRawSocket(tcp)
	// Unix socket paths are limited to ~100 bytes: keep it short.
	dir, err := os.MkdirTemp("", "wconf")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "r.sock")
	unix, err := r.ListenRawSocket(ctx, "unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeRawSocket(unix)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		r.Close(sctx)
		srv.Shutdown(sctx)
		cancel()
		os.RemoveAll(dir)
	})
	*flagWS = "ws://" + ln.Addr().String() + "/ws"
	*flagTCP = "tcp://" + tcp.Addr().String()
	*flagUnix = "unix://" + sock
	*flagURL = ""
	if *flagRouterName == "router under test" {
		*flagRouterName = "izaber-wamp Go router (in-process)"
	}
}
