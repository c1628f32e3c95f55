package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
)

// Throttle defaults (ThrottleConfig fields left zero).
const (
	DefaultThrottleFree        = 3
	DefaultThrottleDelay       = 250 * time.Millisecond
	DefaultThrottleMaxDelay    = 30 * time.Second
	DefaultThrottleForget      = 15 * time.Minute
	DefaultThrottleMaxKeys     = 10000
	DefaultThrottleLogInterval = time.Minute
)

// ThrottleConfig configures a Throttle. NewThrottle copies it; zero fields
// get the defaults above.
type ThrottleConfig struct {
	// Free is how many failed logins in a row an authid, or a client
	// address, may have before its attempts are spaced out (default 3;
	// negative means none).
	Free int
	// Delay is the spacing between attempts after Free failures; it
	// doubles with every further failure, up to MaxDelay (defaults 250 ms
	// and 30 s).
	Delay, MaxDelay time.Duration
	// Forget is how long failures are remembered after the last one
	// (default 15 minutes).
	Forget time.Duration
	// MaxKeys bounds each table, authids and addresses, however many a
	// stranger makes up; past it the key that failed least recently (of a
	// sample) is forgotten (default 10000).
	MaxKeys int
	// Logger receives failed logins, summarised: the first failure of an
	// address in an interval at once, the others as one line per address
	// per LogInterval (default 1 minute) with their count and a few of the
	// authids tried; an authid that is being throttled (attacked from
	// several addresses) gets such lines too. Client strings are cut and
	// escaped. Nil discards.
	Logger      *slog.Logger
	LogInterval time.Duration
}

// ErrThrottled is returned by Throttle.Attempt when an attempt's turn
// comes after its context's deadline, or it may not wait.
var ErrThrottled = errors.New("auth: too many failed logins; try again later")

// Throttle slows down repeated failed logins, per authid and per client
// address, so that guessing passwords is slow and does not take the CPU
// from other users' logins. Every attempt takes a turn in both tables:
// after Free failures in a row the turns of a key are spaced out by Delay,
// doubling with each further failure, so parallel guesses take turns too;
// logins without failures are not spaced. An attempt waits for its turn on its own
// goroutine (the connection's, during the opening handshake), within its
// context; one whose turn would come after the context's deadline is held
// until that deadline and refused, without its credentials being checked
// (refused at once, a guesser would reconnect at once). A success clears
// the authid's failures; an address's are forgotten Forget after its last
// failure. Memory is bounded by MaxKeys per table.
//
// A Throttle is safe for concurrent use. Authids are compared
// case-insensitively, on their first 256 bytes; addresses by IP. Local
// clients (loopback addresses, Unix sockets) and clients without an
// address (in-memory pipes) are throttled by authid only: they all share
// one address, which would make one failing script slow down every local
// client, and a local process can use the CPU without logging in anyway.
type Throttle struct {
	cfg ThrottleConfig

	mu        sync.Mutex
	ids       throttleTable
	addrs     throttleTable
	lastSweep time.Time
	lines     []throttleLine // log lines to write once mu is released
}

// throttleLine is one log line about a key's failures.
type throttleLine struct {
	msg   string
	attrs []any
}

// throttleEntry is what a Throttle remembers of one authid or address.
// Guarded by Throttle.mu.
type throttleEntry struct {
	key      string
	failures int       // failed logins in a row (authids: since the last success)
	pending  int       // attempts that took a turn and have not ended
	next     time.Time // earliest start of the next turn
	last     time.Time // last failure

	unlogged int       // failures not logged yet
	logged   time.Time // last log line about this key
	samples  []string  // a few keys of the other table in the unlogged failures
	method   string    // authmethod of the last failure
}

type throttleTable struct {
	m map[string]*throttleEntry
}

// NewThrottle returns a Throttle configured by cfg.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	if cfg.Free == 0 {
		cfg.Free = DefaultThrottleFree
	} else if cfg.Free < 0 {
		cfg.Free = 0
	}
	if cfg.Delay <= 0 {
		cfg.Delay = DefaultThrottleDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultThrottleMaxDelay
	}
	if cfg.Forget <= 0 {
		cfg.Forget = DefaultThrottleForget
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultThrottleMaxKeys
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultThrottleLogInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Throttle{
		cfg:   cfg,
		ids:   throttleTable{m: map[string]*throttleEntry{}},
		addrs: throttleTable{m: map[string]*throttleEntry{}},
	}
}

// maxAuthIDKey bounds the bytes of an authid a Throttle keeps.
const maxAuthIDKey = 256

func authidKey(authid string) string {
	if len(authid) > maxAuthIDKey {
		authid = authid[:maxAuthIDKey]
	}
	return strings.ToLower(authid)
}

// addrKey is the throttling key of a client address: its IP; "" (no
// throttling by address) for none, a Unix socket or a loopback address.
func addrKey(a net.Addr) string {
	var ip net.IP
	switch x := a.(type) {
	case nil, *net.UnixAddr:
		return ""
	case *net.TCPAddr:
		ip = x.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			host = a.String()
		}
		if ip = net.ParseIP(host); ip == nil {
			return host
		}
	}
	if ip.IsLoopback() {
		return ""
	}
	return ip.String()
}

// Authenticator returns a wraps with the throttle: each attempt waits for
// its turn (see Throttle), a refusal (*Denied) counts as a failure for its
// authid and address, and a success clears the authid's failures. An
// attempt whose turn would come after the handshake's deadline is refused
// at that deadline with a *Denied of reason ReasonNotAuthorized; wrap a's
// own refusals in the router's answer if it has another (router/nexus
// answers every refusal alike itself).
func (t *Throttle) Authenticator(a Authenticator) Authenticator {
	return throttled{t: t, inner: a}
}

type throttled struct {
	t     *Throttle
	inner Authenticator
}

func (w throttled) Method() string { return w.inner.Method() }

func (w throttled) Authenticate(ctx context.Context, req *Request, challenge Challenger) (*Identity, error) {
	authid := req.AuthID
	if pk, _ := req.AuthExtra["pubkey"].(string); authid == "" && pk != "" {
		authid = "pubkey:" + pk // cryptosign without an authid: the key names the principal
	}
	done, err := w.t.attempt(ctx, authid, req.RemoteAddr, w.Method(), true)
	if err != nil {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "too many failed logins", cause: err}
	}
	id, err := w.inner.Authenticate(ctx, req, challenge)
	var d *Denied
	done(err == nil && id != nil, errors.As(err, &d))
	return id, err
}

// Attempt takes a turn for a login attempt by authid from addr, waiting for
// it within ctx, and returns the function to call with the outcome: ok
// when the credential was right. A failure counts only when ok is false
// and counted is true (an internal error is no guess). Attempt fails with
// ErrThrottled without taking a turn when wait is false and the turn is
// not now (at once), or when the turn would come after ctx's deadline
// (when the deadline comes); it returns ctx's error if ctx ends while it
// waits for its turn.
func (t *Throttle) Attempt(ctx context.Context, authid string, addr net.Addr, method string, wait bool) (done func(ok, counted bool), err error) {
	return t.attempt(ctx, authid, addr, method, wait)
}

func (t *Throttle) attempt(ctx context.Context, authid string, addr net.Addr, method string, wait bool) (func(ok, counted bool), error) {
	now := time.Now()
	ak, ck := authidKey(authid), addrKey(addr)
	t.mu.Lock()
	a := t.ids.get(t, ak, now)
	var c *throttleEntry
	if ck != "" {
		c = t.addrs.get(t, ck, now)
	}
	start := now
	for _, e := range []*throttleEntry{a, c} {
		if e != nil && e.next.After(start) {
			start = e.next
		}
	}
	if start.After(now) {
		if !wait {
			t.writeLines()
			return nil, ErrThrottled
		}
		if dl, has := ctx.Deadline(); has && start.After(dl) {
			// Hold the attempt until its deadline, unchecked: refusing
			// at once would let a guesser reconnect at once, and the
			// connections would cost the CPU the turns save.
			t.writeLines()
			<-ctx.Done()
			return nil, ErrThrottled
		}
	}
	for _, e := range []*throttleEntry{a, c} {
		if e != nil {
			e.pending++
			e.next = start.Add(t.spacing(e.failures))
		}
	}
	t.writeLines()

	if d := start.Sub(now); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			t.finish(a, c, ak, ck, method, false, false)
			return nil, ctx.Err()
		}
	}
	var once sync.Once
	return func(ok, counted bool) {
		once.Do(func() { t.finish(a, c, ak, ck, method, ok, counted) })
	}, nil
}

// spacing is the gap between turns of a key with n failures in a row.
func (t *Throttle) spacing(n int) time.Duration {
	if n < t.cfg.Free {
		return 0
	}
	shift := min(n-t.cfg.Free, 30)
	d := t.cfg.Delay << shift
	if d <= 0 || d > t.cfg.MaxDelay {
		return t.cfg.MaxDelay
	}
	return d
}

// finish records the outcome of an attempt that took a turn.
func (t *Throttle) finish(a, c *throttleEntry, ak, ck, method string, ok, counted bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.writeLines()
	for _, e := range []*throttleEntry{a, c} {
		if e != nil && e.pending > 0 {
			e.pending--
		}
	}
	switch {
	case ok:
		a.failures = 0
		a.next = now
	case counted:
		for _, e := range []*throttleEntry{a, c} {
			if e != nil {
				e.failures++
				if next := now.Add(t.spacing(e.failures)); next.After(e.next) {
					e.next = next
				}
				e.last = now
				e.unlogged++
				e.method = method
			}
		}
		a.sample(ck)
		if c != nil {
			c.sample(ak)
			t.maybeLog(c, now, false)
		}
		t.maybeLog(a, now, true)
	}
	if a.failures == 0 && a.pending == 0 && t.ids.m[ak] == a {
		delete(t.ids.m, ak)
	}
	if c != nil && c.failures == 0 && c.pending == 0 && t.addrs.m[ck] == c {
		delete(t.addrs.m, ck)
	}
	if now.Sub(t.lastSweep) >= t.cfg.LogInterval {
		t.lastSweep = now
		t.sweep(now, false)
	}
}

// get returns the entry of key, creating it (and making room) if needed.
// t.mu must be held.
func (tb *throttleTable) get(t *Throttle, key string, now time.Time) *throttleEntry {
	if e := tb.m[key]; e != nil {
		if e.pending == 0 && now.Sub(e.last) > t.cfg.Forget && !e.next.After(now) {
			e.failures = 0
		}
		return e
	}
	if len(tb.m) >= t.cfg.MaxKeys {
		tb.evict(t, now)
	}
	e := &throttleEntry{key: key}
	tb.m[key] = e
	return e
}

// evict forgets one key: of a sample of the table (map order is random),
// the one that failed least recently, preferring keys with no attempt in
// progress. Its unlogged failures are logged first.
func (tb *throttleTable) evict(t *Throttle, now time.Time) {
	var victim *throttleEntry
	n := 0
	for _, e := range tb.m {
		if victim == nil || evictFirst(e, victim) {
			victim = e
		}
		if n++; n == 8 {
			break
		}
	}
	if victim != nil {
		if victim.unlogged > 0 {
			t.logEntry(victim, tb == &t.ids, now)
		}
		delete(tb.m, victim.key)
	}
}

// evictFirst reports whether e should be forgotten before v.
func evictFirst(e, v *throttleEntry) bool {
	if (e.pending == 0) != (v.pending == 0) {
		return e.pending == 0
	}
	return e.last.Before(v.last)
}

// sample remembers key as one of the few shown in e's next log line.
func (e *throttleEntry) sample(key string) {
	if key == "" || len(e.samples) >= 3 {
		return
	}
	for _, s := range e.samples {
		if s == key {
			return
		}
	}
	e.samples = append(e.samples, key)
}

// maybeLog logs e's unlogged failures unless it was logged within the
// interval. Authids tried from an address are logged only once they are
// being throttled (their addresses' lines show the others). t.mu must be
// held.
func (t *Throttle) maybeLog(e *throttleEntry, now time.Time, isAuthID bool) {
	if e.unlogged == 0 || now.Sub(e.logged) < t.cfg.LogInterval {
		return
	}
	if isAuthID && e.failures < max(t.cfg.Free, 1) && len(e.samples) > 0 {
		return // its address's line tells, until it is throttled
	}
	t.logEntry(e, isAuthID, now)
}

// sweep logs the unlogged failures of every key last logged an interval
// ago or more (all of them when flush) and forgets keys whose failures are
// old. t.mu must be held.
func (t *Throttle) sweep(now time.Time, flush bool) {
	for _, tb := range []*throttleTable{&t.ids, &t.addrs} {
		isAuthID := tb == &t.ids
		for k, e := range tb.m {
			if e.unlogged > 0 && (flush || now.Sub(e.logged) >= t.cfg.LogInterval) {
				t.logEntry(e, isAuthID, now)
			}
			if e.pending == 0 && now.Sub(e.last) > t.cfg.Forget && !e.next.After(now) {
				delete(tb.m, k)
			}
		}
	}
}

// logEntry prepares one line about e's unlogged failures, written when
// t.mu is released (writeLines). t.mu must be held.
func (t *Throttle) logEntry(e *throttleEntry, isAuthID bool, now time.Time) {
	samples := make([]string, len(e.samples))
	for i, s := range e.samples {
		samples[i] = logsafe.Clean(s)
	}
	delay := t.spacing(e.failures)
	switch {
	case isAuthID && len(e.samples) == 1:
		// Failures from one address: that address's lines tell.
	case isAuthID:
		t.lines = append(t.lines, throttleLine{"failed logins for one authid", []any{"authid", logsafe.String(e.key), "failures", e.unlogged,
			"in_a_row", e.failures, "addresses", samples, "method", e.method, "delay", delay}})
	default:
		t.lines = append(t.lines, throttleLine{"failed logins", []any{"address", e.key, "failures", e.unlogged,
			"in_a_row", e.failures, "authids", samples, "method", e.method, "delay", delay}})
	}
	e.unlogged, e.samples, e.logged = 0, nil, now
}

// writeLines releases t.mu and writes the lines prepared under it.
func (t *Throttle) writeLines() {
	lines := t.lines
	t.lines = nil
	t.mu.Unlock()
	for _, l := range lines {
		t.cfg.Logger.Info(l.msg, l.attrs...)
	}
}

// Flush logs the failures not logged yet (call it before shutting down).
func (t *Throttle) Flush() {
	t.mu.Lock()
	defer t.writeLines()
	t.sweep(time.Now(), true)
}

// keys returns the number of authids and addresses remembered (tests).
func (t *Throttle) keys() (authids, addrs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ids.m), len(t.addrs.m)
}
