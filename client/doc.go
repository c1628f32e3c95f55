// Package client is a reconnecting WAMP client: a supervisor above one
// session.Session at a time.
//
// It sits between package session (one WAMP session over one transport)
// and the izaber facade, and knows nothing about Zaber. A Client records
// every Register and Subscribe (URI, handler, original options) as desired
// state, even before the first connection, and replays it on every new
// session. When the connection drops, requests in flight fail at once with
// an error matching session.ErrConnectionLost (they are never replayed), the
// Client backs off exponentially with jitter up to a cap and an optional
// maximum number of attempts, joins again, restores the desired state,
// reports each registration or subscription it could not restore (and
// retries it), and then runs the OnJoin hook. Connect gives up at once on
// what retrying cannot fix (Permanent) and announces every retry through
// OnState.
//
// A registration revoked by the router (another session used
// force_reregister) is reported through OnRevoked and dropped from the
// desired state, so the Client never fights the session that took it over.
//
// Ownership: one goroutine, the owner, runs the lifecycle. Connect, Switch,
// Close and the changes of the desired state (Register, Unregister,
// Subscribe, Unsubscribe) are requests to it, so that a connection, a
// switch, a reconnection and a close never overlap and there is one copy of
// dial, join and adopt (owner.go). Dials and joins run on goroutines of
// their own, so the owner answers requests while a router is slow. Call and
// Publish read the current session, which the owner publishes under a
// mutex, and never wait for the owner. The hooks run on a separate hook
// goroutine, one at a time and in the order of the events, never on a
// session's reader; they may call the Client.
//
// Files: config.go (Config, Backoff, states, errors), client.go (the
// methods), owner.go (the lifecycle), desired.go (registrations and
// subscriptions across sessions), hooks.go, observe.go (Trace, Stats),
// errors.go (what retrying cannot fix).
package client
