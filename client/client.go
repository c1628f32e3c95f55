package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Defaults for Config fields left zero.
const (
	DefaultConnectTimeout    = 30 * time.Second
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = time.Minute
	DefaultBackoffMultiplier = 2.0
	DefaultBackoffJitter     = 0.2
)

// Config configures a Client. New copies it; zero fields get the
// documented defaults.
type Config struct {
	// URL of the router, passed to transport.Dial. Required unless Dialer
	// is set.
	URL string
	// DialOptions are passed to transport.Dial.
	DialOptions transport.DialOptions
	// Dialer, when set, replaces transport.Dial(ctx, URL, DialOptions): it
	// returns a connected peer for each (re)connection attempt.
	Dialer func(ctx context.Context) (transport.Peer, error)
	// Session configures every session the Client joins. Its
	// OnUnregistered and OnUnsubscribed are called after the Client's own
	// bookkeeping.
	Session session.Config

	// Backoff controls the delays between reconnection attempts.
	Backoff Backoff
	// DisableReconnect makes the Client give up (StateGaveUp) when its
	// session ends instead of reconnecting.
	DisableReconnect bool
	// ConnectTimeout bounds Connect: dialing, joining and restoring, with
	// retries while the router is unreachable (default 30s). A refused
	// join (ABORT, such as bad credentials) is not retried.
	ConnectTimeout time.Duration

	// Logger receives the client's diagnostics (nil = discard).
	Logger *slog.Logger

	// OnJoin runs after every (re)join, once the desired registrations and
	// subscriptions have been restored. It runs on the supervisor goroutine:
	// it may call the Client, and the next reconnection waits for it. ctx
	// ends when the Client is closed.
	OnJoin func(ctx context.Context, s *session.Session)
	// OnLeave runs when the Client itself ends a session that still works
	// (Close, Switch), before GOODBYE is sent.
	OnLeave func(s *session.Session)
	// OnDisconnect runs after every session ends; err says why (nil for a
	// session the Client closed itself).
	OnDisconnect func(err error)
	// OnRestoreError reports each registration or subscription that could
	// not be restored on a new session; it is retried with backoff on the
	// same session until it succeeds or the session ends.
	OnRestoreError func(err *RestoreError)
	// OnRevoked reports a registration or subscription that the router
	// revoked (for a registration: another session used force_reregister).
	// It is removed from the desired state and not restored again.
	OnRevoked func(r Revocation)
	// OnState reports every lifecycle change.
	OnState func(e StateEvent)

	// Trace, when set, is called with every WAMP message sent and
	// received on every connection of the Client, the handshake included
	// (for a --trace output, say). The signature of an AUTHENTICATE is
	// replaced by Redacted; application payloads are passed as they are.
	// It is called on the connection's reader and writer goroutines,
	// possibly at the same time, and must neither block nor modify m.
	Trace func(dir Direction, m protocol.Message)
}

// Backoff is an exponential backoff with jitter. Attempt n (from 0) waits
// Initial*Multiplier^n, capped at Max, then scaled by a random factor in
// [1-Jitter, 1+Jitter] (and capped at Max again).
type Backoff struct {
	Initial    time.Duration // default 1s
	Max        time.Duration // default 1m
	Multiplier float64       // default 2
	Jitter     float64       // fraction in [0,1], default 0.2; negative disables
	// MaxRetries is how many reconnection attempts in a row may fail
	// before the Client gives up; 0 retries forever.
	MaxRetries int
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier < 1 {
		b.Multiplier = DefaultBackoffMultiplier
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = DefaultBackoffJitter
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay returns the wait before attempt n (counting from 0).
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	return time.Duration(d)
}

// State is a lifecycle state of a Client.
type State int

// The lifecycle states.
const (
	StateIdle         State = iota // not connected yet
	StateConnecting                // first connection in progress
	StateConnected                 // a session is joined and restored
	StateDisconnected              // the session ended
	StateReconnecting              // waiting or trying to reconnect
	StateGaveUp                    // reconnection disabled or MaxRetries reached
	StateClosed                    // Close was called
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateReconnecting:
		return "reconnecting"
	case StateGaveUp:
		return "gave up"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// StateEvent is one lifecycle change.
type StateEvent struct {
	State State
	// Err is why the session ended (StateDisconnected), why the last
	// attempt failed (StateReconnecting, StateGaveUp), or nil.
	Err error
	// Attempt counts reconnection attempts since the last session ended
	// (from 1); Delay is the wait before that attempt (StateReconnecting).
	Attempt int
	Delay   time.Duration
}

// RestoreError is a registration or subscription that could not be
// restored on a new session.
type RestoreError struct {
	Kind string // "register" or "subscribe"
	URI  string
	Err  error
}

func (e *RestoreError) Error() string {
	return fmt.Sprintf("client: restore %s %s: %v", e.Kind, e.URI, e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }

// Revocation is a registration or subscription revoked by the router.
type Revocation struct {
	Kind   string // "register" or "subscribe"
	URI    string
	Reason string
}

// Errors returned by Client methods.
var (
	// ErrNotStarted is returned by requests made before the first
	// Connect (or Switch) succeeded, such as after a delayed login's
	// configuration; it does not match session.ErrConnectionLost.
	ErrNotStarted = errors.New("client: not connected yet: call Connect first")
	// ErrNotConnected is returned by requests made while no session is
	// joined after one was; it matches session.ErrConnectionLost.
	ErrNotConnected = fmt.Errorf("client: not connected: %w", session.ErrConnectionLost)
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("client: closed")
	// ErrGaveUp is returned by requests once the Client has given up
	// reconnecting; it matches session.ErrConnectionLost.
	ErrGaveUp = fmt.Errorf("client: gave up reconnecting: %w", session.ErrConnectionLost)
)

// Client is a reconnecting WAMP client. Create it with New, then Connect.
// Its methods are safe for concurrent use.
type Client struct {
	cfg     Config
	backoff Backoff
	log     *slog.Logger
	k       counters

	connectMu sync.Mutex // serializes Connect calls; before opMu
	opMu      sync.Mutex // serializes desired-state changes with their replay; before mu

	mu          sync.Mutex
	sess        *session.Session // current session, nil when disconnected
	sessCfg     session.Config   // used for the next join (Switch replaces it)
	state       State
	regs        []*Registration // desired registrations, in order
	subs        []*Subscription // desired subscriptions, in order
	supervising bool            // the run goroutine is running
	closed      bool
	connWaiters []chan struct{} // closed at the next StateConnected or end

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // supervisor, retry loops and hook goroutines
	done   chan struct{}  // closed when Close finished or the Client gave up
	doneMu sync.Once
}

// placement is where a desired registration (C = session.Registration)
// or subscription (C = session.Subscription) stands on the sessions. It is
// guarded by Client.mu.
type placement[C any] struct {
	cur     *C               // the router's registration or subscription, nil when not placed
	on      *session.Session // the session cur belongs to
	removed bool             // no longer desired: removed by the user or revoked by the router
}

// desired is a Registration (C = session.Registration) or a Subscription
// (C = session.Subscription).
type desired[C any] interface {
	comparable
	placed() *placement[C]
	uri() string // the procedure or topic
}

// itemKind names registrations or subscriptions in logs and hooks.
type itemKind struct {
	verb   string // RestoreError.Kind and Revocation.Kind
	noun   string // in log messages
	uriKey string // log attribute of the URI
}

var (
	registrations = itemKind{verb: "register", noun: "registration", uriKey: "procedure"}
	subscriptions = itemKind{verb: "subscribe", noun: "subscription", uriKey: "topic"}
)

// Registration is a procedure in the Client's desired state. It keeps its
// URI, handler and options across sessions; ID is the router's id on the
// current session.
type Registration struct {
	Procedure string
	c         *Client
	opts      []session.Option
	handler   session.Handler
	at        placement[session.Registration] // guarded by Client.mu
}

func (r *Registration) placed() *placement[session.Registration] { return &r.at }
func (r *Registration) uri() string                              { return r.Procedure }

// ID returns the router's registration id on the current session, or 0.
func (r *Registration) ID() protocol.ID {
	if r == nil {
		return 0
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.at.cur != nil {
		return r.at.cur.ID
	}
	return 0
}

// Subscription is a topic in the Client's desired state.
type Subscription struct {
	Topic   string
	c       *Client
	opts    []session.Option
	handler session.EventHandler
	at      placement[session.Subscription] // guarded by Client.mu
}

func (s *Subscription) placed() *placement[session.Subscription] { return &s.at }
func (s *Subscription) uri() string                              { return s.Topic }

// ID returns the router's subscription id on the current session, or 0.
func (s *Subscription) ID() protocol.ID {
	if s == nil {
		return 0
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.at.cur == nil {
		return 0
	}
	return s.at.cur.ID
}

// New returns an unconnected Client; Register and Subscribe may be called
// before Connect.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, backoff: cfg.Backoff.withDefaults(), done: make(chan struct{})}
	if c.cfg.ConnectTimeout <= 0 {
		c.cfg.ConnectTimeout = DefaultConnectTimeout
	}
	c.log = cfg.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.sessCfg = cfg.Session
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// State returns the current lifecycle state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Session returns the current session, or nil while disconnected.
func (c *Client) Session() *session.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Done is closed when Close has finished.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) finish() { c.doneMu.Do(func() { close(c.done) }) }

// setState records a state change and reports it; called without c.mu.
func (c *Client) setState(e StateEvent) {
	c.mu.Lock()
	if c.closed && e.State != StateClosed {
		c.mu.Unlock()
		return
	}
	c.state = e.State
	var waiters []chan struct{}
	if e.State == StateConnected || e.State == StateGaveUp || e.State == StateClosed {
		waiters, c.connWaiters = c.connWaiters, nil
	}
	c.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	c.log.Debug("wamp client state", "state", e.State.String(), "attempt", e.Attempt, "err", e.Err)
	if c.cfg.OnState != nil {
		c.cfg.OnState(e)
	}
}

// WaitConnected blocks until a session is joined and restored, and returns
// it; it fails when ctx ends, the Client is closed, or it gave up.
func (c *Client) WaitConnected(ctx context.Context) (*session.Session, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.sess != nil && c.state == StateConnected {
			s := c.sess
			c.mu.Unlock()
			return s, nil
		}
		if c.state == StateGaveUp {
			c.mu.Unlock()
			return nil, ErrGaveUp
		}
		w := make(chan struct{})
		c.connWaiters = append(c.connWaiters, w)
		c.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Connect makes the first connection: it dials, joins and restores the
// desired state, retrying with backoff while the router is unreachable,
// for at most ConnectTimeout (or until ctx ends). A refused join (ABORT) is
// returned at once. On success the Client keeps reconnecting in the
// background until Close. Connect on a connected Client does nothing.
func (c *Client) Connect(ctx context.Context) error {
	c.connectMu.Lock() // one Connect at a time
	defer c.connectMu.Unlock()
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.supervising || c.sess != nil:
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Close aborts Connect
	defer stop()

	c.setState(StateEvent{State: StateConnecting})
	var lastErr error
	for attempt := 0; ; attempt++ {
		s, err := c.join(ctx)
		if err == nil {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				s.Close(context.Background())
				return ErrClosed
			}
			c.supervising = true
			c.wg.Add(1)
			c.mu.Unlock()
			adopted := c.adopt(ctx, s)
			if !adopted {
				s.Close(context.Background())
			}
			go c.run(c.Session())
			if !adopted && c.Session() == nil {
				return ErrClosed
			}
			return nil
		}
		lastErr = err
		var abort *session.AbortError
		if errors.As(err, &abort) || ctx.Err() != nil {
			break
		}
		d := c.backoff.Delay(attempt)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	c.setState(StateEvent{State: StateIdle, Err: lastErr})
	if ctx.Err() != nil && !errors.Is(lastErr, ctx.Err()) {
		return fmt.Errorf("client: connect to %s: %w (last attempt: %v)", c.target(), ctx.Err(), lastErr)
	}
	return fmt.Errorf("client: connect to %s: %w", c.target(), lastErr)
}

func (c *Client) target() string {
	if c.cfg.URL != "" {
		return c.cfg.URL
	}
	return "router"
}

// join dials and joins one session with the current session config.
func (c *Client) join(ctx context.Context) (*session.Session, error) {
	p, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	sc := c.sessCfg
	c.mu.Unlock()
	return c.joinPeer(ctx, p, sc)
}

// dial connects a new peer with Config.Dialer, or else transport.Dial.
func (c *Client) dial(ctx context.Context) (transport.Peer, error) {
	var p transport.Peer
	var err error
	if c.cfg.Dialer != nil {
		p, err = c.cfg.Dialer(ctx)
	} else {
		p, err = transport.Dial(ctx, c.cfg.URL, c.cfg.DialOptions)
	}
	if err != nil {
		return nil, err
	}
	return c.k.observe(p, c.cfg.Trace), nil
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	s := c.k.snapshot()
	c.mu.Lock()
	for _, sub := range c.subs {
		if sub.at.cur != nil {
			s.EventsDropped += sub.at.cur.Dropped()
		}
	}
	c.mu.Unlock()
	return s
}

func (c *Client) joinPeer(ctx context.Context, p transport.Peer, sc session.Config) (*session.Session, error) {
	userUnreg, userUnsub := sc.OnUnregistered, sc.OnUnsubscribed
	sc.OnUnregistered = func(reg *session.Registration, reason string) {
		revoked(c, &c.regs, registrations, reg, reason)
		if userUnreg != nil {
			userUnreg(reg, reason)
		}
	}
	sc.OnUnsubscribed = func(sub *session.Subscription, reason string) {
		revoked(c, &c.subs, subscriptions, sub, reason)
		if userUnsub != nil {
			userUnsub(sub, reason)
		}
	}
	s, err := session.Join(ctx, p, sc)
	if err != nil {
		p.Close()
		return nil, err
	}
	return s, nil
}

// adopt makes s the current session: restores the desired state on it,
// starts retries for what failed, reports StateConnected and runs OnJoin.
// It returns false, doing nothing, when another session became current in
// the meantime (Switch) or the Client was closed.
func (c *Client) adopt(ctx context.Context, s *session.Session) bool {
	c.opMu.Lock()
	c.mu.Lock()
	if c.sess != nil || c.closed {
		c.mu.Unlock()
		c.opMu.Unlock()
		return false
	}
	c.sess = s
	c.mu.Unlock()
	pending := c.restoreLocked(ctx, s, true)
	c.opMu.Unlock()
	if pending {
		c.wg.Add(1)
		go c.retryRestore(s)
	}
	c.setState(StateEvent{State: StateConnected})
	if c.cfg.OnJoin != nil {
		c.cfg.OnJoin(c.ctx, s)
	}
	return true
}

// restoreLocked registers and subscribes everything in the desired state
// that is not on s yet. It reports failures when report is set and returns
// whether anything is still missing. Called with opMu held.
func (c *Client) restoreLocked(ctx context.Context, s *session.Session, report bool) (pending bool) {
	c.mu.Lock()
	regs := append([]*Registration(nil), c.regs...)
	subs := append([]*Subscription(nil), c.subs...)
	c.mu.Unlock()
	regsPending, ended := restoreEach(c, s, regs, registrations, report,
		func(r *Registration) (*session.Registration, error) {
			return s.Register(ctx, r.Procedure, r.handler, r.opts...)
		})
	if ended {
		return false
	}
	subsPending, ended := restoreEach(c, s, subs, subscriptions, report,
		func(sub *Subscription) (*session.Subscription, error) {
			return s.Subscribe(ctx, sub.Topic, sub.handler, sub.opts...)
		})
	if ended {
		return false
	}
	return regsPending || subsPending
}

// restoreEach places on s, with place, each of items that is still desired
// and not on s yet, logging each failure and reporting it when report is
// set. It returns whether anything failed, or stops early when s ended.
// Called with opMu held.
func restoreEach[T desired[C], C any](c *Client, s *session.Session, items []T, k itemKind, report bool, place func(x T) (*C, error)) (pending, ended bool) {
	for _, x := range items {
		p := x.placed()
		c.mu.Lock()
		skip := p.removed || p.on == s
		c.mu.Unlock()
		if skip {
			continue
		}
		cur, err := place(x)
		if err != nil {
			if c.sessionEnded(s) {
				return false, true
			}
			pending = true
			c.log.Warn("wamp client: cannot restore "+k.noun, k.uriKey, x.uri(), "err", err)
			if report && c.cfg.OnRestoreError != nil {
				c.cfg.OnRestoreError(&RestoreError{Kind: k.verb, URI: x.uri(), Err: err})
			}
			continue
		}
		c.mu.Lock()
		p.cur, p.on = cur, s
		c.mu.Unlock()
	}
	return pending, false
}

func (c *Client) sessionEnded(s *session.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// retryRestore keeps restoring what failed on s, with backoff, until
// nothing is missing, s is no longer current, or the Client is closed.
// Only the first failure of each item was reported; retries that fail
// again are logged.
func (c *Client) retryRestore(s *session.Session) {
	defer c.wg.Done()
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(c.backoff.Delay(attempt))
		select {
		case <-t.C:
		case <-s.Done():
			t.Stop()
			return
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		c.opMu.Lock()
		c.mu.Lock()
		current := c.sess == s
		c.mu.Unlock()
		if !current {
			c.opMu.Unlock()
			return
		}
		pending := c.restoreLocked(c.ctx, s, false)
		c.opMu.Unlock()
		if !pending {
			return
		}
	}
}

// run supervises the current session: on its end it reports the
// disconnect and reconnects with backoff.
func (c *Client) run(s *session.Session) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		c.supervising = false
		c.mu.Unlock()
	}()
	if s == nil {
		return
	}
	for {
		select {
		case <-s.Done():
		case <-c.ctx.Done():
			return
		}
		c.mu.Lock()
		if c.sess != s { // replaced by Switch: supervise the new one
			next := c.sess
			c.mu.Unlock()
			if next == nil {
				return
			}
			s = next
			continue
		}
		c.sess = nil
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		err := s.Err()
		c.log.Info("wamp client: session ended", "err", err)
		c.setState(StateEvent{State: StateDisconnected, Err: err})
		if c.cfg.OnDisconnect != nil {
			c.cfg.OnDisconnect(err)
		}
		next, ok := c.reconnect()
		if !ok {
			return
		}
		s = next
	}
}

// reconnect dials and joins until it succeeds, the Client is closed, or
// MaxRetries attempts failed.
func (c *Client) reconnect() (*session.Session, bool) {
	if c.cfg.DisableReconnect {
		c.giveUp(errors.New("client: reconnection disabled"))
		return nil, false
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		if c.backoff.MaxRetries > 0 && attempt >= c.backoff.MaxRetries {
			c.giveUp(lastErr)
			return nil, false
		}
		c.mu.Lock()
		cur := c.sess
		c.mu.Unlock()
		if cur != nil {
			return cur, true // Switch installed a session meanwhile
		}
		d := c.backoff.Delay(attempt)
		c.setState(StateEvent{State: StateReconnecting, Err: lastErr, Attempt: attempt + 1, Delay: d})
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil, false
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
		s, err := c.join(ctx)
		if err != nil {
			cancel()
			lastErr = err
			c.log.Info("wamp client: reconnect failed", "attempt", attempt+1, "err", err)
			continue
		}
		adopted := c.adopt(ctx, s)
		cancel()
		if adopted {
			c.k.reconnects.Add(1)
		}
		if !adopted {
			s.Close(context.Background())
			c.mu.Lock()
			cur, closed := c.sess, c.closed
			c.mu.Unlock()
			if closed || cur == nil {
				return nil, false
			}
			return cur, true // Switch installed a session meanwhile
		}
		return s, true
	}
}

func (c *Client) giveUp(err error) {
	c.setState(StateEvent{State: StateGaveUp, Err: err})
}

// revoked handles the router's revocation of cur: the item of the desired
// list placed as cur is marked removed, dropped from the list (so it is not
// restored again), logged and reported to OnRevoked.
func revoked[T desired[C], C any](c *Client, list *[]T, k itemKind, cur *C, reason string) {
	var found T
	c.mu.Lock()
	for i, x := range *list {
		if p := x.placed(); p.cur == cur {
			p.removed, p.cur, p.on = true, nil, nil
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			found = x
			break
		}
	}
	c.mu.Unlock()
	var none T
	if found == none {
		return
	}
	c.log.Warn("wamp client: "+k.noun+" revoked by the router", k.uriKey, found.uri(), "reason", reason)
	if c.cfg.OnRevoked != nil {
		c.cfg.OnRevoked(Revocation{Kind: k.verb, URI: found.uri(), Reason: reason})
	}
}

// current returns the session for a request, or the error to return.
func (c *Client) current() (*session.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.sess != nil:
		return c.sess, nil
	case c.state == StateGaveUp:
		return nil, ErrGaveUp
	case c.state == StateIdle || c.state == StateConnecting && !c.supervising:
		return nil, ErrNotStarted
	}
	return nil, ErrNotConnected
}

// Call calls a procedure on the current session. While disconnected it
// fails at once with ErrNotConnected; a call in flight when the connection
// drops fails with an error matching session.ErrConnectionLost. Calls are
// never replayed.
func (c *Client) Call(ctx context.Context, procedure string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) (*session.Result, error) {
	s, err := c.current()
	if err != nil {
		return nil, err
	}
	res, err := s.Call(ctx, procedure, args, kwargs, opts...)
	return res, c.lost(s, err)
}

// Publish publishes on the current session (see session.Session.Publish).
func (c *Client) Publish(ctx context.Context, topic string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) error {
	s, err := c.current()
	if err != nil {
		return err
	}
	return c.lost(s, s.Publish(ctx, topic, args, kwargs, opts...))
}

// Register adds a procedure to the desired state and registers it on the
// current session, if any. Before the first connection (or while
// reconnecting) it only records it; it is registered on the next session.
// An error from the router (not authorized, already exists, ...) is
// returned and nothing is recorded.
func (c *Client) Register(ctx context.Context, procedure string, h session.Handler, opts ...session.Option) (*Registration, error) {
	if h == nil {
		return nil, errors.New("client: register: nil handler")
	}
	r := &Registration{Procedure: procedure, c: c, opts: append([]session.Option(nil), opts...), handler: h}
	err := addDesired(c, &c.regs, r, func(s *session.Session) (*session.Registration, error) {
		return s.Register(ctx, procedure, h, opts...)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// addDesired places x on the current session, if any, with place, then
// appends x to the desired list. An error from the router is returned and
// nothing is recorded; when the session is gone, x is recorded and placed
// on the next one.
func addDesired[T desired[C], C any](c *Client, list *[]T, x T, place func(s *session.Session) (*C, error)) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		cur, err := place(s)
		err = c.lost(s, err)
		switch {
		case err == nil:
			p := x.placed()
			p.cur, p.on = cur, s
		case errors.Is(err, session.ErrConnectionLost) || c.sessionEnded(s):
			// recorded below; placed on the next session
		default:
			return err
		}
	}
	c.mu.Lock()
	*list = append(*list, x)
	c.mu.Unlock()
	return nil
}

// Unregister removes r from the desired state and unregisters it from the
// current session. Removing a registration the router revoked, or one not
// registered on the current session, only updates the desired state.
func (c *Client) Unregister(ctx context.Context, r *Registration) error {
	if r == nil {
		return errors.New("client: unregister: nil registration")
	}
	return removeDesired(c, &c.regs, r, func(s *session.Session, cur *session.Registration) error {
		return s.Unregister(ctx, cur)
	})
}

// removeDesired drops x from the desired list and, when it is placed on the
// current session, releases it there with release. Removing an item the
// router revoked, or one not placed on the current session, only updates
// the desired state.
func removeDesired[T desired[C], C any](c *Client, list *[]T, x T, release func(s *session.Session, cur *C) error) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	found := false
	for i, y := range *list {
		if y == x {
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			found = true
			break
		}
	}
	p := x.placed()
	wasRemoved := p.removed
	p.removed = true
	cur, on, s := p.cur, p.on, c.sess
	p.cur, p.on = nil, nil
	c.mu.Unlock()
	if !found && wasRemoved {
		return nil // revoked or already removed
	}
	if cur == nil || on != s || s == nil {
		return nil
	}
	err := release(s, cur)
	if err != nil && (errors.Is(err, session.ErrConnectionLost) || c.sessionEnded(s)) {
		return nil // the session is gone, and with it the placement
	}
	return err
}

// Subscribe adds a topic to the desired state and subscribes on the current
// session, if any (see Register for the rules).
func (c *Client) Subscribe(ctx context.Context, topic string, h session.EventHandler, opts ...session.Option) (*Subscription, error) {
	if h == nil {
		return nil, errors.New("client: subscribe: nil handler")
	}
	sub := &Subscription{Topic: topic, c: c, opts: append([]session.Option(nil), opts...), handler: h}
	err := addDesired(c, &c.subs, sub, func(s *session.Session) (*session.Subscription, error) {
		return s.Subscribe(ctx, topic, h, opts...)
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe removes sub from the desired state and unsubscribes it on
// the current session.
func (c *Client) Unsubscribe(ctx context.Context, sub *Subscription) error {
	if sub == nil {
		return errors.New("client: unsubscribe: nil subscription")
	}
	return removeDesired(c, &c.subs, sub, func(s *session.Session, cur *session.Subscription) error {
		return s.Unsubscribe(ctx, cur)
	})
}

// Switch joins a new session with sc (for example other credentials) and,
// only once it is established, makes it current: the old session is
// closed with GOODBYE and the desired registrations and subscriptions are
// restored on the new one (failures reported through OnRestoreError), then
// OnJoin runs. Later reconnections use sc. If the new session cannot be
// joined, Switch returns the error and nothing changes: the old session
// keeps working with the old configuration.
func (c *Client) Switch(ctx context.Context, sc session.Config) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.mu.Unlock()
	p, err := c.dial(ctx)
	if err != nil {
		return fmt.Errorf("client: switch: %w", err)
	}
	ns, err := c.joinPeer(ctx, p, sc)
	if err != nil {
		return fmt.Errorf("client: switch: %w", err)
	}

	c.opMu.Lock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.opMu.Unlock()
		ns.Close(context.Background())
		return ErrClosed
	}
	old := c.sess
	c.sessCfg = sc
	c.sess = ns
	if old != nil {
		c.k.reconnects.Add(1)
	}
	start := !c.supervising
	if start {
		c.supervising = true
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if old != nil {
		if c.cfg.OnLeave != nil {
			c.cfg.OnLeave(old)
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		// Unregister explicitly before GOODBYE, so that the router no
		// longer routes calls to the old session when the new one
		// registers (a router may drop them only after answering GOODBYE).
		c.releaseLocked(cctx, old)
		old.Close(cctx)
		cancel()
		if c.cfg.OnDisconnect != nil {
			c.cfg.OnDisconnect(nil)
		}
	}
	pending := c.restoreLocked(ctx, ns, true)
	c.opMu.Unlock()
	if pending {
		c.wg.Add(1)
		go c.retryRestore(ns)
	}
	if start {
		go c.run(ns)
	}
	c.setState(StateEvent{State: StateConnected})
	if c.cfg.OnJoin != nil {
		c.cfg.OnJoin(c.ctx, ns)
	}
	return nil
}

// releaseLocked unregisters and unsubscribes everything held on s.
// Called with opMu held.
func (c *Client) releaseLocked(ctx context.Context, s *session.Session) {
	c.mu.Lock()
	regs := placedOn(c.regs, s)
	subs := placedOn(c.subs, s)
	c.mu.Unlock()
	for _, r := range regs {
		if err := s.Unregister(ctx, r); err != nil {
			c.log.Debug("wamp client: unregister from the old session", "procedure", r.Procedure, "err", err)
		}
	}
	for _, sub := range subs {
		if err := s.Unsubscribe(ctx, sub); err != nil {
			c.log.Debug("wamp client: unsubscribe from the old session", "topic", sub.Topic, "err", err)
		}
	}
}

// placedOn returns what of items is placed on s. Called with c.mu held.
func placedOn[T desired[C], C any](items []T, s *session.Session) []*C {
	var out []*C
	for _, x := range items {
		if p := x.placed(); p.on == s && p.cur != nil {
			out = append(out, p.cur)
		}
	}
	return out
}

// lost turns the failure of a request on s into an error matching
// session.ErrConnectionLost when s ended under it (the router's GOODBYE,
// or a failure the session reported as it ended), so that callers can tell
// a lost connection from an application error. WAMP errors, size limits,
// the caller's own context and failures on a live session pass unchanged.
func (c *Client) lost(s *session.Session, err error) error {
	if err == nil || errors.Is(err, session.ErrConnectionLost) {
		return err
	}
	var werr *session.Error
	var tooBig *transport.MessageTooBigError
	if errors.As(err, &werr) || errors.As(err, &tooBig) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	select {
	case <-s.Done():
	default:
		return err // the session is still up: not a connection problem
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return err
	}
	return fmt.Errorf("%w: %w", session.ErrConnectionLost, err)
}

// Close stops reconnecting, closes the current session with GOODBYE
// (bounded by ctx) and waits for the Client's goroutines. It always
// returns; after ctx ends it returns ctx.Err() without waiting further
// (so Close called from a hook needs a ctx with a deadline).
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	s := c.sess
	c.sess = nil
	waiters := c.connWaiters
	c.connWaiters = nil
	c.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	c.cancel()
	var err error
	if s != nil {
		if c.cfg.OnLeave != nil {
			c.cfg.OnLeave(s)
		}
		if cerr := s.Close(ctx); cerr != nil && !errors.Is(cerr, session.ErrSessionClosed) && !errors.Is(cerr, session.ErrConnectionLost) {
			err = cerr
		}
		if c.cfg.OnDisconnect != nil {
			c.cfg.OnDisconnect(nil)
		}
	}
	c.mu.Lock()
	c.state = StateClosed
	c.mu.Unlock()
	if c.cfg.OnState != nil {
		c.cfg.OnState(StateEvent{State: StateClosed})
	}
	waited := make(chan struct{})
	go func() { c.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	c.finish()
	return err
}
