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
		{protocol.MetaRegistrationList, rl.metaRegList},
		{protocol.MetaRegistrationLookup, rl.metaRegLookup},
		{protocol.MetaRegistrationMatch, rl.metaRegMatch},
		{protocol.MetaRegistrationGet, rl.metaRegGet},
		{protocol.MetaRegistrationListCallees, rl.metaRegListCallees},
		{protocol.MetaRegistrationCountCallees, rl.metaRegCountCallees},
		{protocol.MetaRegistrationRemoveCallee, rl.metaRegRemoveCallee},
		{protocol.MetaSubscriptionList, rl.metaSubList},
		{protocol.MetaSubscriptionLookup, rl.metaSubLookup},
		{protocol.MetaSubscriptionMatch, rl.metaSubMatch},
		{protocol.MetaSubscriptionGet, rl.metaSubGet},
		{protocol.MetaSubscriptionListSubscribers, rl.metaSubListSubscribers},
		{protocol.MetaSubscriptionCountSubscribers, rl.metaSubCountSubscribers},
		{protocol.MetaSubscriptionRemoveSubscriber, rl.metaSubRemoveSubscriber},
		{protocol.MetaSessionKill, rl.metaKill},
		{protocol.MetaSessionKillByAuthID, rl.metaKillByAuthID},
		{protocol.MetaSessionKillByAuthRole, rl.metaKillByAuthRole},
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

func noSuchRegistration(id protocol.ID) *callError {
	return &callError{URI: protocol.URINoSuchRegistration, Args: protocol.List{fmt.Sprintf("no registration with ID %d exists on this dealer", id)}}
}

func noSuchSubscription(id protocol.ID) *callError {
	return &callError{URI: protocol.URINoSuchSubscription, Args: protocol.List{fmt.Sprintf("no subscription with ID %d exists on this broker", id)}}
}

func noSuchSession(id protocol.ID) *callError {
	return &callError{URI: protocol.URINoSuchSession, Args: protocol.List{fmt.Sprintf("no session with ID %d exists on this router", id)}}
}

func protectedError(what, uri string) *callError {
	return &callError{URI: protocol.URINotAuthorized, Args: protocol.List{fmt.Sprintf("not authorized to %s for protected URI %q", what, uri)}}
}

// ---- registrations ----

// regDetails is RegistrationDetails. rl.mu must be held.
func (reg *registration) details() protocol.Dict {
	return protocol.Dict{"id": reg.id, "created": reg.created, "uri": reg.uri, "match": reg.match, "invoke": reg.invoke}
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

// metaListing answers the list procedures: the ids of every observation
// (not the protected ones) or, given a session id, of that session's, by
// match policy. all and mine are called with rl.mu held.
func (rl *Realm) metaListing(caller *SessionInfo, c *internalCall, all func(yield func(observation)), mine func(s *sess, yield func(observation))) (protocol.List, protocol.Dict, error) {
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
		mine(s, add)
	} else {
		all(func(o observation) {
			if !protectedURI(o.uri, caller) {
				add(o)
			}
		})
	}
	rl.mu.Unlock()
	return protocol.List{protocol.Dict{
		matchExact:    idList(byMatch[matchExact]),
		matchPrefix:   idList(byMatch[matchPrefix]),
		matchWildcard: idList(byMatch[matchWildcard]),
	}}, nil, nil
}

func (reg *registration) observation() observation { return observation{reg.id, reg.match, reg.uri} }

func (rl *Realm) metaRegList(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	return rl.metaListing(caller, c, func(yield func(observation)) {
		for _, reg := range rl.dealer.byID {
			yield(reg.observation())
		}
	}, func(s *sess, yield func(observation)) {
		for _, reg := range s.regs {
			yield(reg.observation())
		}
	})
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

func (rl *Realm) metaRegLookup(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, "a procedure URI")
	if err != nil {
		return nil, nil, err
	}
	match, err := lookupOptions(c, 1)
	if err != nil {
		return nil, nil, err
	}
	rl.mu.Lock()
	reg := rl.dealer.table(match)[uri]
	rl.mu.Unlock()
	if reg == nil || protectedURI(reg.uri, caller) {
		return protocol.List{nil}, nil, nil
	}
	return protocol.List{reg.id}, nil, nil
}

func (rl *Realm) metaRegMatch(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, "a procedure URI")
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

// registrationArg finds the registration named by argument 0 for a meta
// procedure doing what; rl.mu must be held.
func (rl *Realm) registrationArgLocked(caller *SessionInfo, c *internalCall, what string) (*registration, error) {
	id, err := argID(c, 0, "a registration id")
	if err != nil {
		return nil, err
	}
	reg := rl.dealer.byID[id]
	if reg == nil {
		return nil, noSuchRegistration(id)
	}
	if protectedURI(reg.uri, caller) {
		return nil, protectedError(what, reg.uri)
	}
	return reg, nil
}

func (rl *Realm) metaRegGet(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	reg, err := rl.registrationArgLocked(caller, c, "get registration")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{reg.details()}, nil, nil
}

func (reg *registration) calleeIDs() []protocol.ID {
	ids := make([]protocol.ID, 0, len(reg.callees))
	for _, c := range reg.callees {
		if c.s != nil {
			ids = append(ids, c.s.info.ID)
		}
	}
	return ids
}

func (rl *Realm) metaRegListCallees(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	reg, err := rl.registrationArgLocked(caller, c, "list callees")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{idList(reg.calleeIDs())}, nil, nil
}

func (rl *Realm) metaRegCountCallees(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	reg, err := rl.registrationArgLocked(caller, c, "count callees")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{int64(len(reg.calleeIDs()))}, nil, nil
}

// metaRegRemoveCallee is wamp.registration.remove_callee(registration,
// callee, reason?): the callee loses the registration and, if it announced
// registration_revocation, is told with UNREGISTERED.
func (rl *Realm) metaRegRemoveCallee(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	calleeID, err := argID(c, 1, "a callee session id")
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
	s, err := rl.sessionOfLocked(calleeID)
	if err != nil {
		return nil, nil, err
	}
	reg, err := rl.registrationArgLocked(caller, c, "remove callee")
	if err != nil {
		return nil, nil, err
	}
	if reg.calleeIndex(s) < 0 {
		return nil, nil, &callError{URI: protocol.URINoSuchRegistration,
			Args: protocol.List{fmt.Sprintf("session %d is not registered on registration %d on this dealer", calleeID, reg.id)}}
	}
	rl.removeCallee(&b, reg, s)
	if s.feat&featCalleeRevocation != 0 {
		d := protocol.Dict{"registration": reg.id}
		if reason != "" {
			d["reason"] = reason
		}
		b.send(s, &protocol.Unregistered{Request: 0, Details: d})
	}
	return nil, nil, nil
}

// publishRegCreated publishes on_create (for a new registration) and
// on_register. rl.mu must be held.
func (rl *Realm) publishRegistered(out *batch, s *sess, reg *registration, created bool) {
	if created {
		rl.publishLocked(out, nil, protocol.MetaRegistrationOnCreate, nil, protocol.List{s.info.ID, reg.details()}, nil)
	}
	rl.publishLocked(out, nil, protocol.MetaRegistrationOnRegister, nil, protocol.List{s.info.ID, reg.id}, nil)
}

// publishUnregistered publishes on_unregister and, when the registration
// is gone, on_delete. rl.mu must be held.
func (rl *Realm) publishUnregistered(out *batch, s *sess, reg *registration, deleted bool) {
	rl.publishLocked(out, nil, protocol.MetaRegistrationOnUnregister, nil, protocol.List{s.info.ID, reg.id}, nil)
	if deleted {
		rl.publishLocked(out, nil, protocol.MetaRegistrationOnDelete, nil, protocol.List{s.info.ID, reg.id}, nil)
	}
}

// ---- subscriptions ----

func (sub *subscription) details() protocol.Dict {
	return protocol.Dict{"id": sub.id, "created": sub.created, "uri": sub.topic, "match": sub.match}
}

func (sub *subscription) subscriberIDs() []protocol.ID {
	ids := make([]protocol.ID, 0, len(sub.subscribers))
	for s := range sub.subscribers {
		ids = append(ids, s.info.ID)
	}
	return ids
}

func (sub *subscription) observation() observation { return observation{sub.id, sub.match, sub.topic} }

func (rl *Realm) metaSubList(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	return rl.metaListing(caller, c, func(yield func(observation)) {
		for _, sub := range rl.broker.byID {
			yield(sub.observation())
		}
	}, func(s *sess, yield func(observation)) {
		for _, sub := range s.subs {
			yield(sub.observation())
		}
	})
}

func (rl *Realm) metaSubLookup(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, "a topic URI")
	if err != nil {
		return nil, nil, err
	}
	match, err := lookupOptions(c, 1)
	if err != nil {
		return nil, nil, err
	}
	rl.mu.Lock()
	sub := rl.broker.table(match)[uri]
	rl.mu.Unlock()
	if sub == nil || protectedURI(sub.topic, caller) {
		return protocol.List{nil}, nil, nil
	}
	return protocol.List{sub.id}, nil, nil
}

// metaSubMatch returns the ids of every subscription an event to the topic
// would go to, or null when there is none (crossbar's shape).
func (rl *Realm) metaSubMatch(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	uri, err := argString(c, 0, "a topic URI")
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

func (rl *Realm) subscriptionArgLocked(caller *SessionInfo, c *internalCall, what string) (*subscription, error) {
	id, err := argID(c, 0, "a subscription id")
	if err != nil {
		return nil, err
	}
	sub := rl.broker.byID[id]
	if sub == nil {
		return nil, noSuchSubscription(id)
	}
	if protectedURI(sub.topic, caller) {
		return nil, protectedError(what, sub.topic)
	}
	return sub, nil
}

func (rl *Realm) metaSubGet(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	sub, err := rl.subscriptionArgLocked(caller, c, "get subscription")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{sub.details()}, nil, nil
}

func (rl *Realm) metaSubListSubscribers(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	sub, err := rl.subscriptionArgLocked(caller, c, "list subscribers")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{idList(sub.subscriberIDs())}, nil, nil
}

func (rl *Realm) metaSubCountSubscribers(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	sub, err := rl.subscriptionArgLocked(caller, c, "count subscribers")
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{int64(len(sub.subscribers))}, nil, nil
}

// metaSubRemoveSubscriber is wamp.subscription.remove_subscriber(
// subscription, subscriber, reason?): the subscriber loses the
// subscription and, if it announced subscription_revocation, is told with
// UNSUBSCRIBED.
func (rl *Realm) metaSubRemoveSubscriber(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	subscriberID, err := argID(c, 1, "a subscriber session id")
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
	s, err := rl.sessionOfLocked(subscriberID)
	if err != nil {
		return nil, nil, err
	}
	sub, err := rl.subscriptionArgLocked(caller, c, "remove subscriber")
	if err != nil {
		return nil, nil, err
	}
	if _, ok := sub.subscribers[s]; !ok {
		return nil, nil, &callError{URI: protocol.URINoSuchSubscription,
			Args: protocol.List{fmt.Sprintf("session %d is not subscribed on subscription %d on this broker", subscriberID, sub.id)}}
	}
	rl.removeSubscriber(&b, sub, s)
	if s.feat&featSubscriberRevocation != 0 {
		d := protocol.Dict{"subscription": sub.id}
		if reason != "" {
			d["reason"] = reason
		}
		b.send(s, &protocol.Unsubscribed{Request: 0, Details: d})
	}
	return nil, nil, nil
}

func (rl *Realm) publishSubscribed(out *batch, s *sess, sub *subscription, created bool) {
	if created {
		rl.publishLocked(out, nil, protocol.MetaSubscriptionOnCreate, nil, protocol.List{s.info.ID, sub.details()}, nil)
	}
	rl.publishLocked(out, nil, protocol.MetaSubscriptionOnSubscribe, nil, protocol.List{s.info.ID, sub.id}, nil)
}

func (rl *Realm) publishUnsubscribed(out *batch, s *sess, sub *subscription, deleted bool) {
	rl.publishLocked(out, nil, protocol.MetaSubscriptionOnUnsubscribe, nil, protocol.List{s.info.ID, sub.id}, nil)
	if deleted {
		rl.publishLocked(out, nil, protocol.MetaSubscriptionOnDelete, nil, protocol.List{s.info.ID, sub.id}, nil)
	}
}

// ---- killing sessions ----

// killOptions reads the reason and message of the kill procedures, which
// follow the target at positional index 1 and 2 or come as keywords.
func killOptions(c *internalCall) (reason, message string, err error) {
	if reason, err = optArgString(c, 1, "reason"); err != nil {
		return "", "", err
	}
	if message, err = optArgString(c, 2, "message"); err != nil {
		return "", "", err
	}
	if reason == "" {
		reason = protocol.URIKilled
	} else if !validURI(reason, matchExact) {
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
	reason, message, err := killOptions(c)
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

func (rl *Realm) metaKillByAuthID(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	authid, err := argString(c, 0, "an authid")
	if err != nil {
		return nil, nil, err
	}
	return rl.killWhere(caller, c, func(in *SessionInfo) bool { return in.AuthID == authid })
}

func (rl *Realm) metaKillByAuthRole(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	authrole, err := argString(c, 0, "an authrole")
	if err != nil {
		return nil, nil, err
	}
	return rl.killWhere(caller, c, func(in *SessionInfo) bool { return in.AuthRole == authrole })
}

// killWhere kills every session but the caller's that match selects and
// returns the list of their ids (crossbar's answer).
func (rl *Realm) killWhere(caller *SessionInfo, c *internalCall, selects func(*SessionInfo) bool) (protocol.List, protocol.Dict, error) {
	reason, message, err := killOptions(c)
	if err != nil {
		return nil, nil, err
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
	return protocol.List{idList(ids)}, nil, nil
}
