package main

// Shared pieces of the client commands: connection flags and settings,
// argument parsing, JSON output and exit codes.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Exit codes of the client commands.
const (
	exitOK        = 0
	exitWAMPError = 1 // the router or a callee answered with a WAMP ERROR (or the request timed out)
	exitUsage     = 2 // bad command line or bad configuration
	exitConnect   = 3 // could not connect, join or authenticate, or the connection was lost
	exitInterrupt = 130
)

// Environment variables read by the client commands, over izaber.yaml and
// under flags.
const (
	envURL        = "IZABER_URL"
	envRealm      = "IZABER_REALM"
	envUser       = "IZABER_USER"
	envPassword   = "IZABER_PASSWORD"
	envSerializer = "IZABER_SERIALIZER"
	envURIBase    = "IZABER_URI_BASE"
)

// defaultCLIConnectTimeout bounds the first connection when izaber.yaml
// does not say (the facade's 30 s is long for a shell).
const defaultCLIConnectTimeout = 10 * time.Second

// connFlags are the connection flags shared by every client command.
type connFlags struct {
	configFile     string
	env            string
	url            string
	realm          string
	user           string
	password       string
	serializer     string
	uriBase        string
	absolute       bool
	anonymous      bool
	timeout        time.Duration
	connectTimeout time.Duration
	tlsCA          string
	tlsCert        string
	tlsKey         string
	tlsServerName  string
	tlsInsecure    bool
	verbose        bool
	pretty         bool
	compact        bool

	set map[string]bool // flags given on the command line
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configFile, "config", "", "configuration file (default: izaber.yaml in ., ~, then the user data dir; else $IZABER_YAML)")
	fs.StringVar(&c.env, "env", "", "izaber.yaml environment merged over default (default $IZABER_ENVIRONMENT, else default)")
	fs.StringVar(&c.url, "url", "", "router URL: ws://, wss://, tcp://, tcps://, tcpip://, unix:// (env "+envURL+")")
	fs.StringVar(&c.realm, "realm", "", "realm (env "+envRealm+"; default izaber)")
	fs.StringVar(&c.user, "user", "", "username for ticket authentication (env "+envUser+")")
	fs.StringVar(&c.password, "password", "", "password (INSECURE: lands in shell history; prefer env "+envPassword+", izaber.yaml or the prompt)")
	fs.StringVar(&c.serializer, "serializer", "", "serializers offered, comma separated: cbor, msgpack, json (env "+envSerializer+")")
	fs.StringVar(&c.uriBase, "uri-base", "", `URI prefix added to relative URIs (env `+envURIBase+`; default com.izaber.wamp; "-" for none)`)
	fs.BoolVar(&c.absolute, "absolute", false, "send URIs exactly as given, without the uri_base prefix")
	fs.BoolVar(&c.anonymous, "anonymous", false, "authenticate anonymously instead of with a ticket")
	fs.DurationVar(&c.timeout, "timeout", 0, "time limit of each request (default from izaber.yaml, else 300s)")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 0, "time limit of the connection attempt (default from izaber.yaml, else 10s)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of CA certificates to trust")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM client certificate")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM client key")
	fs.StringVar(&c.tlsServerName, "tls-server-name", "", "server name to verify (default: the URL's host)")
	fs.BoolVar(&c.tlsInsecure, "tls-insecure", false, "do not verify the server certificate (testing only)")
	fs.BoolVar(&c.verbose, "v", false, "log connection diagnostics to stderr")
	fs.BoolVar(&c.pretty, "pretty", false, "indent JSON output (default: when stdout is a terminal)")
	fs.BoolVar(&c.compact, "compact", false, "one-line JSON output (default: when stdout is not a terminal)")
}

// settings is the effective configuration and where each part came from.
type settings struct {
	cfg            izaber.Config
	source         string // file path, "$IZABER_YAML" or "" when there was no configuration
	environment    string
	warnings       []string
	values         map[string]any // merged izaber.yaml environment (password redacted by Load)
	overrides      []string       // which env vars and flags changed the file's settings
	passwordSource string         // "izaber.yaml", "$IZABER_PASSWORD", "--password", "prompt", "default"
}

// load reads izaber.yaml (when there is one) and applies environment
// variables and flags. It does not prompt.
func (c *connFlags) load() (*settings, error) {
	st := &settings{}
	s, err := izaber.Load(izaber.Source{File: c.configFile, Environment: c.env})
	switch {
	case err == nil:
		st.cfg = s.Config
		st.source = s.Origin
		st.environment = s.Environment
		st.warnings = s.Config.Warnings
		st.values = s.Values
	case errors.Is(err, izaber.ErrNoConfig) && c.configFile == "":
		// No izaber.yaml anywhere: defaults, env and flags only.
		st.environment = c.env
		if st.environment == "" {
			st.environment = os.Getenv(izaber.EnvEnvironment)
		}
		if st.environment == "" {
			st.environment = "default"
		}
	default:
		return nil, err
	}
	if st.cfg.Password != "" {
		st.passwordSource = "izaber.yaml"
	}
	apply := func(name, value string, f func(string) error) error {
		if value == "" {
			return nil
		}
		if err := f(value); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		st.overrides = append(st.overrides, name)
		return nil
	}
	setURL := func(v string) error { st.cfg.URL = v; return nil }
	setRealm := func(v string) error { st.cfg.Realm = v; return nil }
	setUser := func(v string) error { st.cfg.Username = v; st.cfg.AuthID = ""; return nil }
	setSer := func(v string) error {
		var list []string
		for _, s := range strings.Split(v, ",") {
			s = strings.ToLower(strings.TrimSpace(s))
			switch s {
			case "cbor", "msgpack", "json":
				list = append(list, s)
			default:
				return fmt.Errorf("unknown serializer %q (want cbor, msgpack or json)", s)
			}
		}
		st.cfg.Serializers = list
		return nil
	}
	setBase := func(v string) error {
		v = strings.TrimSuffix(v, ".")
		if v == "-" || v == "" {
			st.cfg.URIBase, st.cfg.NoURIBase = "", true
		} else {
			st.cfg.URIBase, st.cfg.NoURIBase = v, false
		}
		return nil
	}
	for _, step := range []struct {
		name, value string
		f           func(string) error
	}{
		{"$" + envURL, os.Getenv(envURL), setURL},
		{"$" + envRealm, os.Getenv(envRealm), setRealm},
		{"$" + envUser, os.Getenv(envUser), setUser},
		{"$" + envSerializer, os.Getenv(envSerializer), setSer},
		{"$" + envURIBase, os.Getenv(envURIBase), setBase},
		{"--url", c.url, setURL},
		{"--realm", c.realm, setRealm},
		{"--user", c.user, setUser},
		{"--serializer", c.serializer, setSer},
		{"--uri-base", c.uriBase, setBase},
	} {
		if err := apply(step.name, step.value, step.f); err != nil {
			return nil, err
		}
	}
	if p := os.Getenv(envPassword); p != "" {
		st.cfg.Password = p
		st.passwordSource = "$" + envPassword
		st.overrides = append(st.overrides, "$"+envPassword)
	}
	if c.set["password"] {
		st.cfg.Password = c.password
		st.passwordSource = "--password"
		st.overrides = append(st.overrides, "--password")
	}
	if c.anonymous {
		st.cfg.AuthMethods = []string{"anonymous"}
		st.overrides = append(st.overrides, "--anonymous")
	}
	if c.set["timeout"] {
		st.cfg.Timeout = c.timeout
		if c.timeout == 0 {
			st.cfg.Timeout = -1
		}
		st.overrides = append(st.overrides, "--timeout")
	}
	if c.set["connect-timeout"] {
		st.cfg.ConnectTimeout = c.connectTimeout
		st.overrides = append(st.overrides, "--connect-timeout")
	} else if st.cfg.ConnectTimeout == 0 {
		st.cfg.ConnectTimeout = defaultCLIConnectTimeout
	}
	tls := func(name string, dst *string, v string) {
		if v != "" {
			*dst = v
			st.overrides = append(st.overrides, name)
		}
	}
	tls("--tls-ca", &st.cfg.TLSCAFile, c.tlsCA)
	tls("--tls-cert", &st.cfg.TLSCertFile, c.tlsCert)
	tls("--tls-key", &st.cfg.TLSKeyFile, c.tlsKey)
	tls("--tls-server-name", &st.cfg.TLSServerName, c.tlsServerName)
	if c.tlsInsecure {
		st.cfg.TLSInsecure = true
		st.overrides = append(st.overrides, "--tls-insecure")
	}
	if st.passwordSource == "" {
		st.passwordSource = "default"
	}
	return st, nil
}

// ticketAuth reports whether the configuration authenticates with a
// ticket (the default) and so needs a password.
func ticketAuth(cfg izaber.Config) bool {
	if len(cfg.AuthMethods) == 0 {
		return true
	}
	for _, m := range cfg.AuthMethods {
		if strings.EqualFold(m, "ticket") {
			return true
		}
	}
	return false
}

// env is what a command runs with: its streams, flags and settings.
type env struct {
	name   string // "izaber-wamp call"
	stdout io.Writer
	stderr io.Writer
	conn   connFlags
	fs     *flag.FlagSet

	// configure, if set, adjusts the configuration before connecting.
	configure func(*izaber.Config)
}

func newEnv(name string, stdout, stderr io.Writer, usage, examples string) *env {
	e := &env{name: "izaber-wamp " + name, stdout: stdout, stderr: stderr}
	e.fs = flag.NewFlagSet(e.name, flag.ContinueOnError)
	e.fs.SetOutput(stderr)
	e.fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: izaber-wamp %s\n\n%s\n", usage, strings.TrimSpace(examples))
		fmt.Fprintln(stderr, "\nflags:")
		e.fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nexit status: 0 ok, 1 WAMP error, 2 usage or configuration error, 3 connection or authentication failure, 130 interrupted")
	}
	return e
}

// errorf prints a message prefixed with the command name and returns code.
func (e *env) errorf(code int, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n", e.name, fmt.Sprintf(format, a...))
	return code
}

// usageErr reports a bad command line.
func (e *env) usageErr(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\nRun \"%s -h\" for help.\n", e.name, fmt.Sprintf(format, a...), e.name)
	return exitUsage
}

// parse parses the command line, with flags allowed between positional
// arguments. Everything after "--" is returned in rest. ok false means
// return code now (help was printed, or a usage error).
func (e *env) parse(args []string) (pos, rest []string, dashdash bool, code int, ok bool) {
	for {
		for len(args) > 0 && !looksLikeFlag(args[0]) {
			pos = append(pos, args[0])
			args = args[1:]
		}
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			rest, dashdash = args[1:], true
			break
		}
		if err := e.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, false, exitOK, false
			}
			fmt.Fprintf(e.stderr, "Run \"%s -h\" for help.\n", e.name)
			return nil, nil, false, exitUsage, false
		}
		remaining := e.fs.Args()
		if used := len(args) - len(remaining); used > 0 && args[used-1] == "--" {
			rest, dashdash = remaining, true
			break
		}
		args = remaining
	}
	e.conn.set = map[string]bool{}
	e.fs.Visit(func(f *flag.Flag) { e.conn.set[f.Name] = true })
	if e.conn.set["password"] {
		fmt.Fprintf(e.stderr, "%s: warning: --password is visible in the process list and lands in shell history; prefer $%s or the prompt\n", e.name, envPassword)
	}
	return pos, rest, dashdash, 0, true
}

// looksLikeFlag: "-x", "--x", "--" but not "-" or a negative number.
func looksLikeFlag(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	c := s[1]
	return !(c >= '0' && c <= '9' || c == '.')
}

// terminal reports whether w is a terminal.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// indent reports whether JSON output is indented.
func (e *env) indent() bool {
	switch {
	case e.conn.compact:
		return false
	case e.conn.pretty:
		return true
	}
	return terminal(e.stdout)
}

func (e *env) printJSON(v any) error {
	return writeJSON(e.stdout, v, e.indent())
}

// logger returns the diagnostics logger (-v) or nil.
func (e *env) logger() *slog.Logger {
	if !e.conn.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// connect loads the settings, asks for the password on a terminal when
// none is configured, and connects. longLived keeps automatic
// reconnection as configured; one-shot commands do not reconnect. On
// failure it has printed the error and returns the exit code.
func (e *env) connect(ctx context.Context, longLived bool) (*izaber.Client, int) {
	st, err := e.conn.load()
	if err != nil {
		return nil, e.errorf(exitUsage, "%v", err)
	}
	cfg := st.cfg
	if st.passwordSource == "default" && ticketAuth(cfg) && cfg.Username != "" && cfg.Username != izaber.DefaultUsername && terminal(os.Stdin) {
		fmt.Fprintf(e.stderr, "Password for %s: ", cfg.Username)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, e.errorf(exitUsage, "reading password: %v", err)
		}
		cfg.Password = string(b)
	}
	if !longLived {
		cfg.DisableReconnect = true
	}
	cfg.Logger = e.logger()
	if e.configure != nil {
		e.configure(&cfg)
	}
	c, err := izaber.New(cfg)
	if err != nil {
		return nil, e.errorf(exitUsage, "%v", err)
	}
	if err := c.Connect(ctx); err != nil {
		c.Close(context.Background())
		if ctx.Err() != nil {
			return nil, e.errorf(exitInterrupt, "interrupted")
		}
		return nil, e.errorf(exitConnect, "cannot connect to %s as %s: %v", c.Config().URL, describeUser(cfg), err)
	}
	if cfg.Logger != nil {
		info, _ := c.Info()
		cfg.Logger.Info("izaber-wamp: joined", "url", cfg.URL, "realm", info.Realm, "session", info.Session, "authid", info.AuthID, "authrole", info.AuthRole)
	}
	return c, exitOK
}

func describeUser(cfg izaber.Config) string {
	if !ticketAuth(cfg) {
		return "anonymous"
	}
	if cfg.Username == "" {
		return izaber.DefaultUsername
	}
	return cfg.Username
}

// closeClient leaves the session with GOODBYE, bounded in time.
func closeClient(c *izaber.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Close(ctx)
}

// close leaves the session with GOODBYE and says so with -v.
func (e *env) close(c *izaber.Client) {
	connected := c.Connected()
	err := closeClient(c)
	if l := e.logger(); l != nil && connected {
		if err != nil {
			l.Warn("izaber-wamp: leaving", "err", err)
		} else {
			l.Info("izaber-wamp: left with GOODBYE")
		}
	}
}

// uriOpts returns the per-request options implied by the flags.
func (e *env) uriOpts() []session.Option {
	if e.conn.absolute {
		return []session.Option{izaber.Absolute()}
	}
	return nil
}

// requestErr reports a failed request and returns its exit code: 1 for a
// WAMP ERROR or timeout, 130 when interrupted, 3 when the connection is
// gone.
func (e *env) requestErr(ctx context.Context, err error) int {
	var werr *session.Error
	switch {
	case ctx.Err() != nil:
		return e.errorf(exitInterrupt, "interrupted")
	case errors.As(err, &werr):
		fmt.Fprintf(e.stderr, "%s: error %s\n", e.name, werr.Error())
		// The message is in the line above; anything more goes as JSON.
		plain := len(werr.Kwargs) == 0 && (len(werr.Args) == 0 || len(werr.Args) == 1 && isString(werr.Args[0]))
		if !plain {
			d := map[string]any{"error": werr.URI, "args": nonNilList(werr.Args), "kwargs": nonNilDict(werr.Kwargs)}
			writeJSON(e.stderr, d, false)
		}
		return exitWAMPError
	case errors.Is(err, context.DeadlineExceeded):
		return e.errorf(exitWAMPError, "error wamp.error.timeout: %v", err)
	case errors.Is(err, session.ErrConnectionLost), errors.Is(err, session.ErrSessionClosed):
		return e.errorf(exitConnect, "%v", err)
	}
	return e.errorf(exitWAMPError, "%v", err)
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// uri is the URI a request for u sends.
func (e *env) uri(c *izaber.Client, u string) string {
	if e.conn.absolute {
		return u
	}
	return c.URI(u)
}

// usageFooter ends the top-level help.
const usageFooter = `
The client commands read izaber.yaml (., ~, then the user data directory;
--config FILE; the environment from --env or $IZABER_ENVIRONMENT), then
$IZABER_URL, $IZABER_REALM, $IZABER_USER, $IZABER_PASSWORD,
$IZABER_SERIALIZER and $IZABER_URI_BASE, then flags. Without a password
they ask for one on a terminal.

Exit status: 0 ok, 1 WAMP error, 2 usage or configuration error,
3 connection or authentication failure, 130 interrupted.

First minute:
  izaber-wamp router --demo            # prints demo users and passwords
  export IZABER_URL=ws://127.0.0.1:8282/ws IZABER_USER=backend-1
  export IZABER_PASSWORD=<backend-1's password>
  izaber-wamp whoami
`

// hold keeps a long-lived command's session until ctx ends (Ctrl-C,
// --count), d has passed (d > 0), or the client gives up reconnecting. It
// reports connection losses and reconnections on stderr.
func (e *env) hold(ctx context.Context, c *izaber.Client, d time.Duration) int {
	gaveUp := make(chan error, 1)
	remove := c.OnState(func(ev client.StateEvent) {
		switch ev.State {
		case client.StateDisconnected:
			e.errorf(0, "connection lost (%v); reconnecting", ev.Err)
		case client.StateConnected:
			e.errorf(0, "reconnected")
		case client.StateGaveUp, client.StateClosed:
			select {
			case gaveUp <- ev.Err:
			default:
			}
		}
	})
	defer remove()
	if s := c.State(); s == client.StateGaveUp || s == client.StateClosed {
		return e.errorf(exitConnect, "connection lost")
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	case err := <-gaveUp:
		if err != nil {
			return e.errorf(exitConnect, "connection lost for good: %v", err)
		}
		return e.errorf(exitConnect, "connection lost for good")
	}
	return exitOK
}
