// Package auth holds WAMP authentication: client-side methods that answer a
// router's CHALLENGE (ticket, WAMP-CRA plain and salted, cryptosign,
// anonymous) and router-side authenticators that issue challenges and verify
// the answers.
//
// It sits beside the session package, which drives the HELLO / CHALLENGE /
// AUTHENTICATE / WELCOME exchange (session.Join on the client,
// session.Accept on the router); auth knows nothing of transports.
//
// # Client side
//
// [Ticket], [WAMPCRA], [Cryptosign] and [Anonymous] return a [ClientMethod].
// A method answers only a CHALLENGE naming its own authmethod; any other
// fails with [ErrMethodMismatch], and the session then sends ABORT instead of
// a secret. Malformed challenges fail with [ErrBadChallenge]; a salted
// WAMP-CRA challenge asking for more than 2^24 PBKDF2 block computations is
// refused. Every method of this package answers one CHALLENGE per join, as
// the WAMP specification defines them; session.Join refuses a router that
// challenges again, or challenges another method after an answer. A
// custom method with several rounds says so with [MultiRound].
//
// # Router side
//
// [AnonymousAuthenticator], [TicketAuthenticator], [CRAAuthenticator] and
// [CryptosignAuthenticator] return an [Authenticator] built around a lookup
// function the router supplies. A refusal is a [*Denied] (ABORT reason and
// message); a *Denied returned by a lookup function is passed on unchanged,
// so a router can answer as Nexus does
// (com.izaber.wamp.error.permissiondenied, "Permission Denied"). WAMP-CRA
// uses a fresh challenge per attempt and compares in constant time.
// [DeriveCRAKey] and [SignCRA] are the WAMP-CRA primitives, checked against
// autobahn's test vectors.
//
// # Secrets
//
// Secrets held by values of this package (tickets, CRA secrets and keys,
// private keys) never appear in their String, GoString, fmt, slog or JSON
// output, nor in the errors this package returns; errors do not quote
// challenge contents either. A lookup function's own error is kept as the
// cause of a Denied (errors.Is/As, logs) but never sent to the client.
package auth
