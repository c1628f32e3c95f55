// Package scenario checks a WAMP router against the WAMP spec, one rule at
// a time, over every transport and serializer the router offers.
//
// Each Scenario names the rule it checks: an ID, a title, the spec section
// (a file and heading of wamp-proto's rfc/text), the requirement level
// (MUST, SHOULD, MAY) and the router feature it belongs to (taken from
// WELCOME.Details.roles; a router that does not announce a feature gets
// "not announced" for its scenarios, never a failure). A scenario talks to
// the router through package wire, so it can send what a polite client
// never sends; on failure its result carries the transcript of every frame
// exchanged.
//
// All returns the catalogue; Run runs scenarios against a router and
// returns a Report, which renders as text grouped by spec section, as JSON
// and as JUnit XML. Expectations list a router's known deviations, so that
// CI fails on any change: a new failure or a fixed one.
//
// Every scenario declares a Breaker (package fault): a router double that
// breaks exactly its rule. The package's tests run each scenario against
// the izaber-wamp router directly (it must pass) and through its breaker (it
// must fail), so no scenario passes whatever the router does.
package scenario
