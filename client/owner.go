package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// owner is the state of the owner goroutine (Client.run), which alone
// reads and writes it: the session lifecycle (connect, reconnect, switch,
// close) and the desired state. Requests arrive as functions on
// Client.reqs; dial-and-join attempts run on goroutines of their own and
// report on attemptCh, so that the owner stays responsive while a router
// is slow to answer.
type owner struct {
	cur     *session.Session // the current session, or nil
	sessCfg session.Config   // for the next join (Switch replaces it)
	regs    []*Registration  // desired registrations, in order
	subs    []*Subscription  // desired subscriptions, in order

	phase     State    // lifecycle state, as published
	attempt   *attempt // the attempt whose result counts, or nil
	inflight  int      // attempts started and not yet reported
	attemptCh chan attemptResult
	tries     int   // failed attempts of the current (re)connection
	lastErr   error // of the last failed attempt

	retry    *time.Timer // next attempt, when waiting for one
	retryC   <-chan time.Time
	restore  *time.Timer // next restore of what failed, when waiting
	restoreC <-chan time.Time
	restores int // restore retries on the current session

	connecting *connecting  // the first connection in progress, or nil
	switches   []*switchReq // Switch requests waiting, the first may be in flight
	closers    sync.WaitGroup
	exit       bool
}

type attemptKind int

const (
	attemptConnect attemptKind = iota
	attemptReconnect
	attemptSwitch
)

// attempt is one dial and join.
type attempt struct {
	kind   attemptKind
	cancel context.CancelFunc
	sw     *switchReq // attemptSwitch
}

type attemptResult struct {
	a   *attempt
	s   *session.Session
	err error
}

// connecting is a Connect in progress: its deadline and the callers
// waiting for it.
type connecting struct {
	ctx     context.Context // ConnectTimeout, the first caller's ctx, Close
	cancel  context.CancelFunc
	waiters []chan<- error
}

type switchReq struct {
	ctx   context.Context
	sc    session.Config
	reply chan<- error
}

// run is the owner goroutine.
func (c *Client) run() {
	o := &c.o
	o.attemptCh = make(chan attemptResult, 1)
	for !o.exit {
		var sessDone, connDone <-chan struct{}
		if o.cur != nil {
			sessDone = o.cur.Done()
		}
		if o.connecting != nil && o.attempt == nil {
			connDone = o.connecting.ctx.Done() // the deadline passes while waiting to retry
		}
		select {
		case f := <-c.reqs:
			f()
		case r := <-o.attemptCh:
			o.inflight--
			o.finished(c, r)
		case <-sessDone:
			o.sessionEnded(c)
		case <-o.retryC:
			o.retry, o.retryC = nil, nil
			if o.connecting != nil {
				o.start(c, attemptConnect, nil)
			} else {
				o.start(c, attemptReconnect, nil)
			}
		case <-o.restoreC:
			o.restore, o.restoreC = nil, nil
			o.retryRestore(c)
		case <-connDone:
			o.stopRetry()
			o.failConnect(c, o.lastErr)
		}
	}
	for o.inflight > 0 { // attempts end quickly: Close cancelled their ctx
		r := <-o.attemptCh
		o.inflight--
		if r.s != nil {
			r.s.Close(context.Background())
		}
	}
	o.closers.Wait()
	close(c.ownerDone)
	c.hooks.close()
	go func() {
		<-c.hooks.done
		close(c.done)
	}()
}

// publish makes st (and s, the current session) visible to other
// goroutines and reports e (with e.State = st) through OnState.
func (c *Client) publish(s *session.Session, e StateEvent) {
	c.o.phase = e.State
	c.mu.Lock()
	c.sess = s
	if s != nil {
		c.started = true
	}
	skip := c.closed && e.State != StateClosed
	if !skip {
		c.state = e.State
		if e.State == StateConnected || e.State == StateGaveUp || e.State == StateClosed {
			close(c.connected)
			c.connected = make(chan struct{})
		}
	}
	c.mu.Unlock()
	if skip {
		return
	}
	c.log.Debug("wamp client state", "state", e.State.String(), "attempt", e.Attempt, "delay", e.Delay, "err", e.Err)
	if f := c.cfg.OnState; f != nil {
		c.hooks.push(func() { f(e) })
	}
}

func (c *Client) target() string {
	if c.cfg.URL != "" {
		return c.cfg.URL
	}
	return "the router"
}

// connect handles a Connect request.
func (o *owner) connect(c *Client, ctx context.Context, reply chan<- error) {
	switch {
	case o.phase == StateConnected || o.phase == StateReconnecting || o.phase == StateDisconnected:
		reply <- nil // already started
		return
	case o.connecting != nil:
		o.connecting.waiters = append(o.connecting.waiters, reply)
		return
	}
	cctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	stop := context.AfterFunc(ctx, cancel) // the caller gives up: so does Connect
	o.connecting = &connecting{ctx: cctx, cancel: func() { stop(); cancel() }, waiters: []chan<- error{reply}}
	o.tries, o.lastErr = 0, nil
	c.publish(nil, StateEvent{State: StateConnecting, Attempt: 1})
	if o.attempt == nil { // else a Switch is joining: Connect follows it
		o.start(c, attemptConnect, nil)
	}
}

// switchTo handles a Switch request: it runs now, or after the connect or
// switch attempt in flight. A reconnection attempt is superseded.
func (o *owner) switchTo(c *Client, ctx context.Context, sc session.Config, reply chan<- error) {
	o.switches = append(o.switches, &switchReq{ctx: ctx, sc: sc, reply: reply})
	o.nextSwitch(c)
}

// nextSwitch starts the first waiting Switch unless an attempt that must
// finish first is in flight.
func (o *owner) nextSwitch(c *Client) {
	for len(o.switches) > 0 {
		if a := o.attempt; a != nil {
			if a.kind != attemptReconnect {
				return // a Connect or Switch attempt: wait for it
			}
			a.cancel()
			o.attempt = nil
		}
		sw := o.switches[0]
		if err := sw.ctx.Err(); err != nil {
			o.switches = o.switches[1:]
			sw.reply <- err
			continue
		}
		o.stopRetry()
		o.start(c, attemptSwitch, sw)
		return
	}
}

// start starts a dial-and-join attempt of the given kind.
func (o *owner) start(c *Client, kind attemptKind, sw *switchReq) {
	var ctx context.Context
	var cancel context.CancelFunc
	sc := o.sessCfg
	switch kind {
	case attemptConnect:
		ctx, cancel = context.WithCancel(o.connecting.ctx)
	case attemptReconnect:
		ctx, cancel = context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	case attemptSwitch:
		m, stop := mergeCancel(sw.ctx, c.ctx)
		t, tcancel := context.WithTimeout(m, c.cfg.ConnectTimeout)
		ctx, cancel = t, func() { tcancel(); stop() }
		sc = sw.sc
	}
	a := &attempt{kind: kind, cancel: cancel, sw: sw}
	o.attempt = a
	o.inflight++
	ch := o.attemptCh
	go func() {
		s, err := c.dialJoin(ctx, sc)
		ch <- attemptResult{a: a, s: s, err: err}
	}()
}

// dialJoin dials and joins one session with sc.
func (c *Client) dialJoin(ctx context.Context, sc session.Config) (*session.Session, error) {
	p, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	userUnreg, userUnsub := sc.OnUnregistered, sc.OnUnsubscribed
	sc.OnUnregistered = func(reg *session.Registration, reason string) {
		c.post(func() { revoked(c, &c.o.regs, registrations, reg, reason) })
		if userUnreg != nil {
			userUnreg(reg, reason)
		}
	}
	sc.OnUnsubscribed = func(sub *session.Subscription, reason string) {
		c.post(func() { revoked(c, &c.o.subs, subscriptions, sub, reason) })
		if userUnsub != nil {
			userUnsub(sub, reason)
		}
	}
	s, err := session.Join(ctx, p, sc)
	if err != nil {
		return nil, err // Join closed p
	}
	return s, nil
}

// dial connects a new peer with Config.Dialer, or else transport.Dial, and
// observes it (Trace, Stats).
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

// finished handles the result of an attempt.
func (o *owner) finished(c *Client, r attemptResult) {
	a := r.a
	if a != o.attempt { // superseded
		if r.s != nil {
			r.s.Close(context.Background())
		}
		return
	}
	a.cancel()
	o.attempt = nil
	switch a.kind {
	case attemptConnect:
		if r.err == nil {
			o.adopt(c, r.s)
			o.endConnect(c, nil)
			return
		}
		if o.connecting.ctx.Err() != nil && o.lastErr != nil {
			o.failConnect(c, o.lastErr) // cut short by the deadline: the failure before says more
			return
		}
		o.lastErr = r.err
		if Permanent(r.err) || o.connecting.ctx.Err() != nil {
			o.failConnect(c, r.err)
			return
		}
		o.scheduleRetry(c, StateConnecting, r.err)
	case attemptReconnect:
		if r.err == nil {
			o.adopt(c, r.s)
			return
		}
		o.lastErr = r.err
		c.log.Info("wamp client: reconnect failed", "attempt", o.tries+1, "err", r.err)
		if c.backoff.MaxRetries > 0 && o.tries+1 >= c.backoff.MaxRetries {
			o.giveUp(c, r.err)
			return
		}
		o.scheduleRetry(c, StateReconnecting, r.err)
	case attemptSwitch:
		o.switches = o.switches[1:]
		if r.err == nil {
			o.sessCfg = a.sw.sc
			oldGone := o.adopt(c, r.s)
			reply := a.sw.reply
			c.hooks.push(func() { // after OnJoin, once the old session has ended
				go func() { <-oldGone; reply <- nil }()
			})
			o.endConnect(c, nil) // a Connect that waited for this Switch is done
		} else {
			a.sw.reply <- fmt.Errorf("client: switch: %w", r.err)
			switch {
			case o.connecting != nil:
				o.start(c, attemptConnect, nil)
			case o.phase == StateReconnecting && o.cur == nil:
				o.scheduleRetry(c, StateReconnecting, o.lastErr)
			}
		}
		o.nextSwitch(c)
	}
}

// scheduleRetry counts a failed attempt and schedules the next one,
// announcing it (state with Attempt, Delay and the failure).
func (o *owner) scheduleRetry(c *Client, st State, err error) {
	d := c.backoff.Delay(o.tries)
	o.tries++
	o.stopRetry()
	o.retry = time.NewTimer(d)
	o.retryC = o.retry.C
	c.publish(o.cur, StateEvent{State: st, Err: err, Attempt: o.tries + 1, Delay: d})
}

func (o *owner) stopRetry() {
	if o.retry != nil {
		o.retry.Stop()
		o.retry, o.retryC = nil, nil
	}
}

// failConnect ends the first connection in failure.
func (o *owner) failConnect(c *Client, last error) {
	cc := o.connecting
	if cc == nil {
		return
	}
	var err error
	switch ctxErr := cc.ctx.Err(); {
	case c.ctx.Err() != nil:
		err = ErrClosed
	case ctxErr != nil && last != nil && !errors.Is(last, ctxErr):
		err = fmt.Errorf("client: connect to %s: %w (last attempt: %w)", c.target(), ctxErr, last)
	case last != nil:
		err = fmt.Errorf("client: connect to %s: %w", c.target(), last)
	default:
		err = fmt.Errorf("client: connect to %s: %w", c.target(), ctxErr)
	}
	o.endConnect(c, err)
	if c.ctx.Err() == nil {
		c.publish(nil, StateEvent{State: StateIdle, Err: last})
	}
}

// endConnect answers the callers of Connect: a success after the join
// hooks ran (through the hook queue), a failure at once.
func (o *owner) endConnect(c *Client, err error) {
	cc := o.connecting
	if cc == nil {
		return
	}
	o.connecting = nil
	cc.cancel()
	answer := func() {
		for _, w := range cc.waiters {
			w <- err
		}
	}
	if err == nil {
		c.hooks.push(answer)
		return
	}
	answer()
}

// adopt makes s the current session: the old one, if any, is left (its
// registrations released, then GOODBYE), the desired state is restored on
// s, and the join is reported. The returned channel is closed once the old
// session has ended (its GOODBYE answered, or after 5 s).
func (o *owner) adopt(c *Client, s *session.Session) (oldGone <-chan struct{}) {
	old := o.cur
	o.cur = s
	wasStarted := o.phase != StateIdle && o.phase != StateConnecting || old != nil
	o.tries, o.lastErr = 0, nil
	o.stopRestore()
	if old != nil {
		info := old.Info()
		if f := c.cfg.OnLeave; f != nil {
			c.hooks.push(func() { f(info) })
		}
		rctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		// Unregister explicitly before GOODBYE, so that the router no
		// longer routes calls to the old session when the new one
		// registers (a router may drop them only after answering GOODBYE).
		c.release(rctx, old)
		cancel()
		o.closers.Add(1)
		gone := make(chan struct{})
		oldGone = gone
		go func() {
			defer o.closers.Done()
			defer close(gone)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			old.Close(ctx)
		}()
		if f := c.cfg.OnDisconnect; f != nil {
			c.hooks.push(func() { f(nil) })
		}
	}
	if wasStarted {
		c.k.reconnects.Add(1)
	}
	c.mu.Lock()
	c.sess = s // requests may use it while it is restored
	c.started = true
	c.mu.Unlock()
	rctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	pending := c.restore(rctx, s, true)
	cancel()
	if pending {
		o.restores = 0
		o.scheduleRestore(c)
	}
	c.publish(s, StateEvent{State: StateConnected})
	if f := c.cfg.OnJoin; f != nil {
		ctx := c.ctx
		c.hooks.push(func() { f(ctx, s) })
	}
	if oldGone == nil {
		oldGone = closedChan
	}
	return oldGone
}

// closedChan is a closed channel: adopt's answer when there was no old
// session.
var closedChan = func() <-chan struct{} { c := make(chan struct{}); close(c); return c }()

func (o *owner) scheduleRestore(c *Client) {
	o.restore = time.NewTimer(c.backoff.Delay(o.restores))
	o.restoreC = o.restore.C
	o.restores++
}

func (o *owner) stopRestore() {
	if o.restore != nil {
		o.restore.Stop()
		o.restore, o.restoreC = nil, nil
	}
}

// retryRestore restores again what failed on the current session; only
// the first failure of each item was reported, later ones are logged.
func (o *owner) retryRestore(c *Client) {
	s := o.cur
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	pending := c.restore(ctx, s, false)
	cancel()
	if pending && !ended(s) {
		o.scheduleRestore(c)
	}
}

// sessionEnded handles the end of the current session (not one the
// Client closed itself): report it, then reconnect or give up.
func (o *owner) sessionEnded(c *Client) {
	s := o.cur
	o.cur = nil
	o.stopRestore()
	err := s.Err()
	c.log.Info("wamp client: session ended", "err", err)
	c.publish(nil, StateEvent{State: StateDisconnected, Err: err})
	if f := c.cfg.OnDisconnect; f != nil {
		c.hooks.push(func() { f(err) })
	}
	if c.cfg.DisableReconnect {
		o.giveUp(c, errors.New("client: reconnection disabled"))
		return
	}
	o.tries, o.lastErr = 0, nil
	if len(o.switches) > 0 {
		o.phase = StateReconnecting
		o.nextSwitch(c)
		return
	}
	o.stopRetry()
	d := c.backoff.Delay(0)
	o.retry = time.NewTimer(d)
	o.retryC = o.retry.C
	c.publish(nil, StateEvent{State: StateReconnecting, Attempt: 1, Delay: d})
}

func (o *owner) giveUp(c *Client, err error) {
	o.stopRetry()
	c.publish(nil, StateEvent{State: StateGaveUp, Err: err})
}

// close handles Close: every attempt ends (Close cancelled their context),
// the current session is closed with GOODBYE within ctx, waiting callers
// fail with ErrClosed, and the owner stops.
func (o *owner) close(c *Client, ctx context.Context, reply chan<- error) {
	o.stopRetry()
	o.stopRestore()
	if o.attempt != nil {
		o.attempt.cancel()
		o.attempt = nil
	}
	o.endConnect(c, ErrClosed)
	for _, sw := range o.switches {
		sw.reply <- ErrClosed
	}
	o.switches = nil
	var err error
	if s := o.cur; s != nil {
		o.cur = nil
		info := s.Info()
		if f := c.cfg.OnLeave; f != nil {
			c.hooks.push(func() { f(info) })
		}
		if cerr := s.Close(ctx); cerr != nil && !errors.Is(cerr, session.ErrSessionClosed) && !errors.Is(cerr, session.ErrConnectionLost) {
			err = cerr
		}
		if f := c.cfg.OnDisconnect; f != nil {
			c.hooks.push(func() { f(nil) })
		}
	}
	c.publish(nil, StateEvent{State: StateClosed})
	o.exit = true
	reply <- err
}
