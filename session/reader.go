package session

import (
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// readLoop is the only goroutine that calls peer.Recv. It never runs user
// code: replies go to pending requests, invocations to the worker queue,
// events to per-subscription queues.
func (s *Session) readLoop() {
	np, _ := s.peer.(transport.NetPeer)
	for {
		m, err := s.peer.Recv(s.ctx)
		if err != nil {
			s.mu.Lock()
			st := s.state
			s.mu.Unlock()
			if errors.Is(err, protocol.ErrInvalidMessage) && !errors.Is(err, transport.ErrClosed) {
				// Intact frame that does not decode; the connection is open.
				if st == stateClosing {
					continue // only the GOODBYE reply matters now
				}
				s.violation(fmt.Errorf("%w: %w", ErrProtocolViolation, err))
				return
			}
			if st == stateClosing {
				s.shutdown(ErrSessionClosed)
			} else {
				s.shutdown(fmt.Errorf("%w: %w", ErrConnectionLost, err))
			}
			return
		}
		if p := s.probe; p != nil {
			s.lastRecv.Store(mono())
			if p.awaiting.Load() && p.awaiting.CompareAndSwap(true, false) {
				p.answered()
			}
		}
		if np != nil {
			// What the goroutines this message wakes (a caller, a worker)
			// send goes out with the answers to the other messages already
			// received, in one write.
			np.HoldWrites()
		}
		if !s.dispatch(m) {
			return
		}
	}
}

// dispatch handles one message; it returns false when the reader must stop.
func (s *Session) dispatch(m protocol.Message) bool {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch st {
	case stateClosed:
		return false
	case stateClosing:
		// After our GOODBYE only the GOODBYE reply (or an ABORT) matters;
		// anything else, such as a late ERROR, is ignored.
		switch m := m.(type) {
		case *protocol.Goodbye:
			s.shutdown(ErrSessionClosed)
			return false
		case *protocol.Abort:
			s.shutdown(newAbortError(m))
			return false
		}
		s.log.Debug("message ignored while closing", "message", m.Code())
		return true
	}

	var err error
	switch m := m.(type) {
	case *protocol.Result:
		err = s.onResult(m)
	case *protocol.Error:
		err = s.onError(m)
	case *protocol.Invocation:
		err = s.onInvocation(m)
	case *protocol.Interrupt:
		err = s.onInterrupt(m)
	case *protocol.Event:
		err = s.onEvent(m)
	case *protocol.Published:
		err = s.onReply(m.Request, protocol.CodePublished, m)
	case *protocol.Registered:
		err = s.onReply(m.Request, protocol.CodeRegistered, m)
	case *protocol.Subscribed:
		err = s.onReply(m.Request, protocol.CodeSubscribed, m)
	case *protocol.Unregistered:
		if m.Request == 0 {
			err = s.onRevokedRegistration(m.Details)
		} else {
			err = s.onReply(m.Request, protocol.CodeUnregistered, m)
		}
	case *protocol.Unsubscribed:
		if m.Request == 0 {
			err = s.onRevokedSubscription(m.Details)
		} else {
			err = s.onReply(m.Request, protocol.CodeUnsubscribed, m)
		}
	case *protocol.Goodbye:
		s.sendNow(&protocol.Goodbye{Details: protocol.Dict{}, Reason: URIGoodbyeAndOut})
		reason := &Error{URI: m.Reason, Details: m.Details}
		if msg, ok := m.Details["message"].(string); ok && msg != "" {
			reason.Args = protocol.List{msg}
		}
		s.shutdown(fmt.Errorf("%w by the router: %w", ErrSessionClosed, reason))
		return false
	case *protocol.Abort:
		s.shutdown(newAbortError(m))
		return false
	default:
		err = newProtocolError("unexpected %s in an established session", m.Code())
	}
	if err != nil {
		s.violation(err)
		return false
	}
	return true
}

// violation aborts the session after a protocol violation by the router.
func (s *Session) violation(err error) {
	msg := err.Error()
	s.sendNow(&protocol.Abort{Details: protocol.Dict{"message": msg}, Reason: URIProtocolViolation})
	s.shutdown(err)
}

func validID(id protocol.ID) bool { return id >= 1 && id <= protocol.MaxID }

// replyKinds maps a reply code to the request code it answers.
var replyKinds = map[protocol.Code]protocol.Code{
	protocol.CodeResult:       protocol.CodeCall,
	protocol.CodePublished:    protocol.CodePublish,
	protocol.CodeRegistered:   protocol.CodeRegister,
	protocol.CodeSubscribed:   protocol.CodeSubscribe,
	protocol.CodeUnregistered: protocol.CodeUnregister,
	protocol.CodeUnsubscribed: protocol.CodeUnsubscribe,
}

// takeReplyLocked finds the pending request answered by a reply of the
// given code (or ERROR for request kind want). It returns the request (nil
// when the reply is to be ignored) or a protocol violation. final means the
// request is complete and removed from the table.
func (s *Session) takeReplyLocked(id protocol.ID, code, want protocol.Code, final bool) (*pendingReq, error) {
	if !validID(id) {
		return nil, newProtocolError("%s with invalid request id %d", code, id)
	}
	if s.state == stateClosed {
		return nil, nil // ended concurrently (Close timed out): nothing to deliver
	}
	p := s.pending[id]
	if p == nil {
		if kind, ok := s.abandoned[id]; ok {
			if kind != want {
				return nil, newProtocolError("%s for request %d, which was a %s", code, id, kind)
			}
			if final {
				delete(s.abandoned, id) // its slot in abOrder expires later
			}
			return nil, nil
		}
		if s.issuedLocked(id) {
			// A late or repeated reply for a request that is complete.
			s.log.Debug("late reply ignored", "message", code, "request", id)
			return nil, nil
		}
		return nil, newProtocolError("%s for unknown request %d", code, id)
	}
	if p.kind != want {
		return nil, newProtocolError("%s for request %d, which is a %s", code, id, p.kind)
	}
	if final {
		delete(s.pending, id)
	}
	return p, nil
}

func (s *Session) onResult(m *protocol.Result) error {
	progress := isProgress(m.Details)
	s.mu.Lock()
	p, err := s.takeReplyLocked(m.Request, protocol.CodeResult, protocol.CodeCall, !progress)
	s.mu.Unlock()
	if err != nil || p == nil {
		return err
	}
	if progress && !p.wantProgress {
		s.log.Debug("unrequested progressive result ignored", "request", m.Request)
		return nil
	}
	p.push(replyItem{msg: m})
	return nil
}

func (s *Session) onError(m *protocol.Error) error {
	switch m.RequestType {
	case protocol.CodeCall, protocol.CodePublish, protocol.CodeRegister, protocol.CodeUnregister,
		protocol.CodeSubscribe, protocol.CodeUnsubscribe:
	default:
		return newProtocolError("ERROR with invalid request type %d", int(m.RequestType))
	}
	s.mu.Lock()
	p, err := s.takeReplyLocked(m.Request, protocol.CodeError, m.RequestType, true)
	s.mu.Unlock()
	if err != nil || p == nil {
		return err
	}
	p.push(replyItem{err: errorFromMessage(m)})
	return nil
}

// onReply handles PUBLISHED, REGISTERED, SUBSCRIBED, UNREGISTERED and
// UNSUBSCRIBED (not revocations). Registrations and subscriptions are
// installed here, before the next message is read, so an INVOCATION or
// EVENT right after the reply finds them.
func (s *Session) onReply(id protocol.ID, code protocol.Code, m protocol.Message) error {
	want := replyKinds[code]
	s.mu.Lock()
	abandonedKind, wasAbandoned := s.abandoned[id]
	p, err := s.takeReplyLocked(id, code, want, true)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	switch m := m.(type) {
	case *protocol.Registered:
		if !validID(m.Registration) {
			s.mu.Unlock()
			return newProtocolError("REGISTERED with invalid registration id %d", m.Registration)
		}
		switch {
		case p != nil:
			if old := s.regs[m.Registration]; old != nil && old != p.reg {
				s.log.Warn("router reused a registration id; replacing the older registration", "registration", m.Registration, "procedure", old.Procedure)
			}
			p.reg.ID = m.Registration
			s.regs[m.Registration] = p.reg
		case wasAbandoned && abandonedKind == protocol.CodeRegister && s.regs[m.Registration] == nil:
			// Register gave up before the reply: undo the registration.
			reg := m.Registration
			s.goLocked(func() {
				s.sendUnanswered(protocol.CodeUnregister, func(id protocol.ID) protocol.Message {
					if s.regs[reg] != nil {
						return nil // registered again meanwhile
					}
					return &protocol.Unregister{Request: id, Registration: reg}
				})
			})
		}
	case *protocol.Subscribed:
		if !validID(m.Subscription) {
			s.mu.Unlock()
			return newProtocolError("SUBSCRIBED with invalid subscription id %d", m.Subscription)
		}
		switch {
		case p != nil:
			sub := p.sub
			sub.ID = m.Subscription
			s.subs[m.Subscription] = append(s.subs[m.Subscription], sub)
			s.goLocked(func() { s.runSubscription(sub) })
		case wasAbandoned && abandonedKind == protocol.CodeSubscribe && len(s.subs[m.Subscription]) == 0:
			sub := m.Subscription
			s.goLocked(func() {
				s.sendUnanswered(protocol.CodeUnsubscribe, func(id protocol.ID) protocol.Message {
					if len(s.subs[sub]) > 0 || s.pendingKindLocked(protocol.CodeSubscribe) {
						// Subscribed again meanwhile, or maybe about to be:
						// the router gives a topic the same subscription id,
						// which a stray subscription keeps (its events are
						// dropped).
						return nil
					}
					return &protocol.Unsubscribe{Request: id, Subscription: sub}
				})
			})
		}
	}
	s.mu.Unlock()
	if p != nil {
		p.push(replyItem{msg: m})
	}
	return nil
}

func revokedID(d protocol.Dict, key string) (protocol.ID, bool) {
	switch v := d[key].(type) {
	case int64:
		if v > 0 {
			return protocol.ID(v), true
		}
	case uint64:
		return v, true
	case int:
		if v > 0 {
			return protocol.ID(v), true
		}
	case float64:
		if v > 0 && v == float64(uint64(v)) {
			return protocol.ID(v), true
		}
	}
	return 0, false
}

func (s *Session) onRevokedRegistration(d protocol.Dict) error {
	id, ok := revokedID(d, "registration")
	if !ok || !validID(id) {
		return newProtocolError("UNREGISTERED revocation without a valid registration id")
	}
	reason, _ := d["reason"].(string)
	s.mu.Lock()
	reg := s.regs[id]
	delete(s.regs, id)
	if reg != nil && s.cfg.OnUnregistered != nil {
		cb := s.cfg.OnUnregistered
		s.goLocked(func() { cb(reg, reason) })
	}
	s.mu.Unlock()
	s.log.Info("registration revoked by the router", "registration", id, "reason", reason)
	return nil
}

func (s *Session) onRevokedSubscription(d protocol.Dict) error {
	id, ok := revokedID(d, "subscription")
	if !ok || !validID(id) {
		return newProtocolError("UNSUBSCRIBED revocation without a valid subscription id")
	}
	reason, _ := d["reason"].(string)
	s.mu.Lock()
	group := s.subs[id]
	delete(s.subs, id)
	for _, sub := range group {
		s.stopSubLocked(sub)
		if s.cfg.OnUnsubscribed != nil {
			cb, sub := s.cfg.OnUnsubscribed, sub
			s.goLocked(func() { cb(sub, reason) })
		}
	}
	s.mu.Unlock()
	s.log.Info("subscription revoked by the router", "subscription", id, "reason", reason)
	return nil
}
