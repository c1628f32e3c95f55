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
// retries it), and then runs the OnJoin hook.
//
// A registration revoked by the router (another session used
// force_reregister) is reported through OnRevoked and dropped from the
// desired state, so the Client never fights the session that took it over.
//
// Ownership: Client.mu guards the current session, the state, the desired
// registrations and subscriptions and the hooks' bookkeeping; Client.opMu
// serializes changes of the desired state with their replay on a session;
// Client.connectMu serializes Connect calls (lock order: connectMu, opMu,
// mu). The hooks OnJoin, OnLeave and OnDisconnect run without any lock held,
// so they may call the Client; Close called from a hook must be given a
// context with a deadline, since it waits for the goroutine running the hook. The supervisor goroutine (run) owns the
// connect/reconnect loop; user hooks never run on a session's reader.
package client
