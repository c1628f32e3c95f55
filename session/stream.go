package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Progressive call invocations (spec A/rpc_progressive_call_invocations.md):
// the caller streams a call's input as several CALLs with the same request
// id; the callee reads them as they come. Both ends need the feature and the
// router must announce it (package router does; crossbar does not).

// ErrCallDone is returned by [CallStream.Send] and [CallStream.CloseSend]
// once the call has ended (answered, failed, cancelled); [CallStream.Result]
// tells how it ended.
var ErrCallDone = errors.New("session: the call has ended")

// CallStream is a call whose input is streamed by the caller. Send sends
// input chunks, CloseSend the last one, and Result waits for the callee's
// answer; the ReceiveProgress option passes progressive results as they
// come, so input and output can flow at the same time. The context given to
// [Session.CallStream] governs the whole call: when it ends (or the Timeout
// option expires) the call is cancelled with CANCEL. Call Result in every
// case, after CloseSend or to give up early: it releases the call.
//
// Send and CloseSend must not be called concurrently with each other;
// Result may run on another goroutine.
type CallStream struct {
	s         *Session
	procedure string
	p         *pendingReq
	st        *reqSettings
	ctx       context.Context
	cancel    context.CancelFunc
	stop      func() bool // stops the CANCEL on ctx's end

	// mu guards id, sent and closed and is held while a chunk is written,
	// so chunks go out in order. Lock order: mu, then Session.seq, then
	// Session.mu.
	mu     sync.Mutex
	id     protocol.ID // the request id, taken with the first CALL
	sent   bool        // the first CALL is sent
	closed bool        // the final CALL is sent

	resultOnce sync.Once
	res        *Result
	err        error
}

// CallStream starts a call of procedure whose input is sent in chunks with
// [CallStream.Send] and [CallStream.CloseSend] (progressive call
// invocations). Nothing is sent before the first chunk. With the Passthru
// option every CALL carries its attributes and each chunk's args should be
// the one opaque payload, protocol.List{payload} (the option's own Payload
// is not sent). It fails with
// ErrFeatureNotSupported when the router did not announce
// progressive_call_invocations; a callee without the feature makes Result
// fail with the same error.
func (s *Session) CallStream(ctx context.Context, procedure string, opts ...Option) (*CallStream, error) {
	st, err := buildSettings(kindCall, opts)
	if err != nil {
		return nil, err
	}
	if procedure == "" {
		return nil, errors.New("session: call stream: empty procedure URI")
	}
	if !protocol.HasFeature(s.info.Details, protocol.RoleDealer, protocol.FeatureProgressiveCallInvocations) {
		return nil, fmt.Errorf("session: call stream %s: the router does not announce progressive_call_invocations: %w", procedure, ErrFeatureNotSupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: call stream %s: %w", procedure, err)
	}
	if _, _, err := s.passthruPayload(st, protocol.RoleDealer, "call stream", procedure, nil, nil); err != nil {
		return nil, err
	}
	p := newPending(protocol.CodeCall)
	p.wantProgress = st.progress != nil
	// The request id is taken when the first chunk is sent: ids must reach
	// the router in order (see Session.seq).
	cs := &CallStream{s: s, procedure: procedure, p: p, st: st}
	cs.ctx, cs.cancel = withTimeout(ctx, st.timeout)
	cs.stop = context.AfterFunc(cs.ctx, cs.abandon)
	return cs, nil
}

// abandon gives the call up when its context ends: CANCEL, and Result
// returns the context's error.
func (cs *CallStream) abandon() {
	s := cs.s
	cs.mu.Lock() // lock order: CallStream.mu, then Session.mu (as in send)
	sent, id := cs.sent, cs.id
	if sent {
		s.mu.Lock()
		if s.pending == nil || s.pending[id] != cs.p {
			s.mu.Unlock()
			cs.mu.Unlock()
			return // answered, or the session ended
		}
		s.abandonLocked(id, protocol.CodeCall) // a late reply may still come
		s.mu.Unlock()
	}
	// Not sent: no id was taken and nothing is pending; no reply will come.
	cs.mu.Unlock()
	if sent {
		s.sendCancel(id, cs.st.cancelMode)
	}
	cs.p.push(replyItem{err: abandonError(cs.ctx, "call", cs.procedure)})
}

// Send sends one chunk of input. It returns ErrCallDone (wrapped) when the
// call has already ended, for example because the callee answered early.
func (cs *CallStream) Send(args protocol.List, kwargs protocol.Dict) error {
	return cs.send(args, kwargs, true)
}

// CloseSend sends the last chunk of input; afterwards Result waits for the
// answer.
func (cs *CallStream) CloseSend(args protocol.List, kwargs protocol.Dict) error {
	return cs.send(args, kwargs, false)
}

func (cs *CallStream) send(args protocol.List, kwargs protocol.Dict, progress bool) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return fmt.Errorf("session: call stream %s: CloseSend was called", cs.procedure)
	}
	if err := cs.ctx.Err(); err != nil {
		return abandonError(cs.ctx, "call", cs.procedure)
	}
	s := cs.s
	var opts protocol.Dict
	if !cs.sent {
		opts = cloneDict(wireOptions(cs.st.wire)) // the first CALL's options hold for the whole call
	} else {
		opts = protocol.Dict{}
	}
	if progress {
		opts["progress"] = true
	}
	if !cs.sent {
		// The first CALL is a new request; the next ones continue it
		// with its id.
		id, err := s.sendRequest(cs.ctx, protocol.CodeCall, cs.p, func(id protocol.ID) protocol.Message {
			return &protocol.Call{Request: id, Options: opts, Procedure: cs.procedure, Args: args, Kwargs: kwargs}
		})
		if err != nil {
			return err
		}
		cs.id, cs.sent, cs.closed = id, true, !progress
		return nil
	}
	s.mu.Lock()
	live := s.pending != nil && s.pending[cs.id] == cs.p
	s.mu.Unlock()
	if !live {
		return fmt.Errorf("session: call stream %s: %w", cs.procedure, ErrCallDone)
	}
	if err := s.send(cs.ctx, &protocol.Call{Request: cs.id, Options: opts, Procedure: cs.procedure, Args: args, Kwargs: kwargs}); err != nil {
		return err
	}
	cs.closed = !progress
	return nil
}

// Result waits for the callee's final answer and returns it (an ERROR reply
// as *Error). Progressive results go to the ReceiveProgress callback first,
// on this goroutine. Called before CloseSend, it ends the call: the call is
// cancelled unless it has already been answered. Calling it again returns
// the same result.
func (cs *CallStream) Result() (*Result, error) {
	cs.resultOnce.Do(func() {
		cs.mu.Lock()
		open, id := !cs.closed, cs.id
		cs.mu.Unlock()
		if open {
			cs.cancel() // give up: CANCEL (if anything was sent) via abandon
		}
		defer cs.cancel()
		defer cs.stop()
		reply, err := cs.s.await(context.Background(), id, cs.p, cs.st.progress, nil, "call", cs.procedure)
		if err != nil {
			cs.err = err
			return
		}
		r := reply.(*protocol.Result)
		cs.res = &Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details}
	})
	return cs.res, cs.err
}

// Chunk is one piece of a streamed call's input, as the callee receives it
// from [Invocation.Recv].
type Chunk struct {
	Args    protocol.List
	Kwargs  protocol.Dict
	Details protocol.Dict
}

// Arg returns the i-th positional argument, or nil if there is none.
func (c *Chunk) Arg(i int) any {
	if c == nil || i < 0 || i >= len(c.Args) {
		return nil
	}
	return c.Args[i]
}

// Streaming reports whether the caller streams this invocation's input
// (progressive call invocation): Args and Kwargs hold the first chunk and
// Recv returns the others.
func (inv *Invocation) Streaming() bool {
	return inv.inv != nil && inv.inv.input != nil
}

// Recv returns the next chunk of a streamed invocation's input, in order,
// and io.EOF after the last one (at once for an invocation that is not
// streamed). It fails when ctx ends or the invocation is interrupted (the
// caller cancelled or left).
func (inv *Invocation) Recv(ctx context.Context) (*Chunk, error) {
	if !inv.Streaming() {
		return nil, io.EOF
	}
	in := inv.inv
	select {
	case c, ok := <-in.input:
		if !ok {
			return nil, io.EOF
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-in.ctx.Done():
		// Chunks that arrived before the interrupt are still delivered.
		select {
		case c, ok := <-in.input:
			if ok {
				return c, nil
			}
			return nil, io.EOF
		default:
		}
		return nil, fmt.Errorf("session: recv: invocation interrupted: %w", context.Cause(&in.ctx))
	}
}
