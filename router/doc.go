// Package router is a small embeddable WAMP v2 router built on the
// session and transport packages of izaber-wamp.
//
// It is meant for development, tests and small embedded deployments: a
// router to talk to without installing crossbar, and an example of a custom
// router built on session.Accept. It is not a crossbar or Nexus
// replacement; production deployments connect to those.
//
// # What it routes
//
// A Router serves one or more realms. Each Realm has a dealer and a broker.
// WELCOME announces exactly the features below (protocol.RouterRoles), and
// session.Accept announces the same by default.
//
//   - Registrations with exact, prefix and wildcard matching (exact wins,
//     then the longest prefix, then the most specific wildcard);
//     INVOCATION.Details.procedure carries the called URI for pattern
//     registrations. Shared registrations (invoke single, roundrobin,
//     random, first, last); force_reregister revokes the previous
//     registration with UNREGISTERED. Progressive results (forwarded, as
//     crossbar does, to callees announcing progressive_call_results), call
//     canceling (skip, kill, killnowait; skip for callees without
//     call_canceling; after kill the caller gets wamp.error.canceled whatever
//     the callee answers with), call timeouts in milliseconds
//     (wamp.error.timeout), caller disclosure (disclose_me, the
//     registration's disclose_caller, or RealmConfig.Disclose). A callee
//     leaving mid-call fails the call with wamp.error.canceled; a caller
//     leaving interrupts the callee.
//   - Progressive call invocations: a CALL with progress=true opens a call
//     whose further CALLs with the same request id go, as INVOCATIONs with
//     one request id and the first CALL's details, to the callee the first
//     one picked. Callees without progressive_call_invocations and
//     call_canceling (and internal procedures) give
//     wamp.error.feature_not_supported; a caller that did not announce the
//     feature is aborted; chunks arriving after the call ended are dropped.
//   - Subscriptions with exact, prefix and wildcard matching (one id per
//     topic and match policy), publisher exclusion, acknowledgement,
//     eligible/exclude lists by session id, authid and authrole, publisher
//     disclosure. Event retention (retain, get_retained,
//     EVENT.Details.retained; prefix and wildcard subscriptions get every
//     matching topic's retained event; bounded per realm, see retain.go).
//   - Payload passthru mode: the ppt_* Options/Details (and autobahn's
//     enc_* spelling) and the opaque payload go from CALL to INVOCATION,
//     YIELD to RESULT, ERROR to ERROR and PUBLISH to EVENT untouched. For the
//     ppt_* spelling a sender that did not announce payload_passthru_mode is
//     aborted and a callee without it gives the caller
//     wamp.error.feature_not_supported.
//   - The session meta API: wamp.session.on_join / on_leave events, the
//     wamp.session.count, list and get procedures, and wamp.session.kill,
//     kill_by_authid and kill_by_authrole (GOODBYE with the reason, default
//     wamp.close.killed; the caller cannot kill itself; a victim that does
//     not answer GOODBYE is dropped).
//   - The registration and subscription meta APIs (wamp.registration.* and
//     wamp.subscription.*: list, lookup, match, get, list_callees /
//     list_subscribers, count_*, remove_callee / remove_subscriber, which
//     revoke with UNREGISTERED / UNSUBSCRIBED, and the on_create, on_register
//     / on_subscribe, on_unregister / on_unsubscribe and on_delete events),
//     with crossbar's shapes; wamp.* registrations and subscriptions are
//     hidden from them except for the authrole "trusted".
//   - Testaments (wamp.session.add_testament, flush_testaments), published
//     when the session goes however it goes, bounded per session.
//
// Services plug in through Realm.RegisterInternal (procedures run inside
// the router), Realm.Publish, Realm.OnJoin / OnLeave and an Authorizer per
// realm; router/nexus builds the Nexus-compatible service set on them.
//
// # Authorization and patterns
//
// A prefix or wildcard registration or subscription names many URIs, so
// authorizing its pattern string alone would let a session that may not
// register com.example.admin register the prefix com.example.adm and
// receive the admin calls. The router decides twice: at REGISTER or
// SUBSCRIBE time a PatternAuthorizer sees the pattern with its match
// policy and refuses it, allows it whole, or allows it URI by URI (a plain
// Authorizer is asked about the pattern string and never allows whole);
// and before each call or event delivered through a pattern not allowed
// whole, the Authorizer is asked about the concrete URI for the receiving
// session. A callee refused then is passed over in favour of the next
// matching registration; a subscriber refused then does not get the
// event. Refusing every overlapping pattern up front instead would take
// patterns away from roles with holes in their namespace and cannot work
// with authorizers that do not understand patterns; checking only at
// dispatch would cost a question per message even for roles allowed the
// whole pattern. CALL and PUBLISH name concrete URIs only (an empty
// component is wamp.error.invalid_uri), so callers and publishers are
// always asked about the exact URI.
//
// # Connections
//
// Router.WebSocketHandler and Router.ServeRawSocket accept clients with
// every configured serializer; Router.ServePeer serves any transport.Peer,
// such as one end of transport.Pipe. Before a session is established a
// client may send messages of at most Config.PreAuthMaxMessageSize (64 KiB)
// and must complete the handshake in time, and one IP address may have at
// most Config.MaxPendingPerAddress (64) such connections: a stranger costs
// the router about 64 KiB per connection, for a bounded number of them.
// Config.MaxConnectionsPerAddress optionally caps established connections
// too. A client that breaks the
// protocol gets ABORT wamp.error.protocol_violation; a message over
// Config.MaxMessageSize is refused the same way. Router.Close sends GOODBYE
// wamp.close.system_shutdown to every session and waits for the answers.
//
// Each session has one goroutine: its reader, which reads, decodes and
// routes its client's messages. Routing queues each resulting message for
// its destination (under the realm lock, never blocking) and the reader
// then hands them to the destinations' connections, which write without
// waiting for the socket (transport.NetPeer.Enqueue); a writer goroutine
// exists only while a connection has more than its socket takes. A reader
// that finds further messages already received routes them first, so a
// burst of requests becomes one write per destination. Keep-alive runs on
// timers. An idle session therefore costs one goroutine.
//
// # Flow control
//
// The router does not drop a client for being busy. When more than
// Config.BackpressureBytes wait to be written to a session, the sessions
// that send it messages are slowed down: after routing a message to it,
// their readers wait for it to drain, so they stop reading from their own
// clients, and TCP pushes back on those. A burst therefore slows its
// sender instead of costing anyone their session.
//
// One stalled session does not hold the many hostage. A reader waits only
// for destinations that make progress: one whose connection took no byte
// for 250ms is not waited for at all (each stalled subscriber can delay a
// publisher once, by 250ms), and the messages for it queue up. A session
// whose connection makes no progress for Config.WriteStallTimeout (10s)
// while data waits, or that is stalled with more than
// Config.OutboundQueueBytes (64 MiB) waiting, is dropped: it leaves the
// realm at once, and its connection sends ABORT wamp.error.timeout with a
// message saying why after the message being written, then closes (for
// WebSocket with close status 1008). Only such a session is ever dropped;
// the reason is logged.
//
// # Ownership and locking
//
// Router.mu guards the realm table, the set of sessions and listeners.
// Realm.mu guards all routing state of that realm, including each session's
// registrations, subscriptions and calls in flight; it is held only while
// tables are updated and messages queued, never during I/O, encoding or
// user code (authorizers, hooks, internal handlers). Code holding it queues
// messages through a batch (a session's reader has its own; timers,
// internal procedures and Realm.Publish make one) and flushes the batch once
// the lock is released; one goroutine at a time flushes a given session, so
// its messages keep their order. Lock order: Router.mu, then Realm.mu, then
// a session's outbound queue lock.
package router
