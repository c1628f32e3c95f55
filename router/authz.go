package router

import (
	"context"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Authorization of pattern registrations and subscriptions: why the
// router decides both at REGISTER/SUBSCRIBE time and at dispatch time is
// in the package documentation ("Authorization and patterns"); who is
// asked what, and on which goroutine, in the Authorizer documentation.

// PatternAuthorizer is an Authorizer that understands match policies. The
// router asks AuthorizePattern, instead of Authorize, about every REGISTER
// and SUBSCRIBE whose match policy is prefix or wildcard.
type PatternAuthorizer interface {
	Authorizer
	// AuthorizePattern decides whether the session may register (action
	// ActionRegister) or subscribe to (ActionSubscribe) pattern, whose
	// match policy is protocol.MatchPrefix (a string prefix, as the WAMP
	// specification defines it: com.a.b matches com.a.b, com.a.bc and
	// com.a.b.c) or protocol.MatchWildcard (each empty component matches
	// exactly one component). It returns an error to refuse, as Authorize
	// does. On success, whole reports that every URI the pattern matches
	// is allowed, so the router delivers through the pattern without
	// asking again; when whole is false the router asks Authorize about
	// each concrete URI before delivering a call or event through it.
	AuthorizePattern(ctx context.Context, s *SessionInfo, action Action, pattern, match string) (whole bool, err error)
}

// authorizePattern authorizes a REGISTER or SUBSCRIBE of uri with the
// given match policy. each reports that deliveries through it must be
// checked one URI at a time (see mayDeliver).
func (rl *Realm) authorizePattern(s *sess, action Action, uri, match string) (each bool, e *callError) {
	az := rl.cfg.Authorizer
	if az == nil {
		return false, nil
	}
	if match == protocol.MatchExact {
		return false, rl.authorize(s, action, uri)
	}
	pa, ok := az.(PatternAuthorizer)
	if !ok {
		return true, rl.authorize(s, action, uri)
	}
	whole, err := pa.AuthorizePattern(s.ctx, s.info, action, uri, match)
	if err != nil {
		return false, rl.authorizeError(s.info, action, uri, err)
	}
	return !whole, nil
}

// mayDeliver reports whether the Authorizer allows s to register
// (ActionRegister) or subscribe to (ActionSubscribe) the concrete uri: the
// check made before a call or event reaches s through a pattern that was
// not allowed whole. It runs user code: rl.mu must not be held.
func (rl *Realm) mayDeliver(s *sess, action Action, uri string) bool {
	az := rl.cfg.Authorizer
	if az == nil {
		return true
	}
	err := az.Authorize(s.ctx, s.info, action, uri)
	if err == nil {
		return true
	}
	if _, ok := asCallError(err); !ok && s.ctx.Err() == nil {
		rl.log.Warn("authorizer failed; delivery withheld", "session", s.info.ID, "action", string(action), "uri", logsafe.String(uri), "err", err)
	}
	return false
}

// maxRouteAttempts bounds how often a call looks its registrations up
// again because callees that need a per-URI check appeared meanwhile;
// after that such callees count as refused.
const maxRouteAttempts = 4

// lockRoute takes rl.mu and finds the registration and callee a call to
// uri goes to (nil when none may take it). It returns with rl.mu held.
// Callees that need a per-URI check are asked about between lookups,
// without the lock.
func (rl *Realm) lockRoute(uri string) (*registration, *callee) {
	var verdicts map[*sess]bool
	for attempt := 1; ; attempt++ {
		rl.mu.Lock()
		reg, c, ask := rl.dealer.route(uri, verdicts, attempt >= maxRouteAttempts)
		if ask == nil {
			return reg, c
		}
		rl.mu.Unlock()
		if verdicts == nil {
			verdicts = make(map[*sess]bool, len(ask))
		}
		for _, cs := range ask {
			verdicts[cs] = rl.mayDeliver(cs, ActionRegister, uri)
		}
	}
}

// gatedEvent is an EVENT that reached its subscriber through a pattern
// allowed only URI by URI. It waits in the subscriber's outbound queue like
// any message; the goroutine that flushes the queue (see queue.go) asks
// the Authorizer about topic, outside every lock, just before handing the
// event to the connection, and drops it if refused. It never reaches a
// transport.
type gatedEvent struct {
	protocol.Message // the EVENT, possibly a *transport.Shared
	topic            string
}

// sendEvent queues ev for s, received through sub.
func (b *batch) sendEvent(s *sess, sub *subscription, ev protocol.Message, topic string) {
	if _, gated := sub.gated[s]; gated {
		ev = &gatedEvent{Message: ev, topic: topic}
	}
	b.send(s, ev)
}

// ungate replaces the gated events of msgs, in place, by the events the
// Authorizer lets s receive and drops the others; it returns what is
// left. It runs user code: no lock may be held.
func (s *sess) ungate(msgs []protocol.Message) []protocol.Message {
	out := msgs[:0]
	for _, m := range msgs {
		if g, ok := m.(*gatedEvent); ok {
			if !s.rl.mayDeliver(s, ActionSubscribe, g.topic) {
				continue
			}
			m = g.Message
		}
		out = append(out, m)
	}
	clear(msgs[len(out):])
	return out
}
