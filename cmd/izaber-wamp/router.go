package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

// shutdownTimeout bounds the GOODBYE exchange with every client on Ctrl-C.
const shutdownTimeout = 5 * time.Second

func newRouterCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "router",
		Short:   "run a local WAMP router with the Nexus services (development and tests)",
		GroupID: groupTools,
		Args:    noArgs,
		Long: `Runs a WAMP router for development and tests (not a crossbar/Nexus
replacement): WebSocket at /ws and RawSocket, realm izaber, the Nexus
services (auth.whoami, rosters, metadata, API keys, OTPs) and users from a
Nexus-format YAML file, or fresh demo users with --demo. Ctrl-C sends
GOODBYE to every session and exits.`,
		Example: `  izaber-wamp router --demo
  izaber-wamp router --users users.yaml --data ./router-data --ws 0.0.0.0:8282
  izaber-wamp router --ws "" --unix /tmp/wamp.sock --anonymous
  izaber-wamp router hash-password`,
	}
	var f routerFlags
	fs := cmd.Flags()
	fs.StringVar(&f.wsAddr, "ws", "127.0.0.1:8282", `WebSocket listen address, served at path /ws ("" disables)`)
	fs.StringVar(&f.rsAddr, "rawsocket", "127.0.0.1:18081", `RawSocket TCP listen address ("" disables)`)
	fs.StringVar(&f.unixPath, "unix", "", "also serve RawSocket on this Unix socket `PATH`")
	fs.StringVar(&f.realm, "realm", "izaber", "realm name")
	fs.StringVar(&f.usersFile, "users", "", "YAML users `FILE` (Nexus format)")
	fs.StringVar(&f.dataDir, "data", "", "data directory `DIR` for metadata, API keys and OTPs (empty: in memory only)")
	fs.BoolVar(&f.demo, "demo", false, "create demo users with fresh random credentials and print them")
	fs.BoolVar(&f.anonymous, "anonymous", false, `allow anonymous sessions (role "public"); on by default when there are no users`)
	fs.BoolVar(&f.permissive, "permissive", false, "let roles frontend and backend do everything (development only: Nexus's own rules are stricter)")
	fs.BoolVar(&f.allowReadable, "allow-readable-users-file", false, "accept a users file with plaintext secrets that other users can read")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]cobra.Completion{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("users", cobra.FixedCompletions([]cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt))
	cmd.RegisterFlagCompletionFunc("data", cobra.FixedCompletions(nil, cobra.ShellCompDirectiveFilterDirs))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return status(runRouter(cmd.Context(), f, a.stdout, a.stderr))
	}
	cmd.AddCommand(newHashPasswordCmd(a))
	return cmd
}

// routerFlags are the router command's flags.
type routerFlags struct {
	wsAddr, rsAddr, unixPath, realm, usersFile, dataDir, logLevel string
	demo, anonymous, permissive, allowReadable                    bool
}

func runRouter(ctx context.Context, f routerFlags, stdout, stderr io.Writer) int {
	wsAddr, rsAddr, unixPath, realmName := &f.wsAddr, &f.rsAddr, &f.unixPath, &f.realm
	usersFile, dataDir, demo, anonymous, logLevel := &f.usersFile, &f.dataDir, &f.demo, &f.anonymous, &f.logLevel
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
		PermissiveRoles: f.permissive, AllowReadableSecrets: f.allowReadable, Logger: log})
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
