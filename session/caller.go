package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Call calls procedure and waits for its result. Progressive results go to
// the ReceiveProgress callback, in order, before Call returns. When ctx ends
// or the Timeout option expires, Call sends CANCEL (mode "killnowait" unless
// CancelMode says otherwise) and returns at once with an error wrapping
// ctx.Err() (ErrTimeout and context.DeadlineExceeded for Timeout); a late
// reply is ignored. An ERROR reply is returned as *Error.
func (s *Session) Call(ctx context.Context, procedure string, args protocol.List, kwargs protocol.Dict, opts ...Option) (*Result, error) {
	st, err := buildSettings(kindCall, opts)
	if err != nil {
		return nil, err
	}
	if procedure == "" {
		return nil, errors.New("session: call: empty procedure URI")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: call %s: %w", procedure, err)
	}
	if args, kwargs, err = s.passthruPayload(st, protocol.RoleDealer, "call", procedure, args, kwargs); err != nil {
		return nil, err
	}
	p := s.newCallPending()
	p.wantProgress = st.progress != nil
	ctx, cancel := withTimeout(ctx, st.timeout)
	defer cancel()
	// Options: nil (no options) is written as {}. p is not recycled when
	// the request could not be sent: shutdown may have it.
	id, err := s.sendRequest(ctx, protocol.CodeCall, p, func(id protocol.ID) protocol.Message {
		return &protocol.Call{Request: id, Options: st.wire, Procedure: procedure, Args: args, Kwargs: kwargs}
	})
	if err != nil {
		return nil, err
	}
	reply, err := s.await(ctx, id, p, st.progress, func() {
		s.sendCancel(id, st.cancelMode)
	}, "call", procedure)
	s.release(p)
	if err != nil {
		return nil, err
	}
	r := reply.(*protocol.Result)
	return &Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details}, nil
}

func (s *Session) sendCancel(id protocol.ID, mode string) {
	s.mu.Lock()
	ok := s.state == stateEstablished
	s.mu.Unlock()
	if !ok {
		return
	}
	opts := protocol.Dict{}
	if mode != "" {
		opts["mode"] = mode
	}
	s.sendNow(&protocol.Cancel{Request: id, Options: opts})
}

// Publish publishes an event to topic. Without Acknowledge(true) it returns
// once the message is queued for writing and the router never reports
// failures; with it, Publish waits for PUBLISHED or ERROR (returned as
// *Error).
func (s *Session) Publish(ctx context.Context, topic string, args protocol.List, kwargs protocol.Dict, opts ...Option) error {
	st, err := buildSettings(kindPublish, opts)
	if err != nil {
		return err
	}
	if topic == "" {
		return errors.New("session: publish: empty topic URI")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("session: publish %s: %w", topic, err)
	}
	if args, kwargs, err = s.passthruPayload(st, protocol.RoleBroker, "publish", topic, args, kwargs); err != nil {
		return err
	}
	var p *pendingReq
	if st.acknowledge {
		p = newPending(protocol.CodePublish)
	}
	sctx, cancel := withTimeout(ctx, st.timeout)
	id, err := s.sendRequest(sctx, protocol.CodePublish, p, func(id protocol.ID) protocol.Message {
		return &protocol.Publish{Request: id, Options: st.wire, Topic: topic, Args: args, Kwargs: kwargs}
	})
	cancel()
	if err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	return s.awaitSimple(ctx, id, p, st, "publish", topic)
}

// awaitSimple waits for the one reply of a non-call request and returns nil
// or the error (an *Error for ERROR replies).
func (s *Session) awaitSimple(ctx context.Context, id protocol.ID, p *pendingReq, st *reqSettings, op, uri string) error {
	ctx, cancel := withTimeout(ctx, st.timeout)
	defer cancel()
	_, err := s.await(ctx, id, p, nil, nil, op, uri)
	return err
}

// passthruPayload returns the payload of a request sent with the Passthru
// option (or args and kwargs unchanged without it), after checking that the
// router announced the feature for role.
// op and uri name the request in errors ("call", "com.x").
func (s *Session) passthruPayload(st *reqSettings, role, op, uri string, args protocol.List, kwargs protocol.Dict) (protocol.List, protocol.Dict, error) {
	p := st.passthru
	if p == nil {
		return args, kwargs, nil
	}
	if args != nil || kwargs != nil {
		return nil, nil, fmt.Errorf("session: %s %s: with the Passthru option the payload is the only argument: pass nil args and kwargs", op, uri)
	}
	if !p.Autobahn && !protocol.HasFeature(s.info.Details, role, protocol.FeaturePayloadPassthruMode) {
		return nil, nil, fmt.Errorf("session: %s %s: the router does not announce payload_passthru_mode: %w", op, uri, ErrFeatureNotSupported)
	}
	_, payload := p.Apply(nil)
	return payload, nil, nil
}
