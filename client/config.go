package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
//
// The hooks (On...) run one at a time, in the order of the events, on the
// Client's hook goroutine: never on a session's reader and never
// concurrently with each other. They may call the Client (see Close for
// the one caveat). A slow hook delays the hooks after it, not the Client.
type Config struct {
	// URL of the router, passed to transport.Dial. Required unless Dialer
	// is set.
	URL string
	// DialOptions are passed to transport.Dial. Their keep-alive
	// (PingInterval, default 30s, and PongTimeout, default 10s) is on for
	// every transport: a dead router is noticed and reconnection starts
	// within their sum (see the session package doc, "Keep-alive").
	DialOptions transport.DialOptions
	// Dialer, when set, replaces transport.Dial(ctx, URL, DialOptions): it
	// returns a connected peer for each (re)connection attempt.
	Dialer func(ctx context.Context) (transport.Peer, error)
	// Session configures every session the Client joins. Its
	// OnUnregistered and OnUnsubscribed are called after the Client's own
	// bookkeeping.
	Session session.Config

	// Backoff controls the delays between connection attempts.
	Backoff Backoff
	// DisableReconnect makes the Client give up (StateGaveUp) when its
	// session ends instead of reconnecting.
	DisableReconnect bool
	// ConnectTimeout bounds Connect and Switch: dialing, joining and
	// restoring, with retries while the router is unreachable (default
	// 30s), and each reconnection attempt. Connect does not retry what
	// retrying cannot fix: a malformed URL or unknown scheme, an HTTP
	// answer that is not a WebSocket upgrade (but for 429 and 502-504),
	// a TLS certificate that does not verify, a refused join (ABORT).
	ConnectTimeout time.Duration

	// Logger receives the client's diagnostics (nil = discard).
	Logger *slog.Logger

	// OnJoin runs after every (re)join, once the desired registrations and
	// subscriptions have been restored. ctx ends when the Client is
	// closed; s may have ended by the time OnJoin runs.
	OnJoin func(ctx context.Context, s *session.Session)
	// OnLeave runs when the Client itself ends a session that works
	// (Close, Switch); GOODBYE may already have been sent.
	OnLeave func(info session.Info)
	// OnDisconnect runs after every session ends; err says why (nil for a
	// session the Client closed itself).
	OnDisconnect func(err error)
	// OnRestoreError reports each registration or subscription that could
	// not be restored on a new session; it is retried with backoff on the
	// same session until it succeeds or the session ends, and further
	// failures are only logged.
	OnRestoreError func(err *RestoreError)
	// OnRevoked reports a registration or subscription that the router
	// revoked (for a registration: another session used force_reregister).
	// It is removed from the desired state and not restored again.
	OnRevoked func(r Revocation)
	// OnState reports every lifecycle change, including each retry of the
	// first connection (StateConnecting with Attempt, Delay and Err).
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
	StateConnecting                // first connection (Connect) in progress
	StateConnected                 // a session is joined and restored
	StateDisconnected              // the session ended
	StateReconnecting              // waiting or trying to reconnect
	StateGaveUp                    // reconnection disabled or MaxRetries reached
	StateClosed                    // Close was called
)

// String returns the state's name ("connected", "gave up", ...).
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
	// attempt failed (StateConnecting, StateReconnecting, StateGaveUp, and
	// StateIdle after a failed Connect), or nil.
	Err error
	// Attempt counts the attempts of this connection or reconnection
	// (from 1); Delay is the wait before it. An event with a non-nil Err
	// and a Delay announces a retry.
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

// Error returns "client: restore <kind> <uri>: <cause>".
func (e *RestoreError) Error() string {
	return fmt.Sprintf("client: restore %s %s: %v", e.Kind, e.URI, e.Err)
}

// Unwrap returns the cause.
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
