package client

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// The desired state: what the program registered and subscribed, kept
// across sessions and replayed on each new one. The lists and placements
// are owned by the owner goroutine; the router's current ids are
// published through atomics for ID and Dropped.

// placement is where a desired registration (C = session.Registration) or
// subscription (C = session.Subscription) stands on the sessions.
type placement[C any] struct {
	cur     atomic.Pointer[C] // the router's registration or subscription; written by the owner only
	on      *session.Session  // the session cur belongs to (owner)
	removed bool              // no longer desired: removed by the program or revoked (owner)
}

// desired is a Registration or a Subscription.
type desired[C any] interface {
	comparable
	placed() *placement[C]
	uri() string // the procedure or topic
}

// itemKind names registrations or subscriptions in logs and hooks.
type itemKind struct {
	verb   string // RestoreError.Kind and Revocation.Kind
	noun   string // in log messages
	uriKey string // log attribute of the URI
}

var (
	registrations = itemKind{verb: "register", noun: "registration", uriKey: "procedure"}
	subscriptions = itemKind{verb: "subscribe", noun: "subscription", uriKey: "topic"}
)

// Registration is a procedure in the Client's desired state. It keeps its
// URI, handler and options across sessions; ID is the router's id on the
// current session.
type Registration struct {
	Procedure string
	opts      []session.Option
	handler   session.Handler
	at        placement[session.Registration]
}

func (r *Registration) placed() *placement[session.Registration] { return &r.at }
func (r *Registration) uri() string                              { return r.Procedure }

// ID returns the router's registration id on the current session, or 0.
func (r *Registration) ID() protocol.ID {
	if r == nil {
		return 0
	}
	if cur := r.at.cur.Load(); cur != nil {
		return cur.ID
	}
	return 0
}

// Options returns the options the registration was made with (and is
// restored with).
func (r *Registration) Options() []session.Option { return append([]session.Option(nil), r.opts...) }

// Subscription is a topic in the Client's desired state.
type Subscription struct {
	Topic   string
	opts    []session.Option
	handler session.EventHandler
	at      placement[session.Subscription]
	before  atomic.Uint64 // events dropped on earlier sessions
}

func (s *Subscription) placed() *placement[session.Subscription] { return &s.at }
func (s *Subscription) uri() string                              { return s.Topic }

// ID returns the router's subscription id on the current session, or 0.
func (s *Subscription) ID() protocol.ID {
	if s == nil {
		return 0
	}
	if cur := s.at.cur.Load(); cur != nil {
		return cur.ID
	}
	return 0
}

// Options returns the options the subscription was made with (and is
// restored with).
func (s *Subscription) Options() []session.Option { return append([]session.Option(nil), s.opts...) }

// Dropped returns how many events were dropped, over every session,
// because the subscription's queue (session.Config.EventQueueSize) was
// full: its handler was slower than the events came in.
func (s *Subscription) Dropped() uint64 {
	n := s.before.Load()
	if cur := s.at.cur.Load(); cur != nil {
		n += cur.Dropped()
	}
	return n
}

// place records that x is now cur on s. Owner only.
func place[T desired[C], C any](c *Client, x T, cur *C, s *session.Session) {
	c.unplace(x)
	p := x.placed()
	p.cur.Store(cur)
	p.on = s
}

// unplace forgets where x stood, keeping the count of the events a
// subscription dropped there. Owner only.
func (c *Client) unplace(x any) {
	switch t := x.(type) {
	case *Registration:
		t.at.cur.Store(nil)
		t.at.on = nil
	case *Subscription:
		if cur := t.at.cur.Swap(nil); cur != nil {
			n := cur.Dropped()
			t.before.Add(n)
			c.k.dropped.Add(n)
		}
		t.at.on = nil
	}
}

// addDesired places x on the current session, if any, with put, then
// appends x to the desired list. An error from the router is returned and
// nothing is recorded; when the session is gone, x is recorded and placed
// on the next one. Owner only.
func addDesired[T desired[C], C any](c *Client, list *[]T, x T, put func(s *session.Session) (*C, error)) error {
	if s := c.o.cur; s != nil {
		cur, err := put(s)
		err = c.lostOn(s, err)
		switch {
		case err == nil:
			place(c, x, cur, s)
		case errors.Is(err, session.ErrConnectionLost) || ended(s):
			// recorded below; placed on the next session
		default:
			return err
		}
	}
	*list = append(*list, x)
	c.publishSubs()
	return nil
}

// removeDesired drops x from the desired list and, when it is placed on
// the current session, releases it there with release. Removing an item
// the router revoked, or one not placed on the current session, only
// updates the desired state. Owner only.
func removeDesired[T desired[C], C any](c *Client, list *[]T, x T, release func(s *session.Session, cur *C) error) error {
	found := false
	for i, y := range *list {
		if y == x {
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			found = true
			break
		}
	}
	p := x.placed()
	wasRemoved := p.removed
	p.removed = true
	cur, on := p.cur.Load(), p.on
	c.unplace(x)
	c.publishSubs()
	if !found && wasRemoved {
		return nil // revoked or already removed
	}
	s := c.o.cur
	if cur == nil || on != s || s == nil {
		return nil
	}
	err := release(s, cur)
	if err != nil && (errors.Is(err, session.ErrConnectionLost) || ended(s)) {
		return nil // the session is gone, and with it the placement
	}
	return err
}

// revoked handles the router's revocation of cur: the item placed as cur
// is marked removed, dropped from the list (so it is not restored again),
// logged and reported. Owner only.
func revoked[T desired[C], C any](c *Client, list *[]T, k itemKind, cur *C, reason string) {
	var found T
	for i, x := range *list {
		if p := x.placed(); p.cur.Load() == cur {
			p.removed = true
			c.unplace(x)
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			found = x
			break
		}
	}
	var none T
	if found == none {
		return
	}
	c.publishSubs()
	c.log.Warn("wamp client: "+k.noun+" revoked by the router", k.uriKey, found.uri(), "reason", reason)
	if f := c.cfg.OnRevoked; f != nil {
		r := Revocation{Kind: k.verb, URI: found.uri(), Reason: reason}
		c.hooks.push(func() { f(r) })
	}
}

// restore registers and subscribes everything in the desired state that
// is not on s yet. It reports failures when report is set and returns
// whether anything is still missing. Owner only.
func (c *Client) restore(ctx context.Context, s *session.Session, report bool) (pending bool) {
	regsPending, ended := restoreEach(c, s, c.o.regs, registrations, report,
		func(r *Registration) (*session.Registration, error) {
			return s.Register(ctx, r.Procedure, r.handler, r.opts...)
		})
	if ended {
		return false
	}
	subsPending, ended := restoreEach(c, s, c.o.subs, subscriptions, report,
		func(sub *Subscription) (*session.Subscription, error) {
			return s.Subscribe(ctx, sub.Topic, sub.handler, sub.opts...)
		})
	if ended {
		return false
	}
	return regsPending || subsPending
}

// restoreEach places on s, with put, each of items that is still desired
// and not on s yet, logging each failure and reporting it when report is
// set. It returns whether anything failed, or stops early when s ended.
// Owner only.
func restoreEach[T desired[C], C any](c *Client, s *session.Session, items []T, k itemKind, report bool, put func(x T) (*C, error)) (pending, stopped bool) {
	for _, x := range append([]T(nil), items...) {
		if p := x.placed(); p.removed || p.on == s {
			continue
		}
		cur, err := put(x)
		if err != nil {
			if ended(s) {
				return false, true
			}
			pending = true
			c.log.Warn("wamp client: cannot restore "+k.noun, k.uriKey, x.uri(), "err", err)
			if f := c.cfg.OnRestoreError; report && f != nil {
				re := &RestoreError{Kind: k.verb, URI: x.uri(), Err: err}
				c.hooks.push(func() { f(re) })
			}
			continue
		}
		place(c, x, cur, s)
	}
	return pending, false
}

// release unregisters and unsubscribes everything placed on s, so that
// the router stops routing to s before its successor registers. Owner
// only.
func (c *Client) release(ctx context.Context, s *session.Session) {
	for _, r := range c.o.regs {
		if cur := r.at.cur.Load(); r.at.on == s && cur != nil {
			if err := s.Unregister(ctx, cur); err != nil {
				c.log.Debug("wamp client: unregister from the old session", "procedure", r.Procedure, "err", err)
			}
		}
	}
	for _, sub := range c.o.subs {
		if cur := sub.at.cur.Load(); sub.at.on == s && cur != nil {
			if err := s.Unsubscribe(ctx, cur); err != nil {
				c.log.Debug("wamp client: unsubscribe from the old session", "topic", sub.Topic, "err", err)
			}
		}
	}
}
