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
// reader) owns Peer.Recv: it reads the connection, decodes and dispatches
// each message itself (the transport has no reader goroutine of its own)
// and never runs user code. Writes go through Peer.Send from the goroutine
// that made the message: a request waits, bounded by its caller's context,
// only for room in the connection's outbox, never for another request's
// write, and a context that ends fails that request alone (the connection
// stays open). Messages the reader itself sends (ABORT, GOODBYE replies,
// refused invocations) and CANCEL are queued without waiting. While the
// reader dispatches the messages already received, writes are held
// (transport.NetPeer.HoldWrites): the answers of the callers and workers it
// wakes go out together once it returns to the socket. Handlers
// ([Handler], [EventHandler], progress callbacks, revocation callbacks) run
// on other goroutines and may call back into the session without
// deadlocking. (Close waits for running handlers, so a handler that calls
// Close should pass a bounded context.)
//
//   - Progressive results of a call are delivered in order on the goroutine
//     that called [Session.Call], before Call returns the final result.
//   - Invocations run on at most Config.InvocationConcurrency worker
//     goroutines (started on demand, kept until the session ends); further
//     invocations wait in a queue of 8*InvocationConcurrency; when that queue
//     is full the invocation is answered at once with ERROR Config.ErrorURI
//     ("callee overloaded") and the reader moves on.
//   - Events of one subscription are delivered in order by one goroutine per
//     subscription fed by a queue of Config.EventQueueSize. When the queue is
//     full the new event is dropped, a warning is logged and
//     [Subscription.Dropped] counts it; other subscriptions and the reader are
//     never stalled by a slow handler.
//   - The input chunks of a streamed invocation wait for [Invocation.Recv] in
//     a queue of Config.EventQueueSize; when it is full the invocation fails
//     (ERROR Config.ErrorURI) rather than stall the reader.
//
// # Streams and opaque payloads
//
// Besides progressive results ([ReceiveProgress], [Invocation.Progress]),
// a caller can stream a call's input: [Session.CallStream] sends chunks
// with [CallStream.Send] and [CallStream.CloseSend] and waits with
// [CallStream.Result]; the callee reads them with [Invocation.Recv]
// (progressive call invocations; the router must announce
// progressive_call_invocations, as package router does and crossbar does
// not). The [Passthru] option sends a call or publication in payload
// passthru mode (an opaque, for example end-to-end encrypted, payload the
// router forwards untouched); receivers read it with the Passthru method of
// [Invocation], [Event] and [Result], and a callee answers with
// [PassthruResult].
//
// # Keep-alive
//
// A dead router is noticed within the connection's PingInterval +
// PongTimeout (transport.DialOptions) on every transport: WebSocket
// connections ping by themselves; on RawSocket, Join starts RawSocket PINGs
// after WELCOME, except towards crossbar (and so Nexus), recognised by the
// x_cb_* keys of WELCOME.Details, which drops a connection that sends it a
// PING. There a call to wamp.session.count, made when nothing arrived for
// PingInterval, is the ping: any reply, RESULT or ERROR, proves the router
// alive; when nothing at all arrives within PongTimeout the session ends
// with ErrConnectionLost. The probe runs on a runtime timer, without a
// goroutine of its own.
//
// # Errors
//
// ERROR replies become [*Error] (matchable with errors.Is against the
// sentinels such as [ErrNoSuchProcedure]); a session that ends fails every
// pending request with an error matching [ErrSessionClosed] (local Close or
// router GOODBYE), [ErrConnectionLost], [ErrProtocolViolation] or an
// [*AbortError].
//
// # Protocol strictness
//
// Request ids are session-scoped, sequential from 1 and wrap within
// [1, 2^53], and they reach the router in that order whatever the
// goroutines do: an id is taken and its request queued in one step, and a
// request that could not be queued (its context ended while it waited for
// the connection, it did not encode) gives its id back, since routers may
// enforce the order (package router does). A router message that is impossible in the session's state
// (WELCOME or CHALLENGE after the join, a reply of the wrong kind or for an
// id never used, invalid ids, ERROR for an invalid request type, a repeated
// INVOCATION id, a frame that does not decode) ends the session with ABORT
// wamp.error.protocol_violation.
// Known router quirks are tolerated: replies arriving after a request was
// abandoned (its context ended) or completed are ignored (a REGISTERED or
// SUBSCRIBED arriving after Register or Subscribe gave up is undone with
// UNREGISTER or UNSUBSCRIBE), INTERRUPT for an unknown invocation is ignored,
// INVOCATION ids may have gaps, any GOODBYE reason (crossbar's
// wamp.close.normal) is accepted, and anything but GOODBYE after our GOODBYE
// is ignored. Call timeouts ([Timeout]) run in the client, which sends
// CANCEL; crossbar's answer to a CALL timeout option (wamp.error.canceled,
// "timeout reached") matches [ErrTimeout].
package session
