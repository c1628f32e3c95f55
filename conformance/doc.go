// Package conformance checks a WAMP router (crossbar, Nexus, our own router,
// or any other) against this module's client, and foreign clients against
// our router. Its subpackages check routers against the WAMP spec itself:
// scenario (the rules, runner and reports; cmd/wamp-conformance is its
// command), wire (byte-level connections), fault (router doubles that
// prove each scenario can fail) and testrouter (our router in-process with
// the test principals).
//
// The matrix test runs every combination of transport (WebSocket, RawSocket
// TCP, RawSocket Unix), serializer (json, msgpack, cbor) and authentication
// (anonymous, ticket, WAMP-CRA, salted WAMP-CRA) through the same list of
// checks and writes a JSON report. Point it at a router with flags or
// environment variables:
//
//	go test ./conformance/ -run TestMatrix -v -args \
//	    -ws ws://127.0.0.1:18280/ws -tcp tcp://127.0.0.1:18281 \
//	    -unix unix:///path/to/socket -report /tmp/report.json
//
// Without a router the matrix test is skipped with a loud message; `make
// conformance` starts a crossbar node (scripts/crossbar.sh) and runs it.
// [WriteDoc] renders reports into docs/CONFORMANCE.md (see the gendoc
// command in this directory).
package conformance
