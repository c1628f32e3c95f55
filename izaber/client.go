package izaber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Client is a connection to Nexus (or any WAMP router) with the Zaber
// conventions: uri_base prefixing, ticket authentication, automatic
// reconnection that restores registrations, subscriptions and roster
// entries, hooks, and the Nexus helpers. Its methods are safe for
// concurrent use.
//
// URI rule: Call, Register, Subscribe and Publish send uri_base + "." + uri,
// except when uri already starts with uri_base + "." or with "wamp." (or
// uri_base is empty, or the Absolute option is given), in which case uri
// is sent unchanged. Python prefixes unconditionally.
type Client struct {
	base string
	log  *slog.Logger
	sup  *client.Client

	// mu guards cfg (credentials change with ChangeUser), settings, the
	// hook lists and rosters.
	mu          sync.Mutex
	cfg         Config // with defaults
	settings    *Settings
	joinHooks   []*hook[func(ctx context.Context, info session.Info)]
	leaveHooks  []*hook[func(info session.Info)]
	discHooks   []*hook[func(err error)]
	restoreHook []*hook[func(err error)]
	revokeHooks []*hook[func(r client.Revocation)]
	stateHooks  []*hook[func(e client.StateEvent)]
	rosters     map[string]rosterEntry // registered through this client; restored on rejoin
	rosterOrder []string

	warnings []string // set by New, then read-only
	queues   *queues
	life     context.Context // ends at Close: queued events stop waiting
	end      context.CancelFunc
}

type hook[F any] struct{ f F }

type rosterEntry struct {
	data       any
	visibility any
}

// New returns an unconnected Client for cfg (copied; zero fields take the
// defaults of Config). Hooks, registrations and subscriptions may be added
// before Connect.
func New(cfg Config) (*Client, error) {
	d := cfg.withDefaults()
	log := d.Logger
	if log == nil {
		log = slog.New(warningsOnly{slog.Default().Handler()})
		d.Logger = log
	}
	c := &Client{base: d.uriBase(), log: log, cfg: d, rosters: map[string]rosterEntry{}, queues: &queues{cfg: d}}
	c.life, c.end = context.WithCancel(context.Background())
	c.warnings = append(append([]string(nil), cfg.Warnings...), cfg.notices()...)
	for _, w := range c.warnings {
		log.Warn("izaber: " + w)
	}
	dial, err := dialOptions(&d)
	if err != nil {
		return nil, err
	}
	sc, err := c.sessionConfig(d.Username, d.Password)
	if err != nil {
		return nil, err
	}
	c.sup = client.New(client.Config{
		URL:              d.URL,
		DialOptions:      dial,
		Session:          sc,
		Backoff:          client.Backoff{Initial: d.BackoffInitial, Max: d.BackoffMax, MaxRetries: d.MaxRetries},
		DisableReconnect: d.DisableReconnect,
		ConnectTimeout:   d.ConnectTimeout,
		Logger:           log,
		OnJoin:           c.onJoin,
		OnLeave:          c.onLeave,
		OnDisconnect:     c.onDisconnect,
		OnRestoreError:   func(err *client.RestoreError) { c.reportRestore(err) },
		OnRevoked:        c.onRevoked,
		OnState:          c.onState,
		Trace:            d.Trace,
	})
	return c, nil
}

// warningsOnly passes on the records of level Warn and above: the default
// logger of a Client shows what needs attention, as Python's logging does
// by default, and nothing else.
type warningsOnly struct{ slog.Handler }

func (h warningsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warningsOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return warningsOnly{h.Handler.WithAttrs(as)}
}

func (h warningsOnly) WithGroup(name string) slog.Handler {
	return warningsOnly{h.Handler.WithGroup(name)}
}

func dialOptions(d *Config) (transport.DialOptions, error) {
	o := transport.DialOptions{
		MaxMessageSize:     d.MaxPayloadSize,
		PingInterval:       d.PingInterval,
		PongTimeout:        d.HeartbeatTimeout,
		CAFile:             d.TLSCAFile,
		CertFile:           d.TLSCertFile,
		KeyFile:            d.TLSKeyFile,
		ServerName:         d.TLSServerName,
		InsecureSkipVerify: d.TLSInsecure,
		Logger:             d.Logger,
	}
	for _, name := range d.Serializers {
		s, err := protocol.SerializerByName(strings.ToLower(name))
		if err != nil {
			return o, fmt.Errorf("izaber: serializer %q: %w", name, err)
		}
		o.Serializers = append(o.Serializers, s)
	}
	return o, nil
}

// sessionConfig builds the session configuration for the given
// credentials.
func (c *Client) sessionConfig(username, password string) (session.Config, error) {
	d := c.cfg
	authid := d.AuthID
	if username != d.Username || authid == "" {
		authid = username
	}
	sc := session.Config{
		Realm:                 d.Realm,
		AuthID:                authid,
		Agent:                 d.Agent,
		Logger:                d.Logger,
		InvocationConcurrency: d.sessionWorkers(),
		EventQueueSize:        d.EventQueueSize,
		ErrorURI:              c.errorURI(),
	}
	methods, err := authMethods(&d, password)
	if err != nil {
		return sc, err
	}
	sc.Auth = methods
	return sc, nil
}

// errorURI is the ERROR URI for handler failures, as in Python:
// <uri_base>.error.invoke.failure.
func (c *Client) errorURI() string {
	if c.base == "" {
		return "error.invoke.failure"
	}
	return c.base + ".error.invoke.failure"
}

// URI returns the URI that Call, Register, Subscribe and Publish send for
// uri (see the rule on Client).
func (c *Client) URI(uri string) string {
	if c.base == "" || strings.HasPrefix(uri, c.base+".") || strings.HasPrefix(uri, "wamp.") {
		return uri
	}
	return c.base + "." + uri
}

func (c *Client) fullURI(uri string, opts []session.Option) string {
	if isAbsolute(opts) {
		return uri
	}
	return c.URI(uri)
}

// Config returns the client's configuration, with defaults filled in.
func (c *Client) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// Warnings returns what New logged about the configuration: the problems
// Load found in it (Config.Warnings) and the use of built-in defaults that
// are probably not what the program wants (the production Nexus URL,
// Python's default password).
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// Settings returns the izaber.yaml settings the client was built from by
// Initialize, or nil.
func (c *Client) Settings() *Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// String describes the client without credentials.
func (c *Client) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("izaber.Client{%s state=%s}", c.cfg, c.sup.State())
}

// Connect makes the first connection (Python's wamp.run()), bounded by
// ConnectTimeout and ctx; afterwards the client reconnects by itself until
// Close. Connect on a connected client does nothing.
//
// A failure is one sentence that says what happened, where and what to
// try: a *LoginError when the router refused the credentials, a
// *ConnectError otherwise (matching ErrConfig when the URL, the router's
// answer or its certificate is wrong, which Connect does not retry).
// While the router is unreachable, each retry is logged at Warn level.
func (c *Client) Connect(ctx context.Context) error {
	return c.explain(c.Config(), c.sup.Connect(ctx))
}

// explain turns a failed connection attempt with cfg into one sentence.
func (c *Client) explain(cfg Config, err error) error {
	if err != nil && errors.Is(err, context.Canceled) && !errors.Is(err, client.ErrClosed) {
		return fmt.Errorf("izaber: connecting to %s: %w", cfg.URL, err)
	}
	return explain(cfg, c.warnings, err)
}

// Connected reports whether a session is joined.
func (c *Client) Connected() bool { return c.sup.Session() != nil }

// Info describes the current session (identity, role, session id); ok is
// false while disconnected.
func (c *Client) Info() (info session.Info, ok bool) {
	s := c.sup.Session()
	if s == nil {
		return session.Info{}, false
	}
	return s.Info(), true
}

// State returns the lifecycle state of the connection.
func (c *Client) State() client.State { return c.sup.State() }

// Stats returns the client's counters: messages and bytes in and out,
// calls, errors, reconnections, dropped events (see client.Stats).
func (c *Client) Stats() Stats {
	return Stats{Stats: c.sup.Stats(), Queues: c.queues.stats()}
}

// Stats are a Client's counters: those of the connection (messages and
// bytes in and out, calls, errors, reconnections, dropped events; see
// client.Stats) and of each concurrency queue in use, by name.
type Stats struct {
	client.Stats
	Queues map[string]QueueStats
}

// Supervisor returns the underlying reconnecting client.
func (c *Client) Supervisor() *client.Client { return c.sup }

// Close leaves the session with GOODBYE, stops reconnecting and waits for
// the client's goroutines (bounded by ctx). It always returns.
func (c *Client) Close(ctx context.Context) error {
	c.end()
	return c.sup.Close(ctx)
}

// Call calls a procedure and returns its full result (args, kwargs,
// details; see session.Result's Arg, Decode and DecodeKwargs). An ERROR
// reply is a *session.Error carrying the URI, args, kwargs and details;
// timeouts, lost connections and cancellations have their own errors (see
// package session). The configured Timeout applies unless session.Timeout
// is given; like Python, the caller asks the router to disclose its
// identity to the callee.
func (c *Client) Call(ctx context.Context, uri string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) (*session.Result, error) {
	return c.sup.Call(ctx, c.fullURI(uri, opts), args, kwargs, c.withDefaults(opts, session.DiscloseMe())...)
}

// CallAs calls a procedure and decodes the first positional result into
// a T (see session.Result.Decode).
func CallAs[T any](ctx context.Context, c *Client, uri string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) (T, error) {
	var v T
	res, err := c.Call(ctx, uri, args, kwargs, opts...)
	if err != nil {
		return v, err
	}
	if err := res.Decode(&v); err != nil {
		return v, fmt.Errorf("izaber: result of %s: %w", c.fullURI(uri, opts), err)
	}
	return v, nil
}

// Yield is a convenience for handlers: the result with the single
// positional value v, as Python's return value becomes YIELD [v].
func Yield(v any) *session.Result { return &session.Result{Args: protocol.List{v}} }

// Register registers a procedure; it stays registered, with its original
// options, across reconnections until Unregister. It may be called before
// Connect. A handler's error becomes ERROR <uri_base>.error.invoke.failure
// with ["Call failed: <message>"]; a *session.Error keeps its own URI.
// Options pass through to the router (session.ForceReregister,
// session.Match, session.Invoke, session.WithOption for any other key);
// Queue(name) runs the handler in a named concurrency queue (see Queue).
func (c *Client) Register(ctx context.Context, uri string, h session.Handler, opts ...session.Option) (*client.Registration, error) {
	if h == nil {
		return nil, errors.New("izaber: register: nil handler")
	}
	q, err := c.queues.get(queueName(opts), c.warn)
	if err != nil {
		return nil, err
	}
	return c.sup.Register(ctx, c.fullURI(uri, opts), c.wrapHandler(queuedHandler(q, h)), c.withDefaults(opts)...)
}

func (c *Client) wrapHandler(h session.Handler) session.Handler {
	errURI := c.errorURI()
	return func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		res, err := h(ctx, inv)
		if err == nil {
			return res, nil
		}
		var werr *session.Error
		if errors.As(err, &werr) {
			return nil, werr
		}
		return nil, session.NewError(errURI, protocol.List{"Call failed: " + err.Error()}, nil)
	}
}

// Unregister removes a registration made with Register.
func (c *Client) Unregister(ctx context.Context, r *client.Registration) error {
	return c.sup.Unregister(ctx, r)
}

// Subscribe subscribes to a topic; events of one subscription are
// delivered in order, one at a time, in the subscription's concurrency
// queue (Queue(name); "default" otherwise). The subscription is restored,
// with its original options, after every reconnection until Unsubscribe.
// Events that arrive while EventQueueSize of them wait are dropped and
// counted: see the returned Subscription's Dropped, and Stats.
func (c *Client) Subscribe(ctx context.Context, topic string, h session.EventHandler, opts ...session.Option) (*client.Subscription, error) {
	if h == nil {
		return nil, errors.New("izaber: subscribe: nil handler")
	}
	q, err := c.queues.get(queueName(opts), c.warn)
	if err != nil {
		return nil, err
	}
	return c.sup.Subscribe(ctx, c.fullURI(topic, opts), queuedEvents(c.life, q, h, c.warn), c.withDefaults(opts)...)
}

func (c *Client) warn(msg string) { c.log.Warn(msg) }

// Unsubscribe removes a subscription made with Subscribe.
func (c *Client) Unsubscribe(ctx context.Context, sub *client.Subscription) error {
	return c.sup.Unsubscribe(ctx, sub)
}

// Publish publishes an event and, as in Python, waits for the router's
// acknowledgement; session.Acknowledge(false) makes it return as soon as
// the event is written (fire and forget).
func (c *Client) Publish(ctx context.Context, topic string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) error {
	return c.sup.Publish(ctx, c.fullURI(topic, opts), args, kwargs, c.withDefaults(opts, session.Acknowledge(true))...)
}

// OnJoin adds a hook run after every (re)join, once registrations,
// subscriptions and roster entries are restored (README: hook('join')).
// It may be added before connecting, and may call the client. The
// returned function removes it.
func (c *Client) OnJoin(f func(ctx context.Context, info session.Info)) (remove func()) {
	return addHook(&c.mu, &c.joinHooks, f)
}

// OnLeave adds a hook run when the client itself ends a working session
// (Close, ChangeUser), before GOODBYE.
func (c *Client) OnLeave(f func(info session.Info)) (remove func()) {
	return addHook(&c.mu, &c.leaveHooks, f)
}

// OnDisconnect adds a hook run after every session ends; err says why
// (nil when the client closed it).
func (c *Client) OnDisconnect(f func(err error)) (remove func()) {
	return addHook(&c.mu, &c.discHooks, f)
}

// OnRestoreError adds a hook told about each registration, subscription
// or roster entry that could not be restored after a reconnection (it is
// retried).
func (c *Client) OnRestoreError(f func(err error)) (remove func()) {
	return addHook(&c.mu, &c.restoreHook, f)
}

// OnRevoked adds a hook told when the router revoked a registration
// (another session registered it with force_reregister) or a
// subscription. The revoked item is not restored again.
func (c *Client) OnRevoked(f func(r client.Revocation)) (remove func()) {
	return addHook(&c.mu, &c.revokeHooks, f)
}

// OnState adds a hook told about every lifecycle change (connecting,
// connected, disconnected, reconnecting with the attempt and delay, gave
// up, closed).
func (c *Client) OnState(f func(e client.StateEvent)) (remove func()) {
	return addHook(&c.mu, &c.stateHooks, f)
}

func addHook[F any](mu *sync.Mutex, list *[]*hook[F], f F) func() {
	h := &hook[F]{f: f}
	mu.Lock()
	*list = append(*list, h)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		for i, x := range *list {
			if x == h {
				*list = append((*list)[:i:i], (*list)[i+1:]...)
				return
			}
		}
	}
}

func snapshot[F any](mu *sync.Mutex, list []*hook[F]) []F {
	mu.Lock()
	defer mu.Unlock()
	out := make([]F, len(list))
	for i, h := range list {
		out[i] = h.f
	}
	return out
}

func (c *Client) onJoin(ctx context.Context, s *session.Session) {
	c.restoreRosters(ctx, s)
	info := s.Info()
	for _, f := range snapshot(&c.mu, c.joinHooks) {
		f(ctx, info)
	}
}

func (c *Client) onLeave(info session.Info) {
	for _, f := range snapshot(&c.mu, c.leaveHooks) {
		f(info)
	}
}

func (c *Client) onDisconnect(err error) {
	for _, f := range snapshot(&c.mu, c.discHooks) {
		f(err)
	}
}

// reportRestore tells the OnRestoreError hooks; whoever found err has
// logged it.
func (c *Client) reportRestore(err error) {
	for _, f := range snapshot(&c.mu, c.restoreHook) {
		f(err)
	}
}

func (c *Client) onState(e client.StateEvent) {
	if e.Err != nil && (e.State == client.StateConnecting || e.State == client.StateReconnecting ||
		e.State == client.StateGaveUp || e.State == client.StateIdle) {
		e.Err = c.explain(c.Config(), e.Err)
		if e.Delay > 0 {
			c.log.Warn(fmt.Sprintf("%v; retrying in %s (attempt %d)", e.Err, e.Delay.Round(time.Millisecond), e.Attempt))
		}
	}
	for _, f := range snapshot(&c.mu, c.stateHooks) {
		f(e)
	}
}

func (c *Client) onRevoked(r client.Revocation) {
	for _, f := range snapshot(&c.mu, c.revokeHooks) {
		f(r)
	}
}

// ChangeUser switches to another user: it opens a new session with the
// new credentials first and, only once that is established, closes the
// old one with GOODBYE and moves the registrations, subscriptions and
// roster entries to the new session; the join hooks then run, and
// ChangeUser returns once the old session has ended. If the new
// session cannot be established the old one keeps working and the old
// credentials stay in place. It also works on a client that was never
// connected (delayed login).
func (c *Client) ChangeUser(ctx context.Context, username, password string) error {
	c.mu.Lock()
	sc, err := c.sessionConfig(username, password)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	next := c.withUser(username, password, "the ChangeUser call")
	if err := c.sup.Switch(ctx, sc); err != nil {
		return c.explain(next, err)
	}
	c.mu.Lock()
	c.cfg = next
	c.mu.Unlock()
	return nil
}

// withUser returns the configuration with other credentials, given by
// from.
func (c *Client) withUser(username, password, from string) Config {
	cfg := c.Config()
	cfg.Username, cfg.Password, cfg.AuthID = username, password, ""
	cfg.From = maps.Clone(cfg.From)
	cfg.setFrom("password", from)
	cfg.setFrom("username", from)
	return cfg
}

// Spawn connects an independent client with the same configuration and
// other credentials (Python's spawn_connection). It has none of this
// client's hooks, registrations or subscriptions; close it when done.
func (c *Client) Spawn(ctx context.Context, username, password string) (*Client, error) {
	cfg := c.withUser(username, password, "the Spawn call")
	cfg.Warnings = nil // New has logged them for c
	n, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := n.Connect(ctx); err != nil {
		n.Close(context.Background())
		return nil, err
	}
	return n, nil
}
