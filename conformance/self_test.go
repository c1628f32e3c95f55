package conformance

import (
	"flag"
	"os"
	"testing"

	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
)

var flagSelf = flag.Bool("self", os.Getenv("WAMP_CONFORMANCE_SELF") == "1",
	"run the matrix against our own router, started in-process with the principals of testdata/crossbar/config.json (env WAMP_CONFORMANCE_SELF=1)")

// startSelfRouter serves our router (conformance/testrouter: no authorizer,
// everything allowed, like the crossbar test node, with the same
// principals) over WebSocket /ws, RawSocket TCP and RawSocket Unix on
// loopback, and points the matrix flags at it.
func startSelfRouter(t *testing.T) {
	srv, err := testrouter.Start(testrouter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	*flagWS = srv.WebSocket
	*flagTCP = srv.TCP
	*flagUnix = srv.Unix
	*flagURL = ""
	if *flagRouterName == "router under test" {
		*flagRouterName = "izaber-wamp Go router (in-process)"
	}
}
