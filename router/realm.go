package router

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Action is what a session asks to do with a URI, as seen by an Authorizer.
type Action string

// The actions an Authorizer is asked about.
const (
	ActionCall      Action = "call"
	ActionRegister  Action = "register"
	ActionSubscribe Action = "subscribe"
	ActionPublish   Action = "publish"
)

// SessionInfo describes a joined session. Values handed to hooks,
// authorizers and internal handlers must not be modified.
type SessionInfo struct {
	ID           protocol.ID
	Realm        string
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	AuthExtra    protocol.Dict
	// RemoteAddr is the client's address, or nil when the transport has
	// none (an in-memory pipe). Behind a proxy it is the proxy's.
	RemoteAddr net.Addr
}

// Authorizer decides whether a session may perform action on uri. It returns
// nil to allow. To deny it returns a *session.Error, normally with URI
// wamp.error.not_authorized (the router fills in a message naming the URI
// when the error has no arguments); any other error is reported to the
// client as wamp.error.authorization_failed. ctx ends when the session s
// does.
//
// The router asks about every CALL, PUBLISH, REGISTER and SUBSCRIBE, on
// the requesting session's reader goroutine. For a REGISTER or SUBSCRIBE
// with match prefix or wildcard it asks AuthorizePattern if the Authorizer
// is a PatternAuthorizer, and otherwise Authorize with the pattern as uri.
// Unless the pattern was allowed whole, it then asks Authorize again
// before each call or event the pattern would deliver, with action
// ActionRegister or ActionSubscribe and the concrete URI, for the receiving
// session: for a call on the caller's reader goroutine, for an event on
// the goroutine that hands it to the subscriber's connection (usually the
// publisher's reader), outside every lock. A callee refused there is passed over
// (the call goes to the next matching registration, or fails with
// wamp.error.no_such_procedure); a subscriber refused there does not get
// the event. So no session receives an INVOCATION or EVENT for a URI it
// may not register or subscribe to, whatever pattern it used. A slow
// authorizer delays the session it runs on.
type Authorizer interface {
	Authorize(ctx context.Context, s *SessionInfo, action Action, uri string) error
}

// AuthorizerFunc adapts a function to the Authorizer interface.
type AuthorizerFunc func(ctx context.Context, s *SessionInfo, action Action, uri string) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, s *SessionInfo, action Action, uri string) error {
	return f(ctx, s, action, uri)
}

// Realm is one routing domain: its sessions, registrations and
// subscriptions. Sessions of different realms never see each other.
//
// Ownership: mu guards sessions, the dealer and broker tables and every
// session's routing state (its registrations, subscriptions, pending calls
// and invocations). Routing code holds mu only to update tables and queue
// outbound messages, which never blocks. hookMu guards the hook lists.
type Realm struct {
	r    *Router
	name string
	cfg  RealmConfig
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[protocol.ID]*sess
	dealer   dealer
	broker   broker

	hookMu  sync.Mutex
	onJoin  []func(*SessionInfo)
	onLeave []func(*SessionInfo)
}

func newRealm(r *Router, cfg RealmConfig) *Realm {
	rl := &Realm{
		r:        r,
		name:     cfg.Name,
		cfg:      cfg,
		log:      r.log.With("realm", cfg.Name),
		sessions: make(map[protocol.ID]*sess),
		dealer:   newDealer(),
		broker:   newBroker(),
	}
	rl.installMeta()
	return rl
}

// Name returns the realm's URI.
func (rl *Realm) Name() string { return rl.name }

// OnJoin adds a hook run after each session joins the realm, on that
// session's goroutine before its first message is routed. Hooks must
// return quickly; they may call Publish.
func (rl *Realm) OnJoin(f func(*SessionInfo)) {
	rl.hookMu.Lock()
	rl.onJoin = append(rl.onJoin, f)
	rl.hookMu.Unlock()
}

// OnLeave adds a hook run after a session has left the realm (its
// registrations and subscriptions are already gone). Hooks must return
// quickly; they may call Publish.
func (rl *Realm) OnLeave(f func(*SessionInfo)) {
	rl.hookMu.Lock()
	rl.onLeave = append(rl.onLeave, f)
	rl.hookMu.Unlock()
}

func (rl *Realm) runHooks(join bool, info *SessionInfo) {
	rl.hookMu.Lock()
	hooks := rl.onLeave
	if join {
		hooks = rl.onJoin
	}
	hooks = slices.Clone(hooks)
	rl.hookMu.Unlock()
	for _, h := range hooks {
		h(info)
	}
}

// Publish publishes an event from the router itself: every subscriber of a
// matching subscription receives it, with no publisher disclosed. It is
// not subject to the Authorizer. An invalid topic is ignored (and logged).
func (rl *Realm) Publish(topic string, args protocol.List, kwargs protocol.Dict) {
	if !validURI(topic, matchExact) {
		rl.log.Warn("internal publish to invalid topic ignored", "topic", topic)
		return
	}
	var b batch
	rl.mu.Lock()
	rl.publishLocked(&b, nil, topic, nil, args, kwargs)
	rl.mu.Unlock()
	b.flush()
}

// SessionCount returns the number of sessions joined to the realm.
func (rl *Realm) SessionCount() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.sessions)
}
