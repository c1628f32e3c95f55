// Package session is the WAMP session layer: the client side of a WAMP v2
// session (join with authentication, caller, callee, publisher, subscriber,
// GOODBYE) and, in accept*.go, the router side of the opening handshake.
//
// It sits above package transport (a [transport.Peer] carries messages) and
// below the router and the reconnecting client. A [Session] is one joined
// realm on one connection; it does not reconnect.
//
// # Concurrency
//
// Every method of [Session] is safe for concurrent use. One goroutine (the
// reader) owns Peer.Recv and never runs user code; writes go through
// Peer.Send, which is concurrency-safe. Handlers ([Handler], [EventHandler],
// progress callbacks, revocation callbacks) run on other goroutines and may
// call back into the session without deadlocking.
//
//   - Progressive results of a call are delivered in order on the goroutine
//     that called [Session.Call], before Call returns the final result.
//   - Invocations run on at most Config.InvocationConcurrency worker
//     goroutines; further invocations wait in a bounded queue; when that queue
//     is full the invocation is answered with ERROR wamp.error.runtime_error
//     ("callee overloaded") and the reader moves on.
//   - Events of one subscription are delivered in order by one goroutine per
//     subscription fed by a queue of Config.EventQueueSize. When the queue is
//     full the new event is dropped, a warning is logged and
//     [Subscription.Dropped] counts it; other subscriptions and the reader are
//     never stalled by a slow handler.
//
// # Errors
//
// ERROR replies become [*Error] (matchable with errors.Is against the
// sentinels such as [ErrNoSuchProcedure]); a session that ends fails every
// pending request with an error matching [ErrSessionClosed] (local Close or
// router GOODBYE), [ErrConnectionLost], [ErrProtocolViolation] or an
// [*AbortError].
package session
