package router

import (
	"context"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Testaments (wamp-protocol-notes §5.18, spec A/pubsub_testament.md): a
// session leaves events with wamp.session.add_testament that the router
// publishes on its behalf when the session goes away, however it goes
// (GOODBYE, ABORT, kill, transport loss, router shutdown). This router has
// no session resumption, so a session is detached and destroyed at the same
// moment: its "detached" testaments are published first, then its
// "destroyed" ones, each in the order they were added.
//
// The publication is authorized when the testament is added (the Authorizer
// is asked about publishing to the topic) and made with the publish options
// given then, minus acknowledge and exclude_me. A session holds at most
// maxTestaments testaments of at most maxTestamentBytes estimated payload
// bytes in all; past that add_testament fails with wamp.error.testament_error.
const (
	maxTestaments     = 64
	maxTestamentBytes = 1 << 20
)

const (
	scopeDetached  = 0
	scopeDestroyed = 1
)

// testament is one stored publication. Guarded by Realm.mu.
type testament struct {
	topic  string
	filter *pubFilter
	retain bool
	args   protocol.List
	kwargs protocol.Dict
	size   int
	id     protocol.ID
}

func (rl *Realm) installTestaments() error {
	if err := rl.registerInternal(protocol.MetaSessionAddTestament, rl.addTestament); err != nil {
		return err
	}
	return rl.registerInternal(protocol.MetaSessionFlushTestaments, rl.flushTestaments)
}

func testamentError(format string, args ...any) *callError {
	return &callError{URI: protocol.URITestamentError, Args: protocol.List{fmt.Sprintf(format, args...)}}
}

// testamentScope reads the scope argument (positional i or keyword).
func testamentScope(c *internalCall, i int) (int, error) {
	s, err := optArgString(c, i, "scope")
	if err != nil {
		return 0, testamentError("scope must be destroyed or detached")
	}
	switch s {
	case "", "destroyed":
		return scopeDestroyed, nil
	case "detached":
		return scopeDetached, nil
	}
	return 0, testamentError("scope must be destroyed or detached")
}

// addTestament is wamp.session.add_testament(topic, args, kwargs,
// publish_options?, scope?); it returns the publication id the testament
// will have.
func (rl *Realm) addTestament(ctx context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	topic, err := argString(c, 0, "a topic URI")
	if err != nil {
		return nil, nil, err
	}
	if !validURI(topic, matchExact) {
		return nil, nil, &callError{URI: protocol.URIInvalidURI, Args: protocol.List{fmt.Sprintf("invalid topic URI %q", topic)}}
	}
	arg := func(i int, key string) any {
		if i < len(c.args) && c.args[i] != nil {
			return c.args[i]
		}
		return c.kwargs[key]
	}
	var args protocol.List
	switch v := arg(1, "args").(type) {
	case nil:
	case protocol.List:
		args = v
	default:
		return nil, nil, invalidArg("%s: args must be a list", c.procedure)
	}
	var kwargs protocol.Dict
	switch v := arg(2, "kwargs").(type) {
	case nil:
	case protocol.Dict:
		kwargs = v
	default:
		return nil, nil, invalidArg("%s: kwargs must be a dict", c.procedure)
	}
	var opts protocol.Dict
	switch v := arg(3, "publish_options").(type) {
	case nil:
	case protocol.Dict:
		opts = v
	default:
		return nil, nil, invalidArg("%s: publish_options must be a dict", c.procedure)
	}
	scope, err := testamentScope(c, 4)
	if err != nil {
		return nil, nil, err
	}
	f, err := parsePubFilter(opts)
	if err != nil {
		return nil, nil, invalidArg("%v", err)
	}
	f.excludeMe = false // the publisher is gone when the testament is published
	f.disclose = f.disclose || rl.cfg.Disclose
	if e := rl.authorizeInfo(ctx, caller, ActionPublish, topic); e != nil {
		return nil, nil, e
	}
	t := &testament{topic: topic, filter: f, retain: optBool(opts, "retain"), args: args, kwargs: kwargs, id: newID()}
	t.size = 64 + len(topic) + messagePayloadSize(args, kwargs)

	rl.mu.Lock()
	defer rl.mu.Unlock()
	s := rl.sessions[caller.ID]
	if s == nil || s.left {
		return nil, nil, noSuchSession(caller.ID)
	}
	n, size := 0, t.size
	for _, l := range s.testaments {
		n += len(l)
		for _, o := range l {
			size += o.size
		}
	}
	if n >= maxTestaments || size > maxTestamentBytes {
		return nil, nil, testamentError("a session may hold at most %d testaments of %d bytes in all", maxTestaments, maxTestamentBytes)
	}
	s.testaments[scope] = append(s.testaments[scope], t)
	return protocol.List{t.id}, nil, nil
}

// flushTestaments is wamp.session.flush_testaments(scope?); it returns the
// number of testaments dropped.
func (rl *Realm) flushTestaments(_ context.Context, caller *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	scope, err := testamentScope(c, 0)
	if err != nil {
		return nil, nil, err
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	s := rl.sessions[caller.ID]
	if s == nil || s.left {
		return nil, nil, noSuchSession(caller.ID)
	}
	n := len(s.testaments[scope])
	s.testaments[scope] = nil
	return protocol.List{int64(n)}, nil, nil
}

// publishTestaments publishes the testaments of s, which has left (its
// subscriptions are gone, so it receives none of them). rl.mu must be held.
func (rl *Realm) publishTestaments(out *batch, s *sess) {
	for _, l := range s.testaments {
		for _, t := range l {
			rl.publishLockedID(out, t.id, s, t.topic, t.filter, t.args, t.kwargs)
			if t.retain {
				rl.broker.retained.retain(t.topic, &retainedEvent{pub: s, filter: t.filter, details: eventDetails(s, t.filter), args: t.args, kwargs: t.kwargs})
			}
		}
	}
	s.testaments = [2][]*testament{}
}
