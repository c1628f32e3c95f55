// Package auth holds WAMP authentication: client-side methods that answer a
// router's CHALLENGE (ticket, WAMP-CRA plain and salted, cryptosign,
// anonymous) and router-side authenticators that issue challenges and verify
// the answers.
//
// It sits beside the session package, which drives the HELLO / CHALLENGE /
// AUTHENTICATE / WELCOME exchange; auth knows nothing of transports.
// Secrets held by values of this package never appear in their String output
// or in the errors they return.
package auth
