package router

import (
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Event retention (wamp-protocol-notes §5.14, spec
// A/pubsub_event_retention.md): PUBLISH.Options.retain stores the event as
// its topic's retained event; SUBSCRIBE.Options.get_retained sends a new
// subscriber, right after SUBSCRIBED, the most recent retained event of
// each matching topic that it is eligible for, flagged
// EVENT.Details.retained. Unlike crossbar, prefix and wildcard
// subscriptions get the retained events of every topic they match.
//
// Memory is bounded per realm: at most maxRetainedTopics topics and
// maxRetainedBytes estimated payload bytes; past either, the topics
// retained least recently are forgotten. Each topic keeps at most
// maxRetainedPerTopic events: an event published to everybody replaces
// them all, events restricted by eligible/exclude lists are kept beside
// each other so that every subscriber gets the latest one meant for it.
const (
	maxRetainedTopics   = 4096
	maxRetainedBytes    = 64 << 20
	maxRetainedPerTopic = 8
)

// retainedEvent is one retained publication. Guarded by Realm.mu.
type retainedEvent struct {
	pub     *sess      // publisher (nil: the router); only compared and read
	filter  *pubFilter // nil: for everybody
	details protocol.Dict
	args    protocol.List
	kwargs  protocol.Dict
	size    int
}

// retainedTopic is the retained events of one topic, oldest first.
type retainedTopic struct {
	events []*retainedEvent
	seq    uint64 // when it was last retained to, for eviction
	size   int
}

// retention is a realm's retained events. Guarded by Realm.mu.
type retention struct {
	topics map[string]*retainedTopic
	seq    uint64
	bytes  int
}

// restricted reports whether f limits who gets the event.
func (f *pubFilter) restricted() bool {
	return f != nil && (f.eligible != nil || f.exclude != nil || f.eligibleAuthID != nil ||
		f.excludeAuthID != nil || f.eligibleAuthRole != nil || f.excludeAuthRole != nil)
}

// retain stores an event published to topic. rl.mu must be held.
func (rt *retention) retain(topic string, ev *retainedEvent) {
	if rt.topics == nil {
		rt.topics = make(map[string]*retainedTopic)
	}
	ev.size = 64 + len(topic) + messagePayloadSize(ev.args, ev.kwargs)
	t := rt.topics[topic]
	if t == nil {
		t = &retainedTopic{}
		rt.topics[topic] = t
	}
	if !ev.filter.restricted() {
		rt.bytes -= t.size
		t.events, t.size = nil, 0
	} else if len(t.events) >= maxRetainedPerTopic {
		rt.bytes -= t.events[0].size
		t.size -= t.events[0].size
		t.events = t.events[1:]
	}
	t.events = append(t.events, ev)
	t.size += ev.size
	rt.bytes += ev.size
	rt.seq++
	t.seq = rt.seq
	for len(rt.topics) > maxRetainedTopics || (rt.bytes > maxRetainedBytes && len(rt.topics) > 1) {
		rt.evictOldest(topic)
	}
}

// evictOldest forgets the topic retained to least recently, other than keep.
func (rt *retention) evictOldest(keep string) {
	var oldest string
	var min uint64
	for name, t := range rt.topics {
		if name != keep && (oldest == "" || t.seq < min) {
			oldest, min = name, t.seq
		}
	}
	if oldest == "" {
		return
	}
	rt.bytes -= rt.topics[oldest].size
	delete(rt.topics, oldest)
}

// sendRetained sends s the retained events sub matches (get_retained).
// rl.mu must be held.
func (rl *Realm) sendRetained(out *batch, s *sess, sub *subscription) {
	rt := &rl.broker.retained
	send := func(topic string, t *retainedTopic) {
		for i := len(t.events) - 1; i >= 0; i-- {
			ev := t.events[i]
			if ev.filter != nil && ev.pub != nil && !ev.filter.allows(ev.pub, s) {
				continue
			}
			details := protocol.Dict{"retained": true}
			for k, v := range ev.details {
				details[k] = v
			}
			if sub.match != matchExact {
				details["topic"] = topic
			}
			out.sendEvent(s, sub, &protocol.Event{Subscription: sub.id, Publication: newID(), Details: details, Args: ev.args, Kwargs: ev.kwargs}, topic)
			return
		}
	}
	switch sub.match {
	case matchExact:
		if t := rt.topics[sub.topic]; t != nil {
			send(sub.topic, t)
		}
	default:
		for topic, t := range rt.topics {
			if sub.match == matchPrefix && strings.HasPrefix(topic, sub.topic) ||
				sub.match == matchWildcard && sub.wild.matches(strings.Split(topic, ".")) {
				send(topic, t)
			}
		}
	}
}

// messagePayloadSize estimates the memory of a payload (see messageSize).
func messagePayloadSize(args protocol.List, kwargs protocol.Dict) int {
	budget := maxSizeNodes
	return payloadSize(args, 0, &budget) + payloadSize(kwargs, 0, &budget)
}
