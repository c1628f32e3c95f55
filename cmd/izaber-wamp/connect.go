package main

// Shared pieces of the client commands: connection flags and settings,
// argument parsing, JSON output and exit codes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// connFlags are the flags shared by every client command: how to connect
// (the "connection" group in help) and how to print.
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
	trace          bool
	pretty         bool
	compact        bool

	fs *pflag.FlagSet // where they are registered, for Changed
}

// register adds the shared flags, except those named in skip, to cmd.
func (c *connFlags) register(cmd *cobra.Command, skip ...string) {
	fs := cmd.Flags()
	c.fs = fs
	var group []string // the connection flags, annotated for help at the end
	conn := func(name string) bool {
		if slices.Contains(skip, name) {
			return false
		}
		group = append(group, name)
		return true
	}
	defer func() {
		for _, name := range group {
			fs.SetAnnotation(name, annotationGroup, []string{groupConnection})
		}
	}()
	if conn("config") {
		fs.StringVar(&c.configFile, "config", "", "read the configuration from `FILE` (default: izaber.yaml in ., ~, then the user data dir; else $IZABER_YAML)")
		cmd.RegisterFlagCompletionFunc("config", cobra.FixedCompletions([]cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt))
	}
	if conn("env") {
		fs.StringVar(&c.env, "env", "", "izaber.yaml environment `NAME` merged over default (default $IZABER_ENVIRONMENT, else default)")
		cmd.RegisterFlagCompletionFunc("env", completeEnvironments)
	}
	if conn("url") {
		fs.StringVar(&c.url, "url", "", "router `URL`: ws://, wss://, tcp://, tcps://, tcpip://, unix:// (env "+envURL+")")
		cmd.RegisterFlagCompletionFunc("url", cobra.NoFileCompletions)
	}
	if conn("realm") {
		fs.StringVar(&c.realm, "realm", "", "`REALM` to join (env "+envRealm+"; default izaber)")
		cmd.RegisterFlagCompletionFunc("realm", cobra.NoFileCompletions)
	}
	if conn("user") {
		fs.StringVar(&c.user, "user", "", "`NAME` to log in as (env "+envUser+")")
		cmd.RegisterFlagCompletionFunc("user", cobra.NoFileCompletions)
	}
	if conn("password") {
		fs.StringVar(&c.password, "password", "", "`SECRET` to log in with (INSECURE: lands in shell history; prefer env "+envPassword+", izaber.yaml or the prompt)")
		cmd.RegisterFlagCompletionFunc("password", cobra.NoFileCompletions)
	}
	if conn("serializer") {
		fs.StringVar(&c.serializer, "serializer", "", "serializers offered, a `LIST` of cbor, msgpack, json (env "+envSerializer+")")
		cmd.RegisterFlagCompletionFunc("serializer", cobra.FixedCompletions([]cobra.Completion{"cbor", "msgpack", "json"}, cobra.ShellCompDirectiveNoFileComp))
	}
	if conn("uri-base") {
		fs.StringVar(&c.uriBase, "uri-base", "", "`PREFIX` of relative URIs (env "+envURIBase+`; default com.izaber.wamp; "-" for none)`)
		cmd.RegisterFlagCompletionFunc("uri-base", cobra.NoFileCompletions)
	}
	if conn("anonymous") {
		fs.BoolVar(&c.anonymous, "anonymous", false, "authenticate anonymously instead of with a ticket")
	}
	if conn("timeout") {
		fs.DurationVar(&c.timeout, "timeout", 0, "time limit of each request, a `DURATION` such as 10s (default from izaber.yaml, else 300s)")
		cmd.RegisterFlagCompletionFunc("timeout", cobra.NoFileCompletions)
	}
	if conn("connect-timeout") {
		fs.DurationVar(&c.connectTimeout, "connect-timeout", 0, "time limit of the connection attempt, a `DURATION` (default from izaber.yaml, else 10s)")
		cmd.RegisterFlagCompletionFunc("connect-timeout", cobra.NoFileCompletions)
	}
	if conn("tls-ca") {
		fs.StringVar(&c.tlsCA, "tls-ca", "", "trust the CA certificates in PEM `FILE`")
	}
	if conn("tls-cert") {
		fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate PEM `FILE`")
	}
	if conn("tls-key") {
		fs.StringVar(&c.tlsKey, "tls-key", "", "client key PEM `FILE`")
	}
	if conn("tls-server-name") {
		fs.StringVar(&c.tlsServerName, "tls-server-name", "", "verify the certificate for `HOST` (default: the URL's host)")
		cmd.RegisterFlagCompletionFunc("tls-server-name", cobra.NoFileCompletions)
	}
	if conn("tls-insecure") {
		fs.BoolVar(&c.tlsInsecure, "tls-insecure", false, "do not verify the server certificate (testing only)")
	}
	fs.BoolVar(&c.absolute, "absolute", false, "send URIs exactly as given, without the uri_base prefix")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "log connection diagnostics to stderr")
	fs.BoolVar(&c.trace, "trace", false, "print each WAMP message sent (-->) and received (<--) on stderr, secrets redacted")
	fs.BoolVar(&c.pretty, "pretty", false, "indent JSON output (default: when stdout is a terminal)")
	fs.BoolVar(&c.compact, "compact", false, "one-line JSON output (default: when stdout is not a terminal)")
}

// set reports whether the flag name was given on the command line.
func (c *connFlags) set(name string) bool {
	return c.fs != nil && c.fs.Changed(name)
}

// completeEnvironments completes --env with the environments of the
// izaber.yaml the command would read.
func completeEnvironments(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	file, _ := cmd.Flags().GetString("config")
	s, err := izaber.Load(izaber.Source{File: file})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	text := os.Getenv(izaber.EnvYAML)
	if s.Origin != "$"+izaber.EnvYAML {
		b, err := os.ReadFile(s.Origin)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		text = string(b)
	}
	var envs map[string]any
	if yaml.Unmarshal([]byte(text), &envs) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]cobra.Completion, 0, len(envs))
	for name := range envs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, cobra.ShellCompDirectiveNoFileComp
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
	if c.set("password") {
		st.cfg.Password = c.password
		st.passwordSource = "--password"
		st.overrides = append(st.overrides, "--password")
	}
	if c.anonymous {
		st.cfg.AuthMethods = []string{"anonymous"}
		st.overrides = append(st.overrides, "--anonymous")
	}
	if c.set("timeout") {
		st.cfg.Timeout = c.timeout
		if c.timeout == 0 {
			st.cfg.Timeout = -1
		}
		st.overrides = append(st.overrides, "--timeout")
	}
	if c.set("connect-timeout") {
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

// env is what a client command runs with: its streams, flags and
// settings. It is built with the command and used by one run of it.
type env struct {
	name   string // "izaber-wamp call", set when the command runs
	cmd    *cobra.Command
	stdout io.Writer
	stderr io.Writer
	conn   connFlags

	// configure, if set, adjusts the configuration before connecting.
	configure func(*izaber.Config)
}

// client adds the shared flags (except skip) to cmd and returns the env
// its run function uses.
func (a *app) client(cmd *cobra.Command, skip ...string) *env {
	e := &env{cmd: cmd, stdout: a.stdout, stderr: a.stderr}
	e.conn.register(cmd, skip...)
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationFooter] = exitStatusHelp
	return e
}

// exitStatusHelp ends the help of every client command.
const exitStatusHelp = "Exit status: 0 ok, 1 WAMP error, 2 usage or configuration error,\n3 connection or authentication failure, 130 interrupted."

// runE adapts a run function to cobra: positional arguments unmarked
// (see markNegativeNumbers), the exit code as an error.
func (e *env) runE(run func(ctx context.Context, args []string) int) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		e.name = cmd.CommandPath()
		if e.conn.set("password") {
			fmt.Fprintf(e.stderr, "%s: warning: --password is visible in the process list and lands in shell history; prefer $%s or the prompt\n", e.name, envPassword)
		}
		return status(run(cmd.Context(), unmark(args)))
	}
}

// errorf prints a message prefixed with the command name and returns code.
func (e *env) errorf(code int, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n", e.name, fmt.Sprintf(format, a...))
	return code
}

// usageErr reports a bad command line found by the command itself.
func (e *env) usageErr(format string, a ...any) int {
	printUsageError(e.stderr, e.cmd, fmt.Errorf(format, a...))
	return exitUsage
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
	st, err := e.settings(true)
	if err != nil {
		return nil, e.errorf(exitUsage, "%v", err)
	}
	cfg := st.cfg
	if st.passwordSource == "default" && ticketAuth(cfg) {
		switch {
		case cfg.Username != "" && cfg.Username != izaber.DefaultUsername && terminal(os.Stdin):
			fmt.Fprintf(e.stderr, "Password for %s: ", cfg.Username)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return nil, e.errorf(exitUsage, "reading password: %v", err)
			}
			cfg.Password = string(b)
			st.passwordSource = "the prompt"
		case cfg.Username == "":
			e.errorf(0, "no user configured (izaber.yaml username, $%s or --user): logging in as %s with the default password", envUser, izaber.DefaultUsername)
		default:
			e.errorf(0, "no password configured for %s (izaber.yaml password, $%s or --password) and no terminal to ask: sending the default password", cfg.Username, envPassword)
		}
	}
	if !longLived {
		cfg.DisableReconnect = true
	}
	cfg.Logger = e.logger()
	if e.conn.trace {
		cfg.Trace = e.tracer()
	}
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
		return nil, e.connectFailure(st, cfg, c.Config().URL, err)
	}
	if cfg.Logger != nil {
		info, _ := c.Info()
		cfg.Logger.Info("izaber-wamp: joined", "url", cfg.URL, "realm", info.Realm, "session", info.Session, "authid", info.AuthID, "authrole", info.AuthRole)
	}
	return c, exitOK
}

// settings loads the configuration and says on stderr what the user
// should know about it: izaber.yaml's warnings and, with announceURL,
// whether the built-in production URL is used.
func (e *env) settings(announceURL bool) (*settings, error) {
	st, err := e.conn.load()
	if err != nil {
		return nil, err
	}
	for _, w := range st.warnings {
		e.errorf(0, "warning: %s", w)
	}
	if announceURL && st.cfg.URL == "" {
		e.errorf(0, "no URL configured (izaber.yaml url, $%s or --url): using the default %s", envURL, izaber.DefaultURL)
	}
	return st, nil
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

// errFinished is the cause with which a long-lived command ends its own
// context when its work is done (subscribe --count): exit 0, where any
// other end of the context (Ctrl-C, SIGTERM) is exit 130.
var errFinished = errors.New("finished")

// hold keeps a long-lived command's session until ctx ends (Ctrl-C: exit
// 130; canceled with errFinished: exit 0), d has passed (d > 0: exit 0),
// or the client gives up reconnecting (exit 3). It reports connection
// losses and reconnections on stderr.
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
		if errors.Is(context.Cause(ctx), errFinished) {
			return exitOK
		}
		return exitInterrupt
	case <-timeout:
	case err := <-gaveUp:
		if err != nil {
			return e.errorf(exitConnect, "connection lost for good: %v", err)
		}
		return e.errorf(exitConnect, "connection lost for good")
	}
	return exitOK
}
