package session

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Register registers procedure with handler h and waits for REGISTERED.
// Invocations may arrive as soon as the router has replied; they run on
// the session's worker goroutines (see the package doc). An ERROR reply is
// returned as *Error (for example ErrProcedureAlreadyExists).
func (s *Session) Register(ctx context.Context, procedure string, h Handler, opts ...Option) (*Registration, error) {
	st, err := buildSettings(kindRegister, opts)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("session: register: nil handler")
	}
	if procedure == "" {
		return nil, errors.New("session: register: empty procedure URI")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: register %s: %w", procedure, err)
	}
	wire := wireOptions(st.wire)
	p := newPending(protocol.CodeRegister)
	p.reg = &Registration{Procedure: procedure, Options: cloneDict(wire), handler: h}
	id, err := s.sendRequest(ctx, protocol.CodeRegister, p, func(id protocol.ID) protocol.Message {
		return &protocol.Register{Request: id, Options: wire, Procedure: procedure}
	})
	if err != nil {
		return nil, err
	}
	if err := s.awaitSimple(ctx, id, p, st, "register", procedure); err != nil {
		return nil, err
	}
	return p.reg, nil
}

// Unregister removes a registration. Locally it ends at once (later
// invocations for it are answered with wamp.error.no_such_registration);
// then Unregister waits for the router's UNREGISTERED. A registration that is
// not active (already unregistered or revoked) gives ErrNoSuchRegistration.
func (s *Session) Unregister(ctx context.Context, r *Registration) error {
	if r == nil {
		return errors.New("session: unregister: nil registration")
	}
	p := newPending(protocol.CodeUnregister)
	if err := s.lockSeq(ctx, protocol.CodeUnregister); err != nil {
		return err
	}
	s.mu.Lock()
	if s.state == stateEstablished && s.regs[r.ID] != r {
		s.mu.Unlock()
		s.unlockSeq()
		return &Error{URI: URINoSuchRegistration, Args: protocol.List{"registration " + r.Procedure + " is not active"}}
	}
	id, err := s.newRequestLocked(p)
	if err != nil {
		s.mu.Unlock()
		s.unlockSeq()
		return err
	}
	delete(s.regs, r.ID)
	s.mu.Unlock()
	err = s.send(ctx, &protocol.Unregister{Request: id, Registration: r.ID})
	if err != nil {
		s.giveBack(id, p)
	}
	s.unlockSeq()
	if err != nil {
		return err
	}
	return s.awaitSimple(ctx, id, p, &reqSettings{}, "unregister", r.Procedure)
}

// invocation is the session's state for one INVOCATION.
type invocation struct {
	s               *Session
	pub             Invocation // what the handler sees
	handler         Handler
	ctx             invCtx // the handler's context; not a child of s.ctx: shutdown cancels what is in s.invs
	receiveProgress bool

	// input carries a streamed invocation's further chunks (nil when the
	// input is not streamed); the reader sends on it and closes it after
	// the last chunk, under Session.mu.
	input chan *Chunk

	// guarded by Session.mu
	interrupted bool
	mode        string
	streaming   bool // more input chunks are expected
	overflow    bool // the input queue overflowed: the invocation failed

	// sendMu orders this invocation's progressive and final replies;
	// finished is guarded by it.
	sendMu   sync.Mutex
	finished bool
}

func (s *Session) onInvocation(m *protocol.Invocation) error {
	if !validID(m.Request) {
		return newProtocolError("INVOCATION with invalid request id %d", m.Request)
	}
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return nil
	}
	reg := s.regs[m.Registration]
	if reg == nil {
		s.mu.Unlock()
		s.log.Debug("INVOCATION for unknown registration", "registration", m.Registration)
		s.sendNow(&protocol.Error{RequestType: protocol.CodeInvocation, Request: m.Request, Details: protocol.Dict{},
			URI: URINoSuchRegistration, Args: protocol.List{fmt.Sprintf("no registration %d in this session", m.Registration)}})
		return nil
	}
	if cur := s.invs[m.Request]; cur != nil {
		err := s.continueInvocationLocked(cur, m)
		s.mu.Unlock()
		return err
	}
	if s.endedStreams.Has(m.Request) {
		s.mu.Unlock()
		return nil // late input of a streamed invocation that is over: dropped
	}
	procedure := reg.Procedure
	if p, ok := m.Details["procedure"].(string); ok && p != "" {
		procedure = p
	}
	rp, _ := m.Details["receive_progress"].(bool)
	inv := &invocation{
		s:               s,
		handler:         reg.handler,
		receiveProgress: rp,
	}
	if isProgress(m.Details) {
		inv.input = make(chan *Chunk, s.cfg.EventQueueSize)
		inv.streaming = true
	}
	inv.pub = Invocation{
		Procedure:    procedure,
		Args:         m.Args,
		Kwargs:       m.Kwargs,
		Details:      m.Details,
		Registration: m.Registration,
		Request:      m.Request,
		inv:          inv,
	}
	select {
	case s.invQueue <- inv:
	default:
		s.mu.Unlock()
		inv.ctx.cancel()
		s.log.Warn("invocation queue full; refusing invocation", "procedure", procedure)
		s.sendNow(&protocol.Error{RequestType: protocol.CodeInvocation, Request: m.Request, Details: protocol.Dict{},
			URI: s.cfg.ErrorURI, Args: protocol.List{"callee overloaded"}})
		return nil
	}
	s.invs[m.Request] = inv
	// Start a worker unless enough are idle (a spare one is harmless).
	if s.workers < s.cfg.InvocationConcurrency && int64(len(s.invQueue)) > s.idleWorkers.Load() {
		if s.goLocked(s.worker) {
			s.workers++
		}
	}
	s.mu.Unlock()
	return nil
}

// continueInvocationLocked queues one more input chunk of a streamed
// invocation (an INVOCATION repeating a request id). s.mu must be held.
func (s *Session) continueInvocationLocked(inv *invocation, m *protocol.Invocation) error {
	if inv.overflow {
		return nil // the invocation failed; its remaining input is dropped
	}
	if !inv.streaming {
		if inv.input != nil {
			return newProtocolError("INVOCATION continuing request %d after its last input chunk", m.Request)
		}
		return newProtocolError("INVOCATION with request id %d, which is already being served", m.Request)
	}
	select {
	case inv.input <- &Chunk{Args: m.Args, Kwargs: m.Kwargs, Details: m.Details}:
	default:
		inv.overflow = true
		inv.streaming = false
		close(inv.input)
		s.endedStreams.Add(m.Request)
		s.log.Warn("streamed invocation input queue full; failing the invocation", "procedure", inv.pub.Procedure, "limit", s.cfg.EventQueueSize)
		inv.ctx.cancel()
		return nil
	}
	if !isProgress(m.Details) {
		inv.streaming = false
		close(inv.input)
	}
	return nil
}

func (s *Session) onInterrupt(m *protocol.Interrupt) error {
	if !validID(m.Request) {
		return newProtocolError("INTERRUPT with invalid request id %d", m.Request)
	}
	mode, _ := m.Options["mode"].(string)
	s.mu.Lock()
	inv := s.invs[m.Request]
	if inv != nil {
		inv.interrupted = true
		inv.mode = mode
	}
	s.mu.Unlock()
	if inv == nil {
		// The invocation may just have finished: ignore (protocol notes §4.8).
		s.log.Debug("INTERRUPT for unknown invocation ignored", "request", m.Request)
		return nil
	}
	inv.ctx.cancel()
	return nil
}

// worker runs queued invocations until the session ends. Workers are
// started on demand up to Config.InvocationConcurrency and then stay, parked
// on the queue, so a busy callee does not pay for a new goroutine (and its
// stack growth) per invocation.
// Shutdown closes the queue; a worker finishing an invocation takes the
// next one without sleeping when one is queued.
func (s *Session) worker() {
	for {
		s.idleWorkers.Add(1)
		inv, ok := <-s.invQueue
		s.idleWorkers.Add(-1)
		if !ok {
			return
		}
		s.runInvocation(inv)
	}
}

func (s *Session) runInvocation(inv *invocation) {
	if s.ctx.Err() != nil {
		inv.ctx.cancel()
		return
	}
	var (
		res      *Result
		err      error
		panicked bool
	)
	if inv.ctx.Err() == nil {
		res, err, panicked = s.callHandler(inv)
	} else {
		err = inv.ctx.Err() // interrupted while queued
	}
	inv.finish(res, err, panicked)
}

func (s *Session) callHandler(inv *invocation) (res *Result, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "procedure", inv.pub.Procedure, "panic", r, "stack", string(debug.Stack()))
			res, err, panicked = nil, nil, true
		}
	}()
	res, err = inv.handler(&inv.ctx, &inv.pub)
	return res, err, false
}

// finish sends the final reply of an invocation, unless the session has
// ended or the caller cancelled it with killnowait.
func (inv *invocation) finish(res *Result, err error, panicked bool) {
	s := inv.s
	s.mu.Lock()
	delete(s.invs, inv.pub.Request)
	if inv.streaming {
		// The caller may still be sending input: drop it when it comes.
		inv.streaming = false
		close(inv.input)
		s.endedStreams.Add(inv.pub.Request)
	}
	interrupted, mode, st, overflow := inv.interrupted, inv.mode, s.state, inv.overflow
	s.mu.Unlock()
	inv.ctx.cancel()

	inv.sendMu.Lock()
	defer inv.sendMu.Unlock()
	inv.finished = true
	if st != stateEstablished || (interrupted && mode == "killnowait") {
		return
	}
	var msg protocol.Message
	req := inv.pub.Request
	switch {
	case res != nil && err == nil && !panicked && !overflow:
		// Options nil (written as {}) unless passthru keys are copied.
		msg = &protocol.Yield{Request: req, Options: protocol.CopyPassthru(nil, res.Details), Args: res.Args, Kwargs: res.Kwargs}
	case overflow:
		msg = &protocol.Error{RequestType: protocol.CodeInvocation, Request: req, Details: protocol.Dict{},
			URI: s.cfg.ErrorURI, Args: protocol.List{fmt.Sprintf("more than %d input chunks waiting for the handler", s.cfg.EventQueueSize)}}
	case panicked:
		msg = &protocol.Error{RequestType: protocol.CodeInvocation, Request: req, Details: protocol.Dict{},
			URI: s.cfg.ErrorURI, Args: protocol.List{"handler panicked"}}
	case err != nil && asError(err) != nil:
		werr := asError(err)
		uri := werr.URI
		if uri == "" {
			uri = s.cfg.ErrorURI
		}
		msg = &protocol.Error{RequestType: protocol.CodeInvocation, Request: req, Details: protocol.Dict{},
			URI: uri, Args: werr.Args, Kwargs: werr.Kwargs}
	case err != nil && interrupted && errors.Is(err, context.Canceled):
		msg = &protocol.Error{RequestType: protocol.CodeInvocation, Request: req, Details: protocol.Dict{},
			URI: URICanceled, Args: protocol.List{"invocation interrupted"}}
	case err != nil:
		msg = &protocol.Error{RequestType: protocol.CodeInvocation, Request: req, Details: protocol.Dict{},
			URI: s.cfg.ErrorURI, Args: protocol.List{err.Error()}}
	default: // no result
		msg = &protocol.Yield{Request: req}
	}
	if err := s.peer.Send(s.ctx, msg); err != nil {
		s.log.Debug("sending invocation reply failed", "request", req, "error", err)
	}
}

// asError returns the *Error in err's chain, or nil. (A function of its
// own: the variable errors.As fills escapes, and would be allocated for
// every invocation.)
func asError(err error) *Error {
	var werr *Error
	if errors.As(err, &werr) {
		return werr
	}
	return nil
}

func (inv *invocation) progress(args protocol.List, kwargs protocol.Dict) error {
	if !inv.receiveProgress {
		return errors.New("session: progress: the caller did not ask for progressive results")
	}
	s := inv.s
	inv.sendMu.Lock()
	defer inv.sendMu.Unlock()
	if inv.finished {
		return errors.New("session: progress: the invocation has already been answered")
	}
	s.mu.Lock()
	interrupted, st, err := inv.interrupted, s.state, s.err
	s.mu.Unlock()
	if st != stateEstablished {
		if err == nil {
			err = ErrSessionClosed
		}
		return err
	}
	if interrupted {
		return fmt.Errorf("session: progress: invocation interrupted: %w", context.Canceled)
	}
	msg := &protocol.Yield{Request: inv.pub.Request, Options: protocol.Dict{"progress": true}, Args: args, Kwargs: kwargs}
	if err := s.peer.Send(s.ctx, msg); err != nil {
		return fmt.Errorf("session: progress: %w", err)
	}
	return nil
}

// invCtx is an invocation's context, cancelled by INTERRUPT, by the end of
// the session, or once the handler has returned: context.WithCancel
// without its allocations (its Done channel is made only when asked for).
// A context derived from it is cancelled through AfterFunc, as the context
// package does for a parent that has that method, without a goroutine.
type invCtx struct {
	mu     sync.Mutex
	done   chan struct{}
	err    error
	afters []*func() // run by cancel
}

func (c *invCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *invCtx) Value(any) any               { return nil }

func (c *invCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *invCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *invCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, f := range afters {
		(*f)()
	}
}

// AfterFunc arranges for f to run once c is cancelled (at once, on a
// goroutine of its own, if it is already) and returns a function that
// stops that, reporting whether it did.
func (c *invCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	p := &f
	c.afters = append(c.afters, p)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.afters, p)
		if i < 0 {
			return false
		}
		c.afters = slices.Delete(c.afters, i, i+1)
		return true
	}
}
