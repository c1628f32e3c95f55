package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

func init() {
	commands["router"] = command{summary: "run a local WAMP router with the Nexus services (development and tests)", run: runRouter}
}

// shutdownTimeout bounds the GOODBYE exchange with every client on Ctrl-C.
const shutdownTimeout = 5 * time.Second

func runRouter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hash-password" {
		return runHashPassword(args[1:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("izaber-wamp router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wsAddr := fs.String("ws", "127.0.0.1:8282", `WebSocket listen address, served at path /ws ("" disables)`)
	rsAddr := fs.String("rawsocket", "127.0.0.1:18081", `RawSocket TCP listen address ("" disables)`)
	unixPath := fs.String("unix", "", "also serve RawSocket on this Unix socket path")
	realmName := fs.String("realm", "izaber", "realm name")
	usersFile := fs.String("users", "", "YAML users file (Nexus format)")
	dataDir := fs.String("data", "", "data directory for metadata, API keys and OTPs (empty: in memory only)")
	demo := fs.Bool("demo", false, "create demo users with fresh random credentials and print them")
	anonymous := fs.Bool("anonymous", false, `allow anonymous sessions (role "public"); on by default when there are no users`)
	permissive := fs.Bool("permissive", false, "let roles frontend and backend do everything (development only: Nexus's own rules are stricter)")
	allowReadable := fs.Bool("allow-readable-users-file", false, "accept a users file with plaintext secrets that other users can read")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: izaber-wamp router [flags]")
		fmt.Fprintln(stderr, "       izaber-wamp router hash-password   (a password_hash for the users file)")
		fmt.Fprintln(stderr, "\nRuns a WAMP router for development and tests (not a crossbar/Nexus replacement).")
		fmt.Fprintln(stderr, "Ctrl-C sends GOODBYE to every session and exits.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "izaber-wamp router: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "izaber-wamp router: bad --log-level %q: %v\n", *logLevel, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *wsAddr == "" && *rsAddr == "" && *unixPath == "" {
		fmt.Fprintln(stderr, "izaber-wamp router: no listener: give --ws, --rawsocket or --unix")
		return 2
	}

	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "izaber-wamp router: "+format+"\n", a...)
		return 1
	}

	if *demo {
		path := *usersFile
		if path == "" {
			dir := *dataDir
			if dir == "" {
				tmp, err := os.MkdirTemp("", "izaber-wamp-demo-")
				if err != nil {
					return fail("%v", err)
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			path = filepath.Join(dir, "demo-users.yaml")
		}
		users, err := nexus.WriteDemoUsers(path)
		if err != nil {
			return fail("%v", err)
		}
		*usersFile = path
		fmt.Fprintf(stdout, "Demo users (written to %s, passwords shown only now):\n", path)
		for _, u := range users {
			fmt.Fprintf(stdout, "  login %-12s role %-9s password %s", u.Login, u.Role, u.Password)
			if u.CRASecret != "" {
				fmt.Fprintf(stdout, "  wampcra secret %s", u.CRASecret)
			}
			fmt.Fprintln(stdout)
		}
	}
	allowAnon := *anonymous || *usersFile == ""
	svc, err := nexus.New(nexus.Config{UsersFile: *usersFile, DataDir: *dataDir, AllowAnonymous: allowAnon,
		PermissiveRoles: *permissive, AllowReadableSecrets: *allowReadable, Logger: log})
	if err != nil {
		return fail("%v", err)
	}
	defer svc.Close()
	r, err := router.New(router.Config{
		Realms: []router.RealmConfig{{
			Name:           *realmName,
			Authenticators: svc.Authenticators(),
			Authorizer:     svc.Authorizer(),
			Disclose:       true, // Nexus allows with disclose=true: callees see their callers
		}},
		Logger: log,
	})
	if err != nil {
		return fail("%v", err)
	}
	if err := svc.Install(r.Realm(*realmName)); err != nil {
		return fail("%v", err)
	}

	errc := make(chan error, 3)
	var httpSrv *http.Server
	if *wsAddr != "" {
		ln, err := net.Listen("tcp", *wsAddr)
		if err != nil {
			return fail("%v", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/ws", r.WebSocketHandler())
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		go func() {
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		fmt.Fprintf(stdout, "WebSocket: ws://%s/ws\n", ln.Addr())
	}
	serveRS := func(network, addr, url string) error {
		l, err := r.ListenRawSocket(ctx, network, addr)
		if err != nil {
			return err
		}
		go func() {
			if err := r.ServeRawSocket(l); err != nil {
				errc <- err
			}
		}()
		fmt.Fprintf(stdout, "RawSocket: %s%s\n", url, l.Addr())
		return nil
	}
	if *rsAddr != "" {
		if err := serveRS("tcp", *rsAddr, "tcp://"); err != nil {
			return fail("%v", err)
		}
	}
	if *unixPath != "" {
		removeStaleSocket(*unixPath)
		if err := serveRS("unix", *unixPath, "unix://"); err != nil {
			return fail("%v", err)
		}
		defer os.Remove(*unixPath)
	}
	fmt.Fprintf(stdout, "Realm: %s (anonymous %s). Ctrl-C to stop.\n", *realmName, onOff(allowAnon))

	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		log.Error("listener failed", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := r.Close(sctx); err != nil {
		log.Warn("some sessions did not answer GOODBYE in time", "err", err)
	}
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	return code
}

func onOff(b bool) string {
	if b {
		return "allowed"
	}
	return "off"
}

// removeStaleSocket removes a Unix socket left behind by a router that
// did not exit cleanly: one that exists but accepts no connection. Other
// files, and live sockets, are left alone (listening then fails).
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return
	}
	os.Remove(path)
}
