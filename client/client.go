package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Client is a reconnecting WAMP client. Create it with New, then Connect.
// Its methods are safe for concurrent use.
//
// Ownership: one goroutine, the owner (started by the first request), owns
// the session lifecycle and the desired state (the fields of o); Connect,
// Switch, Close, Register, Unregister, Subscribe and Unsubscribe are
// requests to it. It publishes the current session and state under mu for
// the requests that do not change them (Call, Publish, State, ...). Hooks
// run on the hook queue's goroutine. No lock is held while calling user
// code or doing I/O.
type Client struct {
	cfg     Config
	backoff Backoff
	log     *slog.Logger
	k       counters
	hooks   *hookQueue

	ctx    context.Context // ended by Close: aborts dials, joins, restores and waits
	cancel context.CancelFunc

	start     sync.Once
	reqs      chan func()   // requests, run by the owner; unbuffered
	ownerDone chan struct{} // closed when the owner goroutine returned
	done      chan struct{} // closed when Close finished: owner returned, hooks ran
	subsPub   atomic.Pointer[[]*Subscription]

	o owner // owned by the owner goroutine

	mu        sync.Mutex // guards the published state below
	sess      *session.Session
	state     State
	started   bool          // a session was joined once (ErrNotStarted before)
	closed    bool          // Close was called
	connected chan struct{} // closed at the next StateConnected, StateGaveUp or StateClosed
}

// New returns an unconnected Client; Register and Subscribe may be called
// before Connect.
func New(cfg Config) *Client {
	c := &Client{
		cfg:       cfg,
		backoff:   cfg.Backoff.withDefaults(),
		hooks:     newHookQueue(),
		reqs:      make(chan func()),
		ownerDone: make(chan struct{}),
		done:      make(chan struct{}),
		connected: make(chan struct{}),
	}
	if c.cfg.ConnectTimeout <= 0 {
		c.cfg.ConnectTimeout = DefaultConnectTimeout
	}
	c.log = cfg.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.o.sessCfg = cfg.Session
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

// Done is closed when Close has finished and the last hook has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	s := c.k.snapshot()
	if subs := c.subsPub.Load(); subs != nil {
		for _, sub := range *subs {
			if cur := sub.at.cur.Load(); cur != nil {
				s.EventsDropped += cur.Dropped()
			}
		}
	}
	return s
}

// publishSubs publishes the desired subscriptions for Stats. Owner only.
func (c *Client) publishSubs() {
	subs := append([]*Subscription(nil), c.o.subs...)
	c.subsPub.Store(&subs)
}

// WaitConnected blocks until a session is joined and restored, and returns
// it; it fails when ctx ends, the Client is closed, or it gave up.
func (c *Client) WaitConnected(ctx context.Context) (*session.Session, error) {
	for {
		c.mu.Lock()
		closed, s, state, w := c.closed, c.sess, c.state, c.connected
		c.mu.Unlock()
		switch {
		case closed:
			return nil, ErrClosed
		case s != nil && state == StateConnected:
			return s, nil
		case state == StateGaveUp:
			return nil, ErrGaveUp
		}
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
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
	case !c.started:
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
	return res, c.lostOn(s, err)
}

// Publish publishes on the current session (see session.Session.Publish).
func (c *Client) Publish(ctx context.Context, topic string, args protocol.List, kwargs protocol.Dict, opts ...session.Option) error {
	s, err := c.current()
	if err != nil {
		return err
	}
	return c.lostOn(s, s.Publish(ctx, topic, args, kwargs, opts...))
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
	r := &Registration{Procedure: procedure, opts: append([]session.Option(nil), opts...), handler: h}
	err := c.ask(ctx, func(ctx context.Context) error {
		return addDesired(c, &c.o.regs, r, func(s *session.Session) (*session.Registration, error) {
			return s.Register(ctx, procedure, h, opts...)
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Unregister removes r from the desired state and unregisters it from the
// current session. Removing a registration the router revoked, or one not
// registered on the current session, only updates the desired state.
func (c *Client) Unregister(ctx context.Context, r *Registration) error {
	if r == nil {
		return errors.New("client: unregister: nil registration")
	}
	return c.ask(ctx, func(ctx context.Context) error {
		return removeDesired(c, &c.o.regs, r, func(s *session.Session, cur *session.Registration) error {
			return s.Unregister(ctx, cur)
		})
	})
}

// Subscribe adds a topic to the desired state and subscribes on the current
// session, if any (see Register for the rules).
func (c *Client) Subscribe(ctx context.Context, topic string, h session.EventHandler, opts ...session.Option) (*Subscription, error) {
	if h == nil {
		return nil, errors.New("client: subscribe: nil handler")
	}
	sub := &Subscription{Topic: topic, opts: append([]session.Option(nil), opts...), handler: h}
	err := c.ask(ctx, func(ctx context.Context) error {
		return addDesired(c, &c.o.subs, sub, func(s *session.Session) (*session.Subscription, error) {
			return s.Subscribe(ctx, topic, h, opts...)
		})
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
	return c.ask(ctx, func(ctx context.Context) error {
		return removeDesired(c, &c.o.subs, sub, func(s *session.Session, cur *session.Subscription) error {
			return s.Unsubscribe(ctx, cur)
		})
	})
}

// Connect makes the first connection: it dials, joins and restores the
// desired state, retrying with backoff while the router is unreachable,
// for at most ConnectTimeout (or until ctx ends). It fails at once on
// what retrying cannot fix (see Permanent), such as a refused join
// (ABORT). Each retry is reported through OnState (StateConnecting with
// the failure and the delay). On success the Client keeps reconnecting
// in the background until Close. Connect returns after the OnJoin hook
// of the first session ran (from a hook, call it on a new goroutine, or
// it waits until ctx ends).
// Connect on a connected (or reconnecting) Client does nothing.
func (c *Client) Connect(ctx context.Context) error {
	reply := make(chan error, 1)
	if err := c.ask(ctx, func(context.Context) error {
		c.o.connect(c, ctx, reply)
		return nil
	}); err != nil {
		return err
	}
	return c.await(ctx, reply)
}

// Switch joins a new session with sc (for example other credentials) and,
// only once it is established, makes it current: the registrations and
// subscriptions are released on the old session, which is then closed
// with GOODBYE, and restored on the new one (failures reported through
// OnRestoreError); then OnJoin runs. Later reconnections use sc. If the
// new session cannot be joined (within ConnectTimeout and ctx), Switch
// returns the error and nothing changes: the old session keeps working
// with the old configuration. Switch on a Client never connected is its
// first connection. Like Connect, it returns after OnJoin ran, and once
// the old session has ended (its GOODBYE answered, or after 5 s), so that
// nothing the router keeps per session (a Nexus roster entry) is seen
// twice.
func (c *Client) Switch(ctx context.Context, sc session.Config) error {
	reply := make(chan error, 1)
	if err := c.ask(ctx, func(context.Context) error {
		c.o.switchTo(c, ctx, sc, reply)
		return nil
	}); err != nil {
		return err
	}
	return c.await(ctx, reply)
}

// await waits for the reply of a lifecycle request. The request itself
// watches ctx (a dial or join in progress ends with it); ctx also bounds
// the wait for the join hooks, which the reply of a success follows: a
// request made from a hook would otherwise wait for itself.
func (c *Client) await(ctx context.Context, reply <-chan error) error {
	select {
	case err := <-reply:
		return err
	case <-c.ownerDone:
		select {
		case err := <-reply:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		select {
		case err := <-reply:
			return err
		default:
			return fmt.Errorf("client: %w (the session may be joined; its join hooks, or the old session's GOODBYE after a Switch, had not finished)", ctx.Err())
		}
	}
}

// Close stops reconnecting, closes the current session with GOODBYE
// (bounded by ctx), waits for the Client's goroutines and runs the last
// hooks (OnLeave, OnDisconnect, OnState closed). It always returns; after
// ctx ends it returns ctx.Err() without waiting further. Close called from
// a hook waits for that hook to return: give it a ctx with a deadline, or
// call it on a new goroutine.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.waitDone(ctx, nil)
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel() // aborts attempts, restores and requests in progress
	reply := make(chan error, 1)
	c.startOwner()
	select {
	case c.reqs <- func() { c.o.close(c, ctx, reply) }:
	case <-c.ownerDone:
		reply <- nil
	}
	var err error
	select {
	case err = <-reply:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return c.waitDone(ctx, err)
}

// waitDone waits for the owner and the hooks to finish, bounded by ctx.
func (c *Client) waitDone(ctx context.Context, err error) error {
	select {
	case <-c.done:
		return err
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
}

// ask runs f on the owner goroutine and returns its error. f gets ctx
// ended by Close as well; the result of an f that ran is always returned,
// even after ctx ended, so that the caller knows whether it took effect.
func (c *Client) ask(ctx context.Context, f func(ctx context.Context) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	c.startOwner()
	rctx, stop := mergeCancel(ctx, c.ctx)
	defer stop()
	reply := make(chan error, 1)
	select {
	case c.reqs <- func() {
		if c.ctx.Err() != nil {
			reply <- ErrClosed
			return
		}
		reply <- f(rctx)
	}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClosed
	case <-c.ownerDone:
		return ErrClosed
	}
	err := <-reply
	if err != nil && c.ctx.Err() != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return ErrClosed
	}
	return err
}

// mergeCancel returns a context that ends with ctx, or when also ends.
func mergeCancel(ctx, also context.Context) (context.Context, context.CancelFunc) {
	m, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(also, cancel)
	return m, func() { stop(); cancel() }
}

// post hands f to the owner goroutine (called from a session's callback
// goroutine); it is dropped once the owner has returned.
func (c *Client) post(f func()) {
	c.startOwner()
	select {
	case c.reqs <- f:
	case <-c.ownerDone:
	}
}

func (c *Client) startOwner() {
	c.start.Do(func() { go c.run() })
}
