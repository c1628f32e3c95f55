package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// The checks of every cell, in the order they run and appear in the report.
var checkNames = []string{
	"join", "rpc", "progressive", "cancel", "timeout", "router_timeout",
	"pattern_registration", "pattern_subscription", "shared_registration",
	"publish", "force_reregister", "meta_api", "retention", "testament",
	"progressive_invocations", "goodbye", "bad_password",
}

// Time limits. A check that hangs fails at checkTimeout instead of hanging
// the matrix.
const (
	checkTimeout = 20 * time.Second
	waitTimeout  = 10 * time.Second
)

type authSpec struct {
	name           string // column name
	method         string // expected WELCOME authmethod
	authid, secret string
}

func authColumns() []authSpec {
	var out []authSpec
	if *flagAnonymous {
		out = append(out, authSpec{name: "anonymous", method: "anonymous"})
	}
	for _, c := range []struct{ name, method, cred string }{
		{"ticket", "ticket", *flagTicket},
		{"wampcra", "wampcra", *flagCRA},
		{"wampcra-salted", "wampcra", *flagCRASalted},
	} {
		if id, secret, ok := credential(c.cred); ok {
			out = append(out, authSpec{name: c.name, method: c.method, authid: id, secret: secret})
		}
	}
	return out
}

// cellEnv is one cell: where to connect and how to authenticate.
type cellEnv struct {
	url    string
	ser    protocol.Serializer
	auth   authSpec
	prefix string // unique URI prefix for this cell
}

func (a authSpec) methods(secret string) []auth.ClientMethod {
	switch a.name {
	case "ticket":
		return []auth.ClientMethod{auth.Ticket(secret)}
	case "wampcra", "wampcra-salted":
		return []auth.ClientMethod{auth.WAMPCRA(secret)}
	}
	return nil
}

// peer is a joined session plus what the router revoked from it.
type peer struct {
	*session.Session
	revoked chan revocation
}

type revocation struct {
	id     protocol.ID
	reason string
}

func (e *cellEnv) dial(ctx context.Context) (transport.Peer, error) {
	return transport.Dial(ctx, e.url, transport.DialOptions{Serializers: []protocol.Serializer{e.ser}})
}

func (e *cellEnv) join(ctx context.Context, secret string) (*peer, error) {
	p, err := e.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", e.url, err)
	}
	revoked := make(chan revocation, 8)
	cfg := session.Config{
		Realm:  *flagRealm,
		AuthID: e.auth.authid,
		Auth:   e.auth.methods(secret),
		Agent:  "izaber-wamp-go conformance",
		OnUnregistered: func(r *session.Registration, reason string) {
			select {
			case revoked <- revocation{r.ID, reason}:
			default:
			}
		},
	}
	s, err := session.Join(ctx, p, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	return &peer{Session: s, revoked: revoked}, nil
}

func uniquePrefix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return *flagURIPrefix + ".c" + hex.EncodeToString(b[:])
}

// TestMatrix runs every transport × serializer × authentication cell
// against the router given by the flags (see flags_test.go).
func TestMatrix(t *testing.T) {
	if *flagSelf {
		startSelfRouter(t)
	}
	trs := transports()
	if len(trs) == 0 {
		t.Skip("CONFORMANCE MATRIX SKIPPED: no router configured. Run `make conformance` (starts crossbar), " +
			"or pass -ws/-tcp/-unix/-router-url (env WAMP_CONFORMANCE_WS/_TCP/_UNIX/_URL); see docs/CONFORMANCE.md")
	}
	var sers []protocol.Serializer
	for _, name := range strings.Split(*flagSerializers, ",") {
		s, err := protocol.SerializerByName(strings.TrimSpace(name))
		if err != nil {
			t.Fatalf("-serializers: %v", err)
		}
		sers = append(sers, s)
	}
	auths := authColumns()
	if len(auths) == 0 {
		t.Fatal("no authentication column left to test")
	}

	report := &MatrixReport{
		Router:  *flagRouterName,
		URLs:    map[string]string{},
		Started: time.Now().UTC(),
		Checks:  checkNames,
	}
	for _, tr := range trs {
		report.URLs[tr[0]] = tr[1]
	}
	var mu sync.Mutex
	parallel := max(*flagParallel, 1)
	sem := make(chan struct{}, parallel)

	t.Run("cells", func(t *testing.T) {
		for _, tr := range trs {
			for _, ser := range sers {
				for _, a := range auths {
					env := &cellEnv{url: tr[1], ser: ser, auth: a, prefix: uniquePrefix()}
					name := tr[0] + "/" + ser.Name() + "/" + a.name
					cell := Cell{Transport: tr[0], Serializer: ser.Name(), Auth: a.name}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						sem <- struct{}{}
						defer func() { <-sem }()
						cell.Checks = runCell(t, env)
						mu.Lock()
						report.Cells = append(report.Cells, cell)
						mu.Unlock()
					})
				}
			}
		}
	})

	order := map[string]int{"websocket": 0, "rawsocket-tcp": 1, "rawsocket-unix": 2, "json": 0, "msgpack": 1, "cbor": 2,
		"anonymous": 0, "ticket": 1, "wampcra": 2, "wampcra-salted": 3}
	sort.Slice(report.Cells, func(i, j int) bool {
		a, b := report.Cells[i], report.Cells[j]
		if a.Transport != b.Transport {
			return order[a.Transport] < order[b.Transport]
		}
		if a.Serializer != b.Serializer {
			return order[a.Serializer] < order[b.Serializer]
		}
		return order[a.Auth] < order[b.Auth]
	})
	report.Seconds = time.Since(report.Started).Seconds()
	report.Complete = len(report.Cells) == len(trs)*len(sers)*len(auths)
	c := report.Count()
	t.Logf("MATRIX: %d cells: %d passed, %d failed; checks %d passed, %d failed, %d n/a; %.1fs",
		c.Cells, c.CellsPassed, c.CellsFailed, c.ChecksPassed, c.ChecksFailed, c.ChecksNA, report.Seconds)
	if *flagReport != "" {
		if err := WriteJSON(*flagReport, report); err != nil {
			t.Error(err)
		}
	}
}

type checkFunc func(ctx context.Context, e *cellEnv, a, b *peer) (note string, err error)

// runCell runs the checks of one cell in order, each as a subtest.
func runCell(t *testing.T, e *cellEnv) map[string]CheckResult {
	out := make(map[string]CheckResult, len(checkNames))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	record := func(name string, fn func(ctx context.Context) (string, error)) {
		t.Run(name, func(t *testing.T) {
			cctx, ccancel := context.WithTimeout(ctx, checkTimeout)
			defer ccancel()
			note, err := protect(func() (string, error) { return fn(cctx) })
			if errors.Is(err, errNotApplicable) {
				out[name] = CheckResult{Status: NotApplicable, Note: note}
				t.Skip(note)
			}
			if err != nil {
				out[name] = CheckResult{Status: Fail, Detail: err.Error(), Note: note}
				t.Error(err)
				return
			}
			out[name] = CheckResult{Status: Pass, Note: note}
			if note != "" {
				t.Log(note)
			}
		})
	}

	var a, b *peer
	record("join", func(ctx context.Context) (string, error) {
		var err error
		if a, err = e.join(ctx, e.auth.secret); err != nil {
			return "", err
		}
		if b, err = e.join(ctx, e.auth.secret); err != nil {
			return "", err
		}
		for _, p := range []*peer{a, b} {
			if err := checkInfo(p.Info(), e); err != nil {
				return "", err
			}
		}
		if a.Info().Session == b.Info().Session {
			return "", fmt.Errorf("two sessions got the same id %d", a.Info().Session)
		}
		return "", nil
	})
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), waitTimeout)
		defer ccancel()
		for _, p := range []*peer{a, b} {
			if p != nil {
				p.Close(cctx)
			}
		}
	}()

	checks := []struct {
		name string
		fn   checkFunc
	}{
		{"rpc", checkRPC},
		{"progressive", checkProgressive},
		{"cancel", checkCancel},
		{"timeout", checkTimeoutCancel},
		{"router_timeout", checkRouterTimeout},
		{"pattern_registration", checkPatternRegistration},
		{"pattern_subscription", checkPatternSubscription},
		{"shared_registration", checkSharedRegistration},
		{"publish", checkPublish},
		{"force_reregister", checkForceReregister},
		{"meta_api", checkMetaAPI},
		{"retention", checkRetention},
		{"testament", checkTestament},
		{"progressive_invocations", checkProgressiveInvocations},
		{"goodbye", checkGoodbye},
	}
	for _, c := range checks {
		record(c.name, func(ctx context.Context) (string, error) {
			if a == nil || b == nil {
				return "", errors.New("not run: join failed")
			}
			return c.fn(ctx, e, a, b)
		})
	}
	record("bad_password", func(ctx context.Context) (string, error) { return checkBadPassword(ctx, e) })
	return out
}

var errNotApplicable = errors.New("not applicable")

// protect turns a panic in a check into a failure of that check.
func protect(fn func() (string, error)) (note string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

func checkInfo(info session.Info, e *cellEnv) error {
	if info.Session == 0 || info.Session > 1<<53 {
		return fmt.Errorf("session id %d outside [1, 2^53]", info.Session)
	}
	if info.Realm != *flagRealm {
		return fmt.Errorf("realm %q, want %q", info.Realm, *flagRealm)
	}
	if info.AuthMethod != e.auth.method {
		return fmt.Errorf("authmethod %q, want %q", info.AuthMethod, e.auth.method)
	}
	if e.auth.authid != "" && info.AuthID != e.auth.authid {
		return fmt.Errorf("authid %q, want %q", info.AuthID, e.auth.authid)
	}
	if info.AuthRole == "" {
		return errors.New("WELCOME has no authrole")
	}
	return nil
}

// normalize maps the List/Dict named types to plain []any/map[string]any
// so payloads compare by content.
func normalize(v any) any {
	switch x := v.(type) {
	case []any: // protocol.List is an alias
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any: // protocol.Dict is an alias
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

func payloadDiff(want, got any) string {
	return cmp.Diff(normalize(want), normalize(got))
}

func waitFor[T any](ctx context.Context, ch <-chan T, what string) (T, error) {
	var zero T
	t := time.NewTimer(waitTimeout)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-t.C:
		return zero, fmt.Errorf("no %s within %s", what, waitTimeout)
	case <-ctx.Done():
		return zero, fmt.Errorf("no %s: %w", what, ctx.Err())
	}
}

func errorURI(err error) string {
	var we *session.Error
	if errors.As(err, &we) {
		return we.URI
	}
	return ""
}

var (
	binaryA = []byte{0, 1, 2, 0x7f, 0x80, 0xfe, 0xff}
	binaryB = []byte("\x00binary with a leading NUL")
)

// rpc: register, call with args, kwargs and binary payloads (echoed back),
// an application error with payload, and a call of a missing procedure.
func checkRPC(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	echo := e.prefix + ".rpc.echo"
	fail := e.prefix + ".rpc.fail"
	reg, err := b.Register(ctx, echo, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	})
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	errURI := e.prefix + ".error.custom"
	if _, err := b.Register(ctx, fail, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return nil, session.NewError(errURI, protocol.List{"bad input", int64(3)}, protocol.Dict{"field": "x"})
	}); err != nil {
		return "", fmt.Errorf("register %s: %w", fail, err)
	}

	args := protocol.List{int64(1), "two", 3.5, true, nil, binaryA, protocol.List{int64(-7), "x", binaryB}, int64(1) << 40}
	kwargs := protocol.Dict{"bin": binaryB, "nested": protocol.Dict{"k": "v", "n": int64(-5), "b": binaryA}, "text": "grüße"}
	res, err := a.Call(ctx, echo, args, kwargs)
	if err != nil {
		return "", fmt.Errorf("call: %w", err)
	}
	if d := payloadDiff(args, res.Args); d != "" {
		return "", fmt.Errorf("echoed args differ (-want +got):\n%s", d)
	}
	if d := payloadDiff(kwargs, res.Kwargs); d != "" {
		return "", fmt.Errorf("echoed kwargs differ (-want +got):\n%s", d)
	}

	_, err = a.Call(ctx, fail, nil, nil)
	var we *session.Error
	if !errors.As(err, &we) {
		return "", fmt.Errorf("call of failing procedure: got %v, want *session.Error", err)
	}
	if we.URI != errURI {
		return "", fmt.Errorf("error URI %q, want %q", we.URI, errURI)
	}
	if d := payloadDiff(protocol.List{"bad input", int64(3)}, we.Args); d != "" {
		return "", fmt.Errorf("error args differ (-want +got):\n%s", d)
	}
	if d := payloadDiff(protocol.Dict{"field": "x"}, we.Kwargs); d != "" {
		return "", fmt.Errorf("error kwargs differ (-want +got):\n%s", d)
	}

	_, err = a.Call(ctx, e.prefix+".rpc.missing", nil, nil)
	if !errors.Is(err, session.ErrNoSuchProcedure) {
		return "", fmt.Errorf("call of missing procedure: got %v, want wamp.error.no_such_procedure", err)
	}
	return "", nil
}

// progressive: three progressive results then a final one, in order.
func checkProgressive(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".progressive"
	reg, err := b.Register(ctx, proc, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		for i := range 3 {
			if err := inv.Progress(ctx, protocol.List{int64(i), binaryA}, protocol.Dict{"i": int64(i)}); err != nil {
				return nil, err
			}
		}
		return &session.Result{Args: protocol.List{"done"}}, nil
	})
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	var mu sync.Mutex
	var got []any
	progress := make(chan struct{}, 8)
	res, err := a.Call(ctx, proc, nil, nil, session.ReceiveProgress(func(r *session.Result) {
		mu.Lock()
		got = append(got, normalize(protocol.List{r.Arg(0), r.Arg(1), r.Kwargs["i"]}))
		mu.Unlock()
		progress <- struct{}{}
	}))
	if err != nil {
		return "", fmt.Errorf("call: %w", err)
	}
	if res.Arg(0) != "done" {
		return "", fmt.Errorf("final result %v, want [done]", res.Args)
	}
	// Progress callbacks may run on another goroutine; give stragglers a moment.
	for range 3 {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if _, err := waitFor(ctx, progress, "progressive result"); err != nil {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []any{
		normalize(protocol.List{int64(0), binaryA, int64(0)}),
		normalize(protocol.List{int64(1), binaryA, int64(1)}),
		normalize(protocol.List{int64(2), binaryA, int64(2)}),
	}
	if d := cmp.Diff(want, got); d != "" {
		return "", fmt.Errorf("progressive results differ (-want +got):\n%s", d)
	}
	return "", nil
}

// blockingCallee registers a procedure whose handler waits until it is
// interrupted and reports the interruption.
func blockingCallee(ctx context.Context, b *peer, proc string) (reg *session.Registration, started <-chan struct{}, interrupted <-chan error, err error) {
	st := make(chan struct{}, 1)
	in := make(chan error, 1)
	reg, err = b.Register(ctx, proc, func(hctx context.Context, inv *session.Invocation) (*session.Result, error) {
		st <- struct{}{}
		select {
		case <-hctx.Done():
			in <- hctx.Err()
			return nil, hctx.Err()
		case <-time.After(30 * time.Second):
			in <- errors.New("handler never interrupted")
			return &session.Result{Args: protocol.List{"too late"}}, nil
		}
	})
	return reg, st, in, err
}

// cancel: cancelling the caller's context cancels the call and interrupts
// the callee.
func checkCancel(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".cancel"
	reg, started, interrupted, err := blockingCallee(ctx, b, proc)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(cctx, proc, nil, nil)
		errc <- err
	}()
	if _, err := waitFor(ctx, started, "invocation"); err != nil {
		return "", err
	}
	t0 := time.Now()
	cancel()
	callErr, err := waitFor(ctx, errc, "call return after cancel")
	if err != nil {
		return "", err
	}
	if !errors.Is(callErr, context.Canceled) {
		return "", fmt.Errorf("cancelled call returned %v, want an error wrapping context.Canceled", callErr)
	}
	if ierr, err := waitFor(ctx, interrupted, "INTERRUPT at the callee"); err != nil {
		return "", err
	} else if !errors.Is(ierr, context.Canceled) {
		return "", fmt.Errorf("callee: %v", ierr)
	}
	if d := time.Since(t0); d > waitTimeout {
		return "", fmt.Errorf("callee interrupted only %s after cancel", d)
	}
	return "", nil
}

// timeout: a call with session.Timeout ends with ErrTimeout and the callee
// is interrupted, whatever the router does with the timeout option
// (crossbar reads it as seconds, so the client's own timer must fire and
// CANCEL).
func checkTimeoutCancel(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".timeout"
	reg, _, interrupted, err := blockingCallee(ctx, b, proc)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	const limit = 300 * time.Millisecond
	t0 := time.Now()
	_, callErr := a.Call(ctx, proc, nil, nil, session.Timeout(limit))
	took := time.Since(t0)
	if callErr == nil {
		return "", errors.New("call with timeout succeeded; the handler never returns")
	}
	if !errors.Is(callErr, session.ErrTimeout) {
		return "", fmt.Errorf("timed-out call returned %v, want ErrTimeout", callErr)
	}
	if took < limit {
		return "", fmt.Errorf("call timed out after %s, before its %s timeout", took, limit)
	}
	if took > limit+waitTimeout {
		return "", fmt.Errorf("call timed out only after %s (timeout %s)", took, limit)
	}
	if _, err := waitFor(ctx, interrupted, "INTERRUPT at the callee after the timeout"); err != nil {
		return "", err
	}
	note := "timed-out call error: " + callErr.Error()
	if uri := errorURI(callErr); uri != "" {
		note = "timed-out call error URI " + uri
	}
	return note, nil
}

// router_timeout: the dealer's own call timeout (CALL.Options.timeout = 1,
// no client timer) ends the call with an error matching ErrTimeout and
// interrupts the callee. A spec router reads 1 ms and answers
// wamp.error.timeout; crossbar reads 1 s and answers wamp.error.canceled
// ["timeout reached"], which the client maps to ErrTimeout too.
func checkRouterTimeout(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".rtimeout"
	reg, started, interrupted, err := blockingCallee(ctx, b, proc)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	t0 := time.Now()
	_, callErr := a.Call(ctx, proc, nil, nil, session.WithOption("timeout", int64(1)))
	took := time.Since(t0)
	if callErr == nil {
		return "", errors.New("call with the router timeout succeeded; the handler never returns")
	}
	if !errors.Is(callErr, session.ErrTimeout) {
		return "", fmt.Errorf("router-timed-out call returned %v, want an error matching ErrTimeout", callErr)
	}
	if took > 5*time.Second {
		return "", fmt.Errorf("router timeout took %s", took)
	}
	// With a 1 ms timeout the router may give up before the invocation
	// reaches the callee; only if it did must the callee be interrupted.
	select {
	case <-started:
		if _, err := waitFor(ctx, interrupted, "INTERRUPT at the callee after the router timeout"); err != nil {
			return "", err
		}
	default:
	}
	var we *session.Error
	if errors.As(callErr, &we) {
		return fmt.Sprintf("router answered %s %v", we.URI, we.Args), nil
	}
	return "", fmt.Errorf("router-timed-out call returned %v, want a WAMP ERROR from the router", callErr)
}

type tagged struct{ procedure, tag string }

func taggedHandler(tag string) session.Handler {
	return func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{inv.Procedure, tag}}, nil
	}
}

func callTagged(ctx context.Context, a *peer, uri string) (tagged, error) {
	res, err := a.Call(ctx, uri, nil, nil)
	if err != nil {
		return tagged{}, err
	}
	p, _ := res.Arg(0).(string)
	tag, _ := res.Arg(1).(string)
	return tagged{p, tag}, nil
}

// pattern_registration: prefix and wildcard registrations, exact match
// precedence, the concrete procedure in the invocation, no match.
func checkPatternRegistration(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	pfx := e.prefix + ".pfx"
	regs := []struct {
		uri, tag string
		opts     []session.Option
	}{
		{pfx, "prefix", []session.Option{session.Match("prefix")}},
		{pfx + ".exact", "exact", nil},
		{e.prefix + ".wc..op", "wildcard", []session.Option{session.Match("wildcard")}},
	}
	for _, r := range regs {
		reg, err := b.Register(ctx, r.uri, taggedHandler(r.tag), r.opts...)
		if err != nil {
			return "", fmt.Errorf("register %s: %w", r.uri, err)
		}
		defer b.Unregister(ctx, reg)
	}
	for _, c := range []struct{ uri, tag string }{
		{pfx + ".a.b", "prefix"},
		{pfx + ".exact", "exact"},
		{e.prefix + ".wc.x.op", "wildcard"},
	} {
		got, err := callTagged(ctx, a, c.uri)
		if err != nil {
			return "", fmt.Errorf("call %s: %w", c.uri, err)
		}
		if got != (tagged{c.uri, c.tag}) {
			return "", fmt.Errorf("call %s reached %+v, want %s with procedure %s", c.uri, got, c.tag, c.uri)
		}
	}
	if _, err := a.Call(ctx, e.prefix+".wc.x.y.op", nil, nil); !errors.Is(err, session.ErrNoSuchProcedure) {
		return "", fmt.Errorf("call matching no pattern: got %v, want wamp.error.no_such_procedure", err)
	}
	return "", nil
}

func eventSink(n int) (session.EventHandler, <-chan *session.Event) {
	ch := make(chan *session.Event, n)
	return func(ev *session.Event) {
		select {
		case ch <- ev:
		default:
		}
	}, ch
}

// pattern_subscription: prefix and wildcard subscriptions receive the
// concrete topic; a topic matching no pattern is not delivered.
func checkPatternSubscription(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	hp, prefixEvents := eventSink(16)
	hw, wildEvents := eventSink(16)
	sp, err := b.Subscribe(ctx, e.prefix+".tp", hp, session.Match("prefix"))
	if err != nil {
		return "", fmt.Errorf("subscribe prefix: %w", err)
	}
	defer b.Unsubscribe(ctx, sp)
	sw, err := b.Subscribe(ctx, e.prefix+".tw..ev", hw, session.Match("wildcard"))
	if err != nil {
		return "", fmt.Errorf("subscribe wildcard: %w", err)
	}
	defer b.Unsubscribe(ctx, sw)
	for _, topic := range []string{e.prefix + ".tw.a.b.ev", e.prefix + ".tw.a.ev", e.prefix + ".tp.x.y"} {
		if err := a.Publish(ctx, topic, protocol.List{topic}, nil, session.Acknowledge(true)); err != nil {
			return "", fmt.Errorf("publish %s: %w", topic, err)
		}
	}
	ev, err := waitFor(ctx, wildEvents, "wildcard event")
	if err != nil {
		return "", err
	}
	if want := e.prefix + ".tw.a.ev"; ev.Topic != want || ev.Arg(0) != want {
		return "", fmt.Errorf("wildcard subscription got topic %q args %v, want %q", ev.Topic, ev.Args, want)
	}
	if ev.Subscription != sw.ID {
		return "", fmt.Errorf("wildcard event for subscription %d, want %d", ev.Subscription, sw.ID)
	}
	ev, err = waitFor(ctx, prefixEvents, "prefix event")
	if err != nil {
		return "", err
	}
	if want := e.prefix + ".tp.x.y"; ev.Topic != want || ev.Arg(0) != want {
		return "", fmt.Errorf("prefix subscription got topic %q args %v, want %q", ev.Topic, ev.Args, want)
	}
	select {
	case ev := <-wildEvents:
		return "", fmt.Errorf("unexpected wildcard event for %q", ev.Topic)
	case ev := <-prefixEvents:
		return "", fmt.Errorf("unexpected prefix event for %q", ev.Topic)
	default:
	}
	return "", nil
}

// shared_registration: two roundrobin callees share the calls evenly; a
// registration with another policy is refused; after one leaves the other
// gets every call.
func checkSharedRegistration(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".shared"
	ra, err := a.Register(ctx, proc, taggedHandler("a"), session.Invoke("roundrobin"))
	if err != nil {
		return "", fmt.Errorf("register a: %w", err)
	}
	rb, err := b.Register(ctx, proc, taggedHandler("b"), session.Invoke("roundrobin"))
	if err != nil {
		a.Unregister(ctx, ra)
		return "", fmt.Errorf("register b: %w", err)
	}
	defer b.Unregister(ctx, rb)
	counts := map[string]int{}
	var seq []string
	for range 6 {
		got, err := callTagged(ctx, a, proc)
		if err != nil {
			return "", fmt.Errorf("call: %w", err)
		}
		counts[got.tag]++
		seq = append(seq, got.tag)
	}
	if counts["a"] != 3 || counts["b"] != 3 {
		return "", fmt.Errorf("roundrobin spread %v over 6 calls, want 3/3", seq)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] {
			return "", fmt.Errorf("roundrobin order %v does not alternate", seq)
		}
	}
	var note string
	if r, err := b.Register(ctx, proc, taggedHandler("single")); err == nil {
		b.Unregister(ctx, r)
		return "", errors.New("a single registration on a roundrobin procedure was accepted")
	} else {
		var we *session.Error
		if !errors.As(err, &we) {
			return "", fmt.Errorf("conflicting policy: got %v, want a WAMP ERROR", err)
		}
		note = "conflicting policy refused with " + we.URI
	}
	if err := a.Unregister(ctx, ra); err != nil {
		return "", fmt.Errorf("unregister a: %w", err)
	}
	for range 2 {
		got, err := callTagged(ctx, a, proc)
		if err != nil {
			return "", fmt.Errorf("call after unregister: %w", err)
		}
		if got.tag != "b" {
			return "", fmt.Errorf("call after a left reached %q", got.tag)
		}
	}
	return note, nil
}

// publish: acknowledged publications; exclude_me=false delivers to the
// publisher too, the default excludes it; payloads arrive intact.
func checkPublish(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	topic := e.prefix + ".pub"
	ha, aEvents := eventSink(16)
	hb, bEvents := eventSink(16)
	sa, err := a.Subscribe(ctx, topic, ha)
	if err != nil {
		return "", fmt.Errorf("subscribe a: %w", err)
	}
	defer a.Unsubscribe(ctx, sa)
	sb, err := b.Subscribe(ctx, topic, hb)
	if err != nil {
		return "", fmt.Errorf("subscribe b: %w", err)
	}
	defer b.Unsubscribe(ctx, sb)

	kw := protocol.Dict{"bin": binaryA, "n": int64(42)}
	steps := []struct {
		label string
		opts  []session.Option
	}{
		{"first", []session.Option{session.Acknowledge(true), session.ExcludeMe(false)}},
		{"second", []session.Option{session.Acknowledge(true)}},
		{"third", []session.Option{session.Acknowledge(true), session.ExcludeMe(false)}},
	}
	for _, s := range steps {
		if err := a.Publish(ctx, topic, protocol.List{s.label, binaryB}, kw, s.opts...); err != nil {
			return "", fmt.Errorf("publish %s: %w", s.label, err)
		}
	}
	check := func(who string, ch <-chan *session.Event, want ...string) error {
		for _, label := range want {
			ev, err := waitFor(ctx, ch, who+" event "+label)
			if err != nil {
				return err
			}
			if d := payloadDiff(protocol.List{label, binaryB}, ev.Args); d != "" {
				return fmt.Errorf("%s: event args differ (-want +got):\n%s", who, d)
			}
			if d := payloadDiff(kw, ev.Kwargs); d != "" {
				return fmt.Errorf("%s: event kwargs differ (-want +got):\n%s", who, d)
			}
		}
		return nil
	}
	if err := check("subscriber", bEvents, "first", "second", "third"); err != nil {
		return "", err
	}
	if err := check("publisher (exclude_me=false)", aEvents, "first", "third"); err != nil {
		return "", err
	}
	select {
	case ev := <-aEvents:
		return "", fmt.Errorf("publisher got an extra event %v", ev.Args)
	default:
	}
	// Publishing to an invalid URI with acknowledge gets an ERROR.
	if err := a.Publish(ctx, "conformance..bad uri", nil, nil, session.Acknowledge(true)); err == nil {
		return "", errors.New("acknowledged publish to an invalid URI succeeded")
	}
	return "", nil
}

// force_reregister: a registration with force_reregister takes the
// procedure over; the old callee is told through OnUnregistered.
func checkForceReregister(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	proc := e.prefix + ".force"
	old, err := b.Register(ctx, proc, taggedHandler("old"))
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if _, err := a.Register(ctx, proc, taggedHandler("dup")); !errors.Is(err, session.ErrProcedureAlreadyExists) {
		return "", fmt.Errorf("second plain register: got %v, want wamp.error.procedure_already_exists", err)
	}
	nr, err := a.Register(ctx, proc, taggedHandler("new"), session.ForceReregister())
	if err != nil {
		b.Unregister(ctx, old)
		return "", fmt.Errorf("register with force_reregister: %w", err)
	}
	defer a.Unregister(ctx, nr)
	rev, err := waitFor(ctx, b.revoked, "revocation (OnUnregistered) at the old callee")
	if err != nil {
		return "", err
	}
	if rev.id != old.ID {
		return "", fmt.Errorf("revoked registration %d, want %d", rev.id, old.ID)
	}
	got, err := callTagged(ctx, a, proc)
	if err != nil {
		return "", fmt.Errorf("call after takeover: %w", err)
	}
	if got.tag != "new" {
		return "", fmt.Errorf("call after takeover reached %q", got.tag)
	}
	return fmt.Sprintf("revocation reason %q", rev.reason), nil
}

// goodbye: Close runs the GOODBYE handshake; the session then reports
// ErrSessionClosed and refuses new requests.
func checkGoodbye(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	for i, p := range []*peer{b, a} {
		select {
		case <-p.Done():
			return "", fmt.Errorf("session %d ended before Close: %w", i, p.Err())
		default:
		}
		if err := p.Close(ctx); err != nil {
			return "", fmt.Errorf("close session %d: %w", i, err)
		}
		if _, err := waitFor(ctx, p.Done(), "session end after Close"); err != nil {
			return "", err
		}
		if !errors.Is(p.Err(), session.ErrSessionClosed) {
			return "", fmt.Errorf("Err() after Close = %v, want ErrSessionClosed", p.Err())
		}
		if _, err := p.Call(ctx, e.prefix+".rpc.echo", nil, nil); err == nil {
			return "", errors.New("call on a closed session succeeded")
		}
	}
	return "", nil
}

// bad_password: a wrong ticket or secret ends the join with ABORT.
func checkBadPassword(ctx context.Context, e *cellEnv) (string, error) {
	if e.auth.secret == "" {
		return "anonymous has no password", errNotApplicable
	}
	p, err := e.join(ctx, e.auth.secret+"-wrong")
	if err == nil {
		p.Close(ctx)
		return "", errors.New("join with a wrong password succeeded")
	}
	var ae *session.AbortError
	if !errors.As(err, &ae) {
		return "", fmt.Errorf("join with a wrong password: %v (%s), want *session.AbortError", err, reflect.TypeOf(err))
	}
	switch ae.Reason {
	case "wamp.error.not_authorized", "wamp.error.authentication_failed", "com.izaber.wamp.error.permissiondenied":
	default:
		return "", fmt.Errorf("ABORT reason %q, want wamp.error.not_authorized or authentication_failed", ae.Reason)
	}
	return "ABORT " + ae.Reason, nil
}
