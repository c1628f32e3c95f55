package main

// Shared pieces of the client commands: connection flags and settings,
// argument parsing, JSON output and exit codes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
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
	authMethods    string
	craSecret      string
	cryptosignKey  string
	verbose        bool
	trace          bool
	pretty         bool
	compact        bool

	fs *pflag.FlagSet // where they are registered, for Changed
}

// connFlag is one connection flag: how it is declared and completed, and
// how it changes the configuration (recorded in Config.From under key).
type connFlag struct {
	name     string
	usage    string
	value    func(c *connFlags) any // *string, *bool or *time.Duration
	complete cobra.CompletionFunc   // nil: files
	key      string                 // "" for --config and --env, which choose what Load reads
	apply    func(c *connFlags, cfg *izaber.Config) error
}

// noFiles completes a flag whose value is not a file: with nothing.
var noFiles cobra.CompletionFunc = cobra.NoFileCompletions

// connectionFlags are the connection flags, in the order they override
// one another in help and in load.
var connectionFlags = []connFlag{
	{name: "config", value: func(c *connFlags) any { return &c.configFile },
		usage:    "read the configuration from `FILE` (default: izaber.yaml in ., ~, then the user data dir; else $IZABER_YAML)",
		complete: cobra.FixedCompletions([]cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt)},
	{name: "env", value: func(c *connFlags) any { return &c.env }, complete: completeEnvironments,
		usage: "izaber.yaml environment `NAME` merged over default (default $IZABER_ENVIRONMENT, else default)"},
	{name: "url", key: "url", value: func(c *connFlags) any { return &c.url }, complete: noFiles,
		usage: "router `URL`: ws://, wss://, tcp://, tcps://, tcpip://, unix:// (env " + izaber.EnvURL + ")",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.URL = c.url; return nil }},
	{name: "realm", key: "realm", value: func(c *connFlags) any { return &c.realm }, complete: noFiles,
		usage: "`REALM` to join (env " + izaber.EnvRealm + "; default izaber)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.Realm = c.realm; return nil }},
	{name: "user", key: "username", value: func(c *connFlags) any { return &c.user }, complete: noFiles,
		usage: "`NAME` to log in as (env " + izaber.EnvUser + ")",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.Username, cfg.AuthID = c.user, ""; return nil }},
	{name: "password", key: "password", value: func(c *connFlags) any { return &c.password }, complete: noFiles,
		usage: "`SECRET` to log in with (INSECURE: lands in shell history; prefer env " + izaber.EnvPassword + ", izaber.yaml or the prompt)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.Password = c.password; return nil }},
	{name: "serializer", key: "serializers", value: func(c *connFlags) any { return &c.serializer },
		usage:    "serializers offered, a `LIST` of cbor, msgpack, json (env " + izaber.EnvSerializer + ")",
		complete: cobra.FixedCompletions([]cobra.Completion{"cbor", "msgpack", "json"}, cobra.ShellCompDirectiveNoFileComp),
		apply: func(c *connFlags, cfg *izaber.Config) (err error) {
			cfg.Serializers, err = izaber.ParseSerializers(c.serializer)
			return err
		}},
	{name: "uri-base", key: "uri_base", value: func(c *connFlags) any { return &c.uriBase }, complete: noFiles,
		usage: "`PREFIX` of relative URIs (env " + izaber.EnvURIBase + `; default com.izaber.wamp; "-" for none)`,
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.SetURIBase(c.uriBase); return nil }},
	{name: "authmethods", key: "authmethods", value: func(c *connFlags) any { return &c.authMethods },
		usage: "login methods offered, a `LIST` of ticket, wampcra, cryptosign, anonymous (env " + izaber.EnvAuthMethods + "; default ticket)",
		complete: cobra.FixedCompletions([]cobra.Completion{
			cobra.CompletionWithDesc(auth.MethodTicket, "the password"),
			cobra.CompletionWithDesc(auth.MethodWAMPCRA, "WAMP-CRA with --wampcra-secret, else the password"),
			cobra.CompletionWithDesc(auth.MethodCryptosign, "Ed25519 with --cryptosign-key-file"),
			cobra.CompletionWithDesc(auth.MethodAnonymous, "no credentials"),
		}, cobra.ShellCompDirectiveNoFileComp),
		apply: func(c *connFlags, cfg *izaber.Config) (err error) {
			cfg.AuthMethods, err = izaber.ParseAuthMethods(c.authMethods)
			return err
		}},
	{name: "wampcra-secret", key: "wampcra_secret", value: func(c *connFlags) any { return &c.craSecret }, complete: noFiles,
		usage: "WAMP-CRA `SECRET` (INSECURE like --password; prefer env " + izaber.EnvWAMPCRASecret + " or izaber.yaml wampcra_secret; default: the password)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.CRASecret = c.craSecret; return nil }},
	{name: "cryptosign-key-file", key: "cryptosign_key_file", value: func(c *connFlags) any { return &c.cryptosignKey },
		usage: "Ed25519 key for cryptosign in `FILE`: hex of the seed, or PKCS #8 PEM (env " + izaber.EnvCryptosignKeyFile + ")",
		apply: func(c *connFlags, cfg *izaber.Config) (err error) {
			cfg.CryptosignKey, err = izaber.ReadCryptosignKey(c.cryptosignKey)
			return err
		}},
	{name: "anonymous", key: "authmethods", value: func(c *connFlags) any { return &c.anonymous },
		usage: "log in anonymously (--authmethods anonymous)",
		apply: func(c *connFlags, cfg *izaber.Config) error {
			if c.set("authmethods") {
				return errors.New("and --authmethods both choose the login method: give one")
			}
			cfg.AuthMethods = []string{auth.MethodAnonymous}
			return nil
		}},
	{name: "timeout", key: "timeout", value: func(c *connFlags) any { return &c.timeout }, complete: noFiles,
		usage: "time limit of each request, a `DURATION` such as 10s (default from izaber.yaml, else 300s)",
		apply: func(c *connFlags, cfg *izaber.Config) error {
			cfg.Timeout = c.timeout
			if c.timeout == 0 {
				cfg.Timeout = -1 // no limit
			}
			return nil
		}},
	{name: "connect-timeout", key: "connect_timeout", value: func(c *connFlags) any { return &c.connectTimeout }, complete: noFiles,
		usage: "time limit of the connection attempt, a `DURATION` (default from izaber.yaml, else 10s)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.ConnectTimeout = c.connectTimeout; return nil }},
	{name: "tls-ca", key: "tls.ca_file", value: func(c *connFlags) any { return &c.tlsCA },
		usage: "trust the CA certificates in PEM `FILE`",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.TLSCAFile = c.tlsCA; return nil }},
	{name: "tls-cert", key: "tls.cert_file", value: func(c *connFlags) any { return &c.tlsCert },
		usage: "client certificate PEM `FILE`",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.TLSCertFile = c.tlsCert; return nil }},
	{name: "tls-key", key: "tls.key_file", value: func(c *connFlags) any { return &c.tlsKey },
		usage: "client key PEM `FILE`",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.TLSKeyFile = c.tlsKey; return nil }},
	{name: "tls-server-name", key: "tls.server_name", value: func(c *connFlags) any { return &c.tlsServerName }, complete: noFiles,
		usage: "verify the certificate for `HOST` (default: the URL's host)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.TLSServerName = c.tlsServerName; return nil }},
	{name: "tls-insecure", key: "tls.insecure", value: func(c *connFlags) any { return &c.tlsInsecure },
		usage: "do not verify the server certificate (testing only)",
		apply: func(c *connFlags, cfg *izaber.Config) error { cfg.TLSInsecure = c.tlsInsecure; return nil }},
}

// register adds the shared flags, except the connection flags named in
// skip, to cmd.
func (c *connFlags) register(cmd *cobra.Command, skip ...string) {
	fs := cmd.Flags()
	c.fs = fs
	for _, f := range connectionFlags {
		if slices.Contains(skip, f.name) {
			continue
		}
		switch p := f.value(c).(type) {
		case *string:
			fs.StringVar(p, f.name, "", f.usage)
		case *bool:
			fs.BoolVar(p, f.name, false, f.usage)
		case *time.Duration:
			fs.DurationVar(p, f.name, 0, f.usage)
		}
		fs.SetAnnotation(f.name, annotationGroup, []string{groupConnection})
		if f.complete != nil {
			cmd.RegisterFlagCompletionFunc(f.name, f.complete)
		}
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

// settings is the effective configuration and where it came from.
type settings struct {
	cfg         izaber.Config // cfg.From says where each setting came from
	source      string        // izaber.yaml's path, "$IZABER_YAML", or "" when there was none
	environment string
	values      map[string]any // merged izaber.yaml environment (password redacted by Load)
}

// load reads izaber.yaml and the IZABER_* variables (izaber.Load), then
// applies the flags, recording each in cfg.From. It does not prompt.
func (c *connFlags) load() (*settings, error) {
	st := &settings{}
	s, err := izaber.Load(izaber.Source{File: c.configFile, Environment: c.env})
	switch {
	case err == nil:
		st.cfg = s.Config
		st.source = s.Origin
		st.environment = s.Environment
		st.values = s.Values
	case errors.Is(err, izaber.ErrNoConfig) && c.configFile == "":
		// Nothing configured: the defaults and the flags.
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
	cfg := &st.cfg
	cfg.From = maps.Clone(cfg.From)
	if cfg.From == nil {
		cfg.From = map[string]string{}
	}
	for _, f := range connectionFlags {
		if f.apply == nil || !c.set(f.name) {
			continue
		}
		if err := f.apply(c, cfg); err != nil {
			return nil, usagef("--%s %v", f.name, err)
		}
		cfg.From[f.key] = "--" + f.name
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultCLIConnectTimeout
	}
	return st, nil
}

// overrides lists the environment variables and flags that set the
// configuration, for "config".
func (st *settings) overrides() []string {
	var out []string
	var keys []string
	for _, f := range connectionFlags {
		if f.key != "" && !slices.Contains(keys, f.key) {
			keys = append(keys, f.key)
		}
	}
	for _, key := range keys {
		if from := st.cfg.From[key]; strings.HasPrefix(from, "$") || strings.HasPrefix(from, "--") {
			out = append(out, from)
		}
	}
	return out
}

// passwordFrom says where the password comes from: "default" when none
// is configured, else a file and key, a variable or a flag.
func (st *settings) passwordFrom() string {
	if st.cfg.Password == "" {
		return "default"
	}
	if from := st.cfg.From["password"]; from != "" {
		return from
	}
	return "the configuration"
}

// needsPassword reports whether the configuration logs in with the
// password: ticket (the default), or WAMP-CRA without a secret of its own.
func needsPassword(cfg izaber.Config) bool {
	if len(cfg.AuthMethods) == 0 {
		return true
	}
	for _, m := range cfg.AuthMethods {
		if strings.EqualFold(m, auth.MethodTicket) || strings.EqualFold(m, auth.MethodWAMPCRA) && cfg.CRASecret == "" {
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
	// timeout is the connected client's request time limit, for errors.
	timeout time.Duration
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
		for flag, env := range map[string]string{"password": izaber.EnvPassword, "wampcra-secret": izaber.EnvWAMPCRASecret} {
			if e.conn.set(flag) {
				fmt.Fprintf(e.stderr, "%s: warning: --%s is visible in the process list and lands in shell history; prefer $%s or izaber.yaml\n", e.name, flag, env)
			}
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

// logger returns the client's logger: with -v every diagnostic, as text;
// without, warnings only (the configuration's, the defaults used, each
// retry), one line each as the command's own messages.
func (e *env) logger() *slog.Logger {
	if e.conn.verbose {
		return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(&lineHandler{name: &e.name, w: e.stderr, mu: new(sync.Mutex)})
}

// connect loads the settings, asks for the password on a terminal when
// none is configured, and connects. longLived keeps automatic
// reconnection as configured; one-shot commands do not reconnect. On
// failure it has printed the error and returns the exit code.
func (e *env) connect(ctx context.Context, longLived bool) (*izaber.Client, int) {
	st, err := e.conn.load()
	if err != nil {
		return nil, e.fail(err)
	}
	cfg := st.cfg
	if st.passwordFrom() == "default" && needsPassword(cfg) && cfg.Username != "" && cfg.Username != izaber.DefaultUsername && terminal(os.Stdin) {
		fmt.Fprintf(e.stderr, "Password for %s: ", cfg.Username)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, e.errorf(exitUsage, "reading password: %v", err)
		}
		cfg.Password = string(b)
		cfg.From["password"] = "the prompt"
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
	c, err := izaber.New(cfg) // logs the configuration's warnings and the defaults it uses
	if err != nil {
		return nil, e.fail(err)
	}
	if err := c.Connect(ctx); err != nil {
		c.Close(context.Background())
		if ctx.Err() != nil {
			return nil, e.errorf(exitInterrupt, "interrupted")
		}
		return nil, e.fail(err)
	}
	e.timeout = c.Config().Timeout
	if e.conn.verbose {
		info, _ := c.Info()
		cfg.Logger.Info("izaber-wamp: joined", "url", cfg.URL, "realm", info.Realm, "session", info.Session, "authid", info.AuthID, "authrole", info.AuthRole)
	}
	return c, exitOK
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
	if l := e.logger(); e.conn.verbose && connected {
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
	case errors.As(err, &werr) && werr.URI == protocol.URITimeout && len(werr.Args) == 0, errors.Is(err, context.DeadlineExceeded):
		limit := "the time limit"
		if e.timeout > 0 {
			limit = e.timeout.String()
		}
		return e.errorf(exitWAMPError, "no answer within %s (wamp.error.timeout); allow more with --timeout, or wamp.connection.timeout in izaber.yaml", limit)
	case errors.As(err, &werr):
		fmt.Fprintf(e.stderr, "%s: error %s\n", e.name, werr.Error())
		// The message is in the line above; anything more goes as JSON.
		plain := len(werr.Kwargs) == 0 && (len(werr.Args) == 0 || len(werr.Args) == 1 && isString(werr.Args[0]))
		if !plain {
			d := map[string]any{"error": werr.URI, "args": nonNilList(werr.Args), "kwargs": nonNilDict(werr.Kwargs)}
			writeJSON(e.stderr, d, false)
		}
		return exitWAMPError
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
