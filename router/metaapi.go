package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// The registration and subscription meta API (wamp-protocol-notes §5.17,
// spec A/meta_api_registrations.md and A/meta_api_subscriptions.md), with
// the shapes crossbar returns, and the session kill procedures (§5.16).
//
// Meta events are router publications made while rl.mu is held, right
// after the reply to the request that caused them, so a subscriber sees
// them in the order the tables changed. Registrations of internal
// procedures produce none. As in crossbar, registrations and subscriptions
// of protected URIs (wamp.*, crossbar.*) are hidden from list, lookup and
// match, and get on them is not_authorized, except for sessions of the
// authrole "trusted".

// createdFormat is the ISO 8601 form of RegistrationDetails.created
// (autobahn's utcstr, microseconds).
const createdFormat = "2006-01-02T15:04:05.000000Z"

func createdNow() string { return time.Now().UTC().Format(createdFormat) }

func (rl *Realm) installObservationMeta() error {
	for _, p := range []struct {
		uri string
		fn  internalFunc
	}{
		{protocol.MetaRegistrationList, regMeta.list(rl)},
		{protocol.MetaRegistrationLookup, regMeta.lookup(rl)},
		{protocol.MetaRegistrationMatch, rl.metaRegMatch},
		{protocol.MetaRegistrationGet, regMeta.get(rl)},
		{protocol.MetaRegistrationListCallees, regMeta.listMembers(rl)},
		{protocol.MetaRegistrationCountCallees, regMeta.countMembers(rl)},
		{protocol.MetaRegistrationRemoveCallee, regMeta.removeMember(rl)},
		{protocol.MetaSubscriptionList, subMeta.list(rl)},
		{protocol.MetaSubscriptionLookup, subMeta.lookup(rl)},
		{protocol.MetaSubscriptionMatch, rl.metaSubMatch},
		{protocol.MetaSubscriptionGet, subMeta.get(rl)},
		{protocol.MetaSubscriptionListSubscribers, subMeta.listMembers(rl)},
		{protocol.MetaSubscriptionCountSubscribers, subMeta.countMembers(rl)},
		{protocol.MetaSubscriptionRemoveSubscriber, subMeta.removeMember(rl)},
		{protocol.MetaSessionKill, rl.metaKill},
		{protocol.MetaSessionKillByAuthID, rl.metaKillByAuthID},
		{protocol.MetaSessionKillByAuthRole, rl.metaKillByAuthRole},
		{protocol.MetaSessionKillAll, rl.metaKillAll},
	} {
		if err := rl.registerInternal(p.uri, p.fn); err != nil {
			return err
		}
	}
	return nil
}

// protectedURI reports whether uri is hidden from the meta API for caller.
func protectedURI(uri string, caller *SessionInfo) bool {
	if caller != nil && caller.AuthRole == "trusted" {
		return false
	}
	return strings.HasPrefix(uri, protocol.ReservedPrefix) || strings.HasPrefix(uri, "crossbar.")
}

func invalidArg(format string, args ...any) *callError {
	return &callError{URI: protocol.URIInvalidArgument, Args: protocol.List{fmt.Sprintf(format, args...)}}
}

// toID converts a decoded integer to an ID; ok is false for anything else.
func toID(v any) (protocol.ID, bool) {
	switch v := v.(type) {
	case int64:
		return protocol.ID(v), v > 0
	case uint64:
		return v, v > 0
	case int:
		return protocol.ID(v), v > 0
	case float64:
		if v > 0 && v == float64(uint64(v)) {
			return protocol.ID(v), true
		}
	}
	return 0, false
}

// argID reads positional argument i of a meta procedure as an ID.
func argID(c *internalCall, i int, what string) (protocol.ID, error) {
	if i < len(c.args) {
		if id, ok := toID(c.args[i]); ok && id <= protocol.MaxID {
			return id, nil
		}
	}
	return 0, invalidArg("%s takes %s as argument %d", c.procedure, what, i+1)
}

// argString reads positional argument i as a non-empty string.
func argString(c *internalCall, i int, what string) (string, error) {
	if i < len(c.args) {
		if s, ok := c.args[i].(string); ok && s != "" {
			return s, nil
		}
	}
	return "", invalidArg("%s takes %s as argument %d", c.procedure, what, i+1)
}

// optArgString reads an optional string given as positional argument i or
// keyword key; absent or null gives "".
func optArgString(c *internalCall, i int, key string) (string, error) {
	var v any
	if i < len(c.args) {
		v = c.args[i]
	}
	if kv, ok := c.kwargs[key]; ok && v == nil {
		v = kv
	}
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidArg("%s: %s must be a string", c.procedure, key)
	}
	return s, nil
}

func idList(ids []protocol.ID) protocol.List {
	slices.Sort(ids)
	l := make(protocol.List, len(ids))
	for i, id := range ids {
		l[i] = id
	}
	return l
}

func noSuchSession(id protocol.ID) *callError {
	return &callError{URI: protocol.URINoSuchSession, Args: protocol.List{fmt.Sprintf("no session with ID %d exists on this router", id)}}
}

func protectedError(what, uri string) *callError {
	return &callError{URI: protocol.URINotAuthorized, Args: protocol.List{fmt.Sprintf("not authorized to %s for protected URI %q", what, uri)}}
}

// ---- registrations and subscriptions ----

// The registration and subscription meta APIs mirror each other: the same
// procedures and events, over the dealer's registrations and their callees
// or the broker's subscriptions and their subscribers. metaKind says what
// differs; its methods are the procedures and events.

// metaObject is a registration or a subscription as the meta API sees it.
// Its methods are called with rl.mu held.
type metaObject interface {
	comparable
	// observation is what the list procedures report of it.
	observation() observation
	// details is RegistrationDetails or SubscriptionDetails.
	details() protocol.Dict
	// memberIDs are the session ids of its callees or subscribers.
	memberIDs() []protocol.ID
	// has reports whether s is one of its callees or subscribers.
	has(s *sess) bool
	// revoke detaches member s and returns how s is told (UNREGISTERED
	// or UNSUBSCRIBED with details), nil if it did not announce
	// revocation.
	revoke(rl *Realm, out *batch, s *sess, details protocol.Dict) protocol.Message
}

// metaKind describes one of the two meta APIs. Its functions are called
// with rl.mu held.
type metaKind[T metaObject] struct {
	noun     string // "registration" or "subscription"
	uriArg   string // the URI argument of lookup and match, as errors name it
	member   string // "callee" or "subscriber"
	attached string // "registered" or "subscribed"
	owner    string // "dealer" or "broker"
	// noSuch is the error URI for an object that does not exist or a
	// session that is not its member.
	noSuch string
	// byID and mine are every object by id and those of session s;
	// table are the objects of a match policy by URI.
	byID  func(rl *Realm) map[protocol.ID]T
	mine  func(s *sess) map[protocol.ID]T
	table func(rl *Realm, match string) map[string]T
	// The meta events: on_create, on_register or on_subscribe,
	// on_unregister or on_unsubscribe, on_delete.
	onCreate, onAttach, onDetach, onDelete string
}

var regMeta = metaKind[*registration]{
	noun: "registration", uriArg: "a procedure URI", member: "callee", attached: "registered", owner: "dealer",
	noSuch:   protocol.URINoSuchRegistration,
	byID:     func(rl *Realm) map[protocol.ID]*registration { return rl.dealer.byID },
	mine:     func(s *sess) map[protocol.ID]*registration { return s.regs },
	table:    func(rl *Realm, match string) map[string]*registration { return rl.dealer.table(match) },
	onCreate: protocol.MetaRegistrationOnCreate, onAttach: protocol.MetaRegistrationOnRegister,
	onDetach: protocol.MetaRegistrationOnUnregister, onDelete: protocol.MetaRegistrationOnDelete,
}

var subMeta = metaKind[*subscription]{
	noun: "subscription", uriArg: "a topic URI", member: "subscriber", attached: "subscribed", owner: "broker",
	noSuch:   protocol.URINoSuchSubscription,
	byID:     func(rl *Realm) map[protocol.ID]*subscription { return rl.broker.byID },
	mine:     func(s *sess) map[protocol.ID]*subscription { return s.subs },
	table:    func(rl *Realm, match string) map[string]*subscription { return rl.broker.table(match) },
	onCreate: protocol.MetaSubscriptionOnCreate, onAttach: protocol.MetaSubscriptionOnSubscribe,
	onDetach: protocol.MetaSubscriptionOnUnsubscribe, onDelete: protocol.MetaSubscriptionOnDelete,
}

// details is RegistrationDetails. rl.mu must be held.
func (reg *registration) details() protocol.Dict {
	return protocol.Dict{"id": reg.id, "created": reg.created, "uri": reg.uri, "match": reg.match, "invoke": reg.invoke}
}

func (reg *registration) observation() observation { return observation{reg.id, reg.match, reg.uri} }

func (reg *registration) memberIDs() []protocol.ID {
	ids := make([]protocol.ID, 0, len(reg.callees))
	for _, c := range reg.callees {
		if c.s != nil {
			ids = append(ids, c.s.info.ID)
		}
	}
	return ids
}

func (reg *registration) has(s *sess) bool { return reg.calleeIndex(s) >= 0 }

func (reg *registration) revoke(rl *Realm, out *batch, s *sess, d protocol.Dict) protocol.Message {
	rl.removeCallee(out, reg, s)
	if s.feat&featCalleeRevocation == 0 {
		return nil
	}
	return &protocol.Unregistered{Request: 0, Details: d}
}

// details is SubscriptionDetails. rl.mu must be held.
func (sub *subscription) details() protocol.Dict {
	return protocol.Dict{"id": sub.id, "created": sub.created, "uri": sub.topic, "match": sub.match}
}

func (sub *subscription) observation() observation { return observation{sub.id, sub.match, sub.topic} }

func (sub *subscription) memberIDs() []protocol.ID {
	ids := make([]protocol.ID, 0, len(sub.subscribers))
	for s := range sub.subscribers {
		ids = append(ids, s.info.ID)
	}
	return ids
}

func (sub *subscription) has(s *sess) bool {
	_, ok := sub.subscribers[s]
	return ok
}

func (sub *subscription) revoke(rl *Realm, out *batch, s *sess, d protocol.Dict) protocol.Message {
	rl.removeSubscriber(out, sub, s)
	if s.feat&featSubscriberRevocation == 0 {
		return nil
	}
	return &protocol.Unsubscribed{Request: 0, Details: d}
}

// sessionOf returns the session of a meta API session-id argument, or
// no_such_session. rl.mu must be held.
func (rl *Realm) sessionOfLocked(id protocol.ID) (*sess, error) {
	if s := rl.sessions[id]; s != nil && !s.left {
		return s, nil
	}
	return nil, noSuchSession(id)
}

// observation is what wamp.registration.list and wamp.subscription.list
// report of a registration or subscription.
type observation struct {
	id         protocol.ID
	match, uri string
}

// list is wamp.registration.list or wamp.subscription.list: the ids of
// every object (not the protected ones) or, given a session id, of that
// session's, by match policy.
func (k metaKind[T]) list(rl *Realm) internalFunc {
	return func(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
		var only protocol.ID
		if len(c.args) > 0 && c.args[0] != nil {
			id, err := argID(c, 0, "a session id")
			if err != nil {
				return nil, nil, err
			}
			only = id
		}
		byMatch := map[string][]protocol.ID{}
		add := func(o observation) { byMatch[o.match] = append(byMatch[o.match], o.id) }
		rl.mu.Lock()
		if only != 0 {
			s, err := rl.sessionOfLocked(only)
			if err != nil {
				rl.mu.Unlock()
				return nil, nil, err
			}
			for _, obj := range k.mine(s) {
				add(obj.observation())
			}
		} else {
			for _, obj := range k.byID(rl) {
				if o := obj.observation(); !protectedURI(o.uri, caller) {
					add(o)
				}
			}
		}
		rl.mu.Unlock()
		return protocol.List{protocol.Dict{
			matchExact:    idList(byMatch[matchExact]),
			matchPrefix:   idList(byMatch[matchPrefix]),
			matchWildcard: idList(byMatch[matchWildcard]),
		}}, nil, nil
	}
}

// lookupOptions reads the optional options dict argument of lookup (only
// its match policy matters).
func lookupOptions(c *internalCall, i int) (string, error) {
	var opts protocol.Dict
	if i < len(c.args) && c.args[i] != nil {
		d, ok := c.args[i].(protocol.Dict)
		if !ok {
			return "", invalidArg("%s: options must be a dict", c.procedure)
		}
		opts = d
	} else if d, ok := c.kwargs["options"].(protocol.Dict); ok {
		opts = d
	}
	match, ok := optString(opts, "match", matchExact)
	if !ok || (match != matchExact && match != matchPrefix && match != matchWildcard) {
		return "", invalidArg("%s: invalid match policy %v", c.procedure, opts["match"])
	}
	return match, nil
}

// lookup is wamp.registration.lookup or wamp.subscription.lookup: the id
// of the object of a URI and match policy, or null.
func (k metaKind[T]) lookup(rl *Realm) internalFunc {
	return func(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
		uri, err := argString(c, 0, k.uriArg)
		if err != nil {
			return nil, nil, err
		}
		match, err := lookupOptions(c, 1)
		if err != nil {
			return nil, nil, err
		}
		rl.mu.Lock()
		obj, ok := k.table(rl, match)[uri]
		var o observation
		if ok {
			o = obj.observation()
		}
		rl.mu.Unlock()
		if !ok || protectedURI(o.uri, caller) {
			return protocol.List{nil}, nil, nil
		}
		return protocol.List{o.id}, nil, nil
	}
}

func (rl *Realm) metaRegMatch(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, regMeta.uriArg)
	if err != nil {
		return nil, nil, err
	}
	rl.mu.Lock()
	reg := rl.dealer.lookup(uri)
	rl.mu.Unlock()
	if reg == nil || protectedURI(reg.uri, caller) {
		return protocol.List{nil}, nil, nil
	}
	return protocol.List{reg.id}, nil, nil
}

// metaSubMatch returns the ids of every subscription an event to the topic
// would go to, or null when there is none (crossbar's shape).
func (rl *Realm) metaSubMatch(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, subMeta.uriArg)
	if err != nil {
		return nil, nil, err
	}
	var ids []protocol.ID
	rl.mu.Lock()
	rl.broker.matching(uri, func(sub *subscription) {
		if !protectedURI(sub.topic, caller) {
			ids = append(ids, sub.id)
		}
	})
	rl.mu.Unlock()
	if len(ids) == 0 {
		return protocol.List{nil}, nil, nil
	}
	return protocol.List{idList(ids)}, nil, nil
}

// argLocked finds the object named by argument 0 for a meta procedure
// doing what; rl.mu must be held.
func (k metaKind[T]) argLocked(rl *Realm, caller *SessionInfo, c *internalCall, what string) (T, error) {
	var none T
	id, err := argID(c, 0, "a "+k.noun+" id")
	if err != nil {
		return none, err
	}
	obj, ok := k.byID(rl)[id]
	if !ok {
		return none, &callError{URI: k.noSuch, Args: protocol.List{fmt.Sprintf("no %s with ID %d exists on this %s", k.noun, id, k.owner)}}
	}
	if uri := obj.observation().uri; protectedURI(uri, caller) {
		return none, protectedError(what, uri)
	}
	return obj, nil
}

// about is a procedure that answers with one value about the object named
// by argument 0 (not protected): get, list_callees and so on, doing what.
func (k metaKind[T]) about(rl *Realm, what string, answer func(T) any) internalFunc {
	return func(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		obj, err := k.argLocked(rl, caller, c, what)
		if err != nil {
			return nil, nil, err
		}
		return protocol.List{answer(obj)}, nil, nil
	}
}

func (k metaKind[T]) get(rl *Realm) internalFunc {
	return k.about(rl, "get "+k.noun, func(obj T) any { return obj.details() })
}

func (k metaKind[T]) listMembers(rl *Realm) internalFunc {
	return k.about(rl, "list "+k.member+"s", func(obj T) any { return idList(obj.memberIDs()) })
}

func (k metaKind[T]) countMembers(rl *Realm) internalFunc {
	return k.about(rl, "count "+k.member+"s", func(obj T) any { return int64(len(obj.memberIDs())) })
}

// removeMember is wamp.registration.remove_callee(registration, callee,
// reason?) or wamp.subscription.remove_subscriber(subscription,
// subscriber, reason?): the member loses the object and, if it announced
// revocation, is told with UNREGISTERED or UNSUBSCRIBED.
func (k metaKind[T]) removeMember(rl *Realm) internalFunc {
	return func(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
		memberID, err := argID(c, 1, "a "+k.member+" session id")
		if err != nil {
			return nil, nil, err
		}
		reason, err := optArgString(c, 2, "reason")
		if err != nil {
			return nil, nil, err
		}
		var b batch
		defer b.flush()
		rl.mu.Lock()
		defer rl.mu.Unlock()
		s, err := rl.sessionOfLocked(memberID)
		if err != nil {
			return nil, nil, err
		}
		obj, err := k.argLocked(rl, caller, c, "remove "+k.member)
		if err != nil {
			return nil, nil, err
		}
		id := obj.observation().id
		if !obj.has(s) {
			return nil, nil, &callError{URI: k.noSuch,
				Args: protocol.List{fmt.Sprintf("session %d is not %s on %s %d on this %s", memberID, k.attached, k.noun, id, k.owner)}}
		}
		d := protocol.Dict{k.noun: id}
		if reason != "" {
			d["reason"] = reason
		}
		if m := obj.revoke(rl, &b, s, d); m != nil {
			b.send(s, m)
		}
		return nil, nil, nil
	}
}

// publishAttached publishes on_create (for a new object) and on_register
// or on_subscribe. rl.mu must be held.
func (k metaKind[T]) publishAttached(rl *Realm, out *batch, s *sess, obj T, created bool) {
	if created {
		rl.publishLocked(out, nil, k.onCreate, nil, protocol.List{s.info.ID, obj.details()}, nil)
	}
	rl.publishLocked(out, nil, k.onAttach, nil, protocol.List{s.info.ID, obj.observation().id}, nil)
}

// publishDetached publishes on_unregister or on_unsubscribe and, when the
// object is gone, on_delete. rl.mu must be held.
func (k metaKind[T]) publishDetached(rl *Realm, out *batch, s *sess, obj T, deleted bool) {
	id := obj.observation().id
	rl.publishLocked(out, nil, k.onDetach, nil, protocol.List{s.info.ID, id}, nil)
	if deleted {
		rl.publishLocked(out, nil, k.onDelete, nil, protocol.List{s.info.ID, id}, nil)
	}
}

// publishRegistered, publishUnregistered, publishSubscribed and
// publishUnsubscribed are the meta events of the dealer and the broker.
// rl.mu must be held.
func (rl *Realm) publishRegistered(out *batch, s *sess, reg *registration, created bool) {
	regMeta.publishAttached(rl, out, s, reg, created)
}

func (rl *Realm) publishUnregistered(out *batch, s *sess, reg *registration, deleted bool) {
	regMeta.publishDetached(rl, out, s, reg, deleted)
}

func (rl *Realm) publishSubscribed(out *batch, s *sess, sub *subscription, created bool) {
	subMeta.publishAttached(rl, out, s, sub, created)
}

func (rl *Realm) publishUnsubscribed(out *batch, s *sess, sub *subscription, deleted bool) {
	subMeta.publishDetached(rl, out, s, sub, deleted)
}

// ---- killing sessions ----

// killOptions reads the reason and message of the kill procedures, which
// come as keywords or positionally at index at and at+1 (after the target,
// if the procedure has one).
func (rl *Realm) killOptions(c *internalCall, at int) (reason, message string, err error) {
	if reason, err = optArgString(c, at, "reason"); err != nil {
		return "", "", err
	}
	if message, err = optArgString(c, at+1, "message"); err != nil {
		return "", "", err
	}
	if reason == "" {
		reason = protocol.URIKilled
	} else if !rl.validURI(reason, matchExact) {
		return "", "", &callError{URI: protocol.URIInvalidURI, Args: protocol.List{fmt.Sprintf("invalid reason URI %q", reason)}}
	}
	return reason, message, nil
}

// metaKill is wamp.session.kill(session, reason?, message?): the session
// gets GOODBYE with the reason (default wamp.close.killed). The caller
// cannot kill itself (no_such_session, as the spec says).
func (rl *Realm) metaKill(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	id, err := argID(c, 0, "a session id")
	if err != nil {
		return nil, nil, err
	}
	reason, message, err := rl.killOptions(c, 1)
	if err != nil {
		return nil, nil, err
	}
	rl.mu.Lock()
	s, err := rl.sessionOfLocked(id)
	rl.mu.Unlock()
	if err != nil || id == caller.ID {
		return nil, nil, noSuchSession(id)
	}
	s.killWithGoodbye(reason, message)
	return nil, nil, nil
}

// The kill_by_* procedures answer as the spec says
// (advanced/meta_api_sessions.md): kill_by_authid the list of the killed
// sessions' ids (crossbar's answer too), kill_by_authrole and kill_all
// their number (crossbar answers the list for kill_by_authrole and has no
// kill_all).

func (rl *Realm) metaKillByAuthID(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	authid, err := argString(c, 0, "an authid")
	if err != nil {
		return nil, nil, err
	}
	ids, err := rl.killWhere(caller, c, 1, func(in *SessionInfo) bool { return in.AuthID == authid })
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{idList(ids)}, nil, nil
}

func (rl *Realm) metaKillByAuthRole(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	authrole, err := argString(c, 0, "an authrole")
	if err != nil {
		return nil, nil, err
	}
	ids, err := rl.killWhere(caller, c, 1, func(in *SessionInfo) bool { return in.AuthRole == authrole })
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{len(ids)}, nil, nil
}

// metaKillAll is wamp.session.kill_all(reason?, message?): every session
// of the realm but the caller's.
func (rl *Realm) metaKillAll(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	ids, err := rl.killWhere(caller, c, 0, func(*SessionInfo) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{len(ids)}, nil, nil
}

// killWhere kills every session but the caller's that match selects and
// returns their ids; the reason and message arguments start at index at.
func (rl *Realm) killWhere(caller *SessionInfo, c *internalCall, at int, selects func(*SessionInfo) bool) ([]protocol.ID, error) {
	reason, message, err := rl.killOptions(c, at)
	if err != nil {
		return nil, err
	}
	var victims []*sess
	rl.mu.Lock()
	for id, s := range rl.sessions {
		if id != caller.ID && !s.left && selects(s.info) {
			victims = append(victims, s)
		}
	}
	rl.mu.Unlock()
	ids := make([]protocol.ID, len(victims))
	for i, s := range victims {
		s.killWithGoodbye(reason, message)
		ids[i] = s.info.ID
	}
	return ids, nil
}
