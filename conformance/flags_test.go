package conformance

import (
	"flag"
	"os"
	"strings"

	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
)

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// Router under test. Each flag has an environment variable of the same
// meaning, so `go test ./...` can be pointed at a router without -args.
var (
	flagWS   = flag.String("ws", os.Getenv("WAMP_CONFORMANCE_WS"), "WebSocket URL of the router under test (env WAMP_CONFORMANCE_WS)")
	flagTCP  = flag.String("tcp", os.Getenv("WAMP_CONFORMANCE_TCP"), "RawSocket TCP URL, tcp://host:port (env WAMP_CONFORMANCE_TCP)")
	flagUnix = flag.String("unix", os.Getenv("WAMP_CONFORMANCE_UNIX"), "RawSocket Unix URL, unix:///path (env WAMP_CONFORMANCE_UNIX)")
	flagURL  = flag.String("router-url", os.Getenv("WAMP_CONFORMANCE_URL"), "one router URL; its scheme picks the transport column (env WAMP_CONFORMANCE_URL)")

	flagRealm       = flag.String("realm", envOr("WAMP_CONFORMANCE_REALM", testrouter.Realm), "realm to join (env WAMP_CONFORMANCE_REALM)")
	flagSerializers = flag.String("serializers", envOr("WAMP_CONFORMANCE_SERIALIZERS", "json,msgpack,cbor"), "serializers to test (env WAMP_CONFORMANCE_SERIALIZERS)")
	// Credentials default to the principals of testdata/crossbar/config.json.
	// An empty value drops that authentication column.
	flagAnonymous = flag.Bool("anonymous", envOr("WAMP_CONFORMANCE_ANONYMOUS", "true") == "true", "test anonymous authentication (env WAMP_CONFORMANCE_ANONYMOUS=true|false)")
	flagTicket    = flag.String("ticket", envOr("WAMP_CONFORMANCE_TICKET", testrouter.TicketAuthID+":"+testrouter.TicketSecret), "authid:ticket for ticket auth, empty to skip (env WAMP_CONFORMANCE_TICKET)")
	flagCRA       = flag.String("wampcra", envOr("WAMP_CONFORMANCE_WAMPCRA", testrouter.CRAAuthID+":"+testrouter.CRASecret), "authid:secret of an unsalted WAMP-CRA user, empty to skip (env WAMP_CONFORMANCE_WAMPCRA)")
	flagCRASalted = flag.String("wampcra-salted", envOr("WAMP_CONFORMANCE_WAMPCRA_SALTED", testrouter.SaltedAuthID+":"+testrouter.SaltedSecret), "authid:secret of a salted WAMP-CRA user, empty to skip (env WAMP_CONFORMANCE_WAMPCRA_SALTED)")

	flagURIPrefix  = flag.String("uri-prefix", envOr("WAMP_CONFORMANCE_URI_PREFIX", "conformance"), "URI prefix of the procedures and topics the matrix uses (env WAMP_CONFORMANCE_URI_PREFIX)")
	flagReport     = flag.String("report", os.Getenv("WAMP_CONFORMANCE_REPORT"), "write the matrix report (JSON) here (env WAMP_CONFORMANCE_REPORT)")
	flagRouterName = flag.String("router-name", envOr("WAMP_CONFORMANCE_ROUTER", "router under test"), "name of the router for the report (env WAMP_CONFORMANCE_ROUTER)")
	flagParallel   = flag.Int("cells-parallel", 3, "cells run at the same time")
)

// transports returns the transport columns to test: name → URL.
func transports() [][2]string {
	var out [][2]string
	add := func(name, url string) {
		if url != "" {
			out = append(out, [2]string{name, url})
		}
	}
	add("websocket", *flagWS)
	add("rawsocket-tcp", *flagTCP)
	add("rawsocket-unix", *flagUnix)
	if u := *flagURL; u != "" {
		switch {
		case strings.HasPrefix(u, "ws:"), strings.HasPrefix(u, "wss:"):
			add("websocket", u)
		case strings.HasPrefix(u, "unix:"):
			add("rawsocket-unix", u)
		default:
			add("rawsocket-tcp", u)
		}
	}
	return out
}

// credential splits "authid:secret".
func credential(s string) (authid, secret string, ok bool) {
	authid, secret, ok = strings.Cut(s, ":")
	return authid, secret, ok && authid != ""
}
