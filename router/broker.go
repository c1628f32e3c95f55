package router

import (
	"fmt"
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// subscription is one (topic, match) pair with its subscribers. All
// sessions subscribing to the same topic with the same match policy share
// it and its id. Guarded by Realm.mu.
type subscription struct {
	id          protocol.ID
	topic       string
	match       string
	created     string // ISO 8601, for the meta API
	wild        *wildcardPattern
	subscribers map[*sess]struct{}
	// gated holds the subscribers whose pattern the Authorizer allowed
	// only topic by topic: their events are checked before they are sent
	// (see authz.go).
	gated map[*sess]struct{}
}

// meta reports whether changes to sub are published as meta events: not
// for wamp.* topics (as crossbar), so meta subscriptions are silent.
func (sub *subscription) meta() bool { return !strings.HasPrefix(sub.topic, "wamp.") }

// broker holds a realm's subscriptions. Guarded by Realm.mu.
type broker struct {
	exact    map[string]*subscription
	prefix   map[string]*subscription
	wildcard map[string]*subscription
	byID     map[protocol.ID]*subscription
	retained retention
}

func newBroker() broker {
	return broker{
		exact:    make(map[string]*subscription),
		prefix:   make(map[string]*subscription),
		wildcard: make(map[string]*subscription),
		byID:     make(map[protocol.ID]*subscription),
	}
}

func (b *broker) table(match string) map[string]*subscription {
	switch match {
	case matchPrefix:
		return b.prefix
	case matchWildcard:
		return b.wildcard
	}
	return b.exact
}

// removeSubscriber takes s off sub, deleting sub when nobody is left, and
// publishes the meta events. Realm.mu must be held.
func (rl *Realm) removeSubscriber(out *batch, sub *subscription, s *sess) {
	b := &rl.broker
	delete(sub.gated, s)
	delete(s.subs, sub.id)
	if _, ok := sub.subscribers[s]; !ok {
		return
	}
	delete(sub.subscribers, s)
	deleted := len(sub.subscribers) == 0
	if deleted {
		delete(b.table(sub.match), sub.topic)
		delete(b.byID, sub.id)
	}
	if sub.meta() {
		rl.publishUnsubscribed(out, s, sub, deleted)
	}
}

// removeSession drops every subscription of s. Realm.mu must be held.
func (b *broker) removeSession(out *batch, rl *Realm, s *sess) {
	for _, sub := range s.subs {
		rl.removeSubscriber(out, sub, s)
	}
}

// matching calls f for every subscription an event to topic goes to.
func (b *broker) matching(topic string, f func(*subscription)) {
	if sub := b.exact[topic]; sub != nil {
		f(sub)
	}
	for p, sub := range b.prefix {
		if strings.HasPrefix(topic, p) {
			f(sub)
		}
	}
	if len(b.wildcard) > 0 {
		parts := strings.Split(topic, ".")
		for _, sub := range b.wildcard {
			if sub.wild.matches(parts) {
				f(sub)
			}
		}
	}
}

func (rl *Realm) handleSubscribe(s *sess, m *protocol.Subscribe) error {
	match, ok := optString(m.Options, "match", matchExact)
	if !ok || (match != matchExact && match != matchPrefix && match != matchWildcard) {
		s.reply(errorMsg(protocol.CodeSubscribe, m.Request, protocol.URIInvalidArgument,
			fmt.Sprintf("invalid match policy %v", m.Options["match"])))
		return nil
	}
	if !validURI(m.Topic, match) {
		s.reply(errorMsg(protocol.CodeSubscribe, m.Request, protocol.URIInvalidURI,
			fmt.Sprintf("invalid topic URI %q for match %q", m.Topic, match)))
		return nil
	}
	each, e := rl.authorizePattern(s, ActionSubscribe, m.Topic, match)
	if e != nil {
		s.reply(e.message(protocol.CodeSubscribe, m.Request))
		return nil
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if s.left {
		return nil
	}
	b := &rl.broker
	sub := b.table(match)[m.Topic]
	created := sub == nil
	if created {
		sub = &subscription{topic: m.Topic, match: match, created: createdNow(), subscribers: make(map[*sess]struct{})}
		if match == matchWildcard {
			sub.wild = newWildcardPattern(m.Topic)
		}
		sub.id = newID()
		for b.byID[sub.id] != nil {
			sub.id = newID()
		}
		b.table(match)[m.Topic] = sub
		b.byID[sub.id] = sub
	}
	_, already := sub.subscribers[s]
	sub.subscribers[s] = struct{}{}
	if each {
		if sub.gated == nil {
			sub.gated = make(map[*sess]struct{})
		}
		sub.gated[s] = struct{}{}
	} else {
		delete(sub.gated, s)
	}
	if s.subs == nil {
		s.subs = make(map[protocol.ID]*subscription)
	}
	s.subs[sub.id] = sub
	s.reply(&protocol.Subscribed{Request: m.Request, Subscription: sub.id})
	if sub.meta() && !already {
		rl.publishSubscribed(&s.routed, s, sub, created)
	}
	if optBool(m.Options, "get_retained") {
		rl.sendRetained(&s.routed, s, sub)
	}
	return nil
}

func (rl *Realm) handleUnsubscribe(s *sess, m *protocol.Unsubscribe) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	sub := s.subs[m.Subscription]
	if sub == nil {
		s.reply(errorMsg(protocol.CodeUnsubscribe, m.Request, protocol.URINoSuchSubscription,
			fmt.Sprintf("no subscription %d for this session", m.Subscription)))
		return nil
	}
	s.reply(&protocol.Unsubscribed{Request: m.Request})
	rl.removeSubscriber(&s.routed, sub, s)
	return nil
}

// pubFilter is the parsed black/white lists and exclusion of a PUBLISH.
type pubFilter struct {
	excludeMe                         bool
	disclose                          bool
	passthru                          protocol.Dict // payload passthru keys, forwarded in EVENT.Details
	eligible, exclude                 map[protocol.ID]bool
	eligibleAuthID, excludeAuthID     map[string]bool
	eligibleAuthRole, excludeAuthRole map[string]bool
}

func idSet(opts protocol.Dict, key string) (map[protocol.ID]bool, error) {
	v, ok := opts[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.(protocol.List)
	if !ok {
		return nil, fmt.Errorf("PUBLISH.Options.%s must be a list of session ids", key)
	}
	set := make(map[protocol.ID]bool, len(l))
	for _, e := range l {
		switch id := e.(type) {
		case int64:
			set[protocol.ID(id)] = true
		case uint64:
			set[id] = true
		case int:
			set[protocol.ID(id)] = true
		case float64:
			set[protocol.ID(id)] = true
		default:
			return nil, fmt.Errorf("PUBLISH.Options.%s must be a list of session ids", key)
		}
	}
	return set, nil
}

func stringSet(opts protocol.Dict, key string) (map[string]bool, error) {
	v, ok := opts[key]
	if !ok || v == nil {
		return nil, nil
	}
	var set map[string]bool
	switch l := v.(type) {
	case protocol.List:
		set = make(map[string]bool, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("PUBLISH.Options.%s must be a list of strings", key)
			}
			set[s] = true
		}
	case []string:
		set = make(map[string]bool, len(l))
		for _, s := range l {
			set[s] = true
		}
	default:
		return nil, fmt.Errorf("PUBLISH.Options.%s must be a list of strings", key)
	}
	return set, nil
}

func parsePubFilter(opts protocol.Dict) (*pubFilter, error) {
	f := &pubFilter{excludeMe: true, disclose: optBool(opts, "disclose_me"), passthru: protocol.CopyPassthru(nil, opts)}
	if v, ok := opts["exclude_me"].(bool); ok {
		f.excludeMe = v
	}
	var err error
	if f.eligible, err = idSet(opts, "eligible"); err != nil {
		return nil, err
	}
	if f.exclude, err = idSet(opts, "exclude"); err != nil {
		return nil, err
	}
	if f.eligibleAuthID, err = stringSet(opts, "eligible_authid"); err != nil {
		return nil, err
	}
	if f.excludeAuthID, err = stringSet(opts, "exclude_authid"); err != nil {
		return nil, err
	}
	if f.eligibleAuthRole, err = stringSet(opts, "eligible_authrole"); err != nil {
		return nil, err
	}
	if f.excludeAuthRole, err = stringSet(opts, "exclude_authrole"); err != nil {
		return nil, err
	}
	return f, nil
}

// allows reports whether subscriber s gets an event published by pub.
func (f *pubFilter) allows(pub, s *sess) bool {
	if f == nil {
		return true
	}
	if s == pub && f.excludeMe {
		return false
	}
	in := s.info
	if f.eligible != nil && !f.eligible[in.ID] {
		return false
	}
	if f.eligibleAuthID != nil && !f.eligibleAuthID[in.AuthID] {
		return false
	}
	if f.eligibleAuthRole != nil && !f.eligibleAuthRole[in.AuthRole] {
		return false
	}
	return !f.exclude[in.ID] && !f.excludeAuthID[in.AuthID] && !f.excludeAuthRole[in.AuthRole]
}

func (rl *Realm) handlePublish(s *sess, m *protocol.Publish) error {
	ack := optBool(m.Options, "acknowledge")
	fail := func(e *callError) error {
		if ack {
			s.reply(e.message(protocol.CodePublish, m.Request))
		}
		return nil
	}
	if !validURI(m.Topic, matchExact) {
		return fail(&callError{URI: protocol.URIInvalidURI, Args: protocol.List{fmt.Sprintf("invalid topic URI %q", m.Topic)}})
	}
	if hasPPT(m.Options) && s.feat&featPublisherPassthru == 0 {
		return violation("PUBLISH with ppt_scheme from a publisher that did not announce payload_passthru_mode")
	}
	f, err := parsePubFilter(m.Options)
	if err != nil {
		return fail(&callError{URI: protocol.URIInvalidArgument, Args: protocol.List{err.Error()}})
	}
	f.disclose = f.disclose || rl.cfg.Disclose
	if e := rl.authorize(s, ActionPublish, m.Topic); e != nil {
		return fail(e)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if s.left {
		return nil
	}
	pubID := rl.publishLocked(&s.routed, s, m.Topic, f, m.Args, m.Kwargs)
	if optBool(m.Options, "retain") {
		rl.broker.retained.retain(m.Topic, &retainedEvent{pub: s, filter: f, details: eventDetails(s, f), args: m.Args, kwargs: m.Kwargs})
	}
	if ack {
		s.reply(&protocol.Published{Request: m.Request, Publication: pubID})
	}
	return nil
}

// eventDetails is what EVENT.Details take from the PUBLISH: the payload
// passthru keys, and the publisher's identity when f asks for disclosure.
func eventDetails(pub *sess, f *pubFilter) protocol.Dict {
	if f == nil {
		return nil
	}
	d := protocol.CopyPassthru(nil, f.passthru)
	if pub != nil && f.disclose {
		if d == nil {
			d = protocol.Dict{}
		}
		d["publisher"] = pub.info.ID
		d["publisher_authid"] = pub.info.AuthID
		d["publisher_authrole"] = pub.info.AuthRole
	}
	return d
}

// publishLocked delivers one publication to every matching subscription;
// pub is nil for router publications. rl.mu must be held.
func (rl *Realm) publishLocked(out *batch, pub *sess, topic string, f *pubFilter, args protocol.List, kwargs protocol.Dict) protocol.ID {
	return rl.publishLockedID(out, newID(), pub, topic, f, args, kwargs)
}

// publishLockedID is publishLocked with the publication id chosen.
func (rl *Realm) publishLockedID(out *batch, pubID protocol.ID, pub *sess, topic string, f *pubFilter, args protocol.List, kwargs protocol.Dict) protocol.ID {
	b := &rl.broker
	deliver := func(sub *subscription) {
		details := protocol.Dict{}
		if sub.match != matchExact {
			details["topic"] = topic
		}
		for k, v := range eventDetails(pub, f) {
			details[k] = v
		}
		// One EVENT per subscription, shared by its subscribers and
		// encoded once per serializer: nobody modifies a message after
		// queuing it.
		ev := transport.Share(&protocol.Event{Subscription: sub.id, Publication: pubID, Details: details, Args: args, Kwargs: kwargs})
		for s := range sub.subscribers {
			if pub != nil && !f.allows(pub, s) {
				continue
			}
			out.sendEvent(s, sub, ev, topic)
		}
	}
	b.matching(topic, deliver)
	return pubID
}
