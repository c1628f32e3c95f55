// Package izaber is the Zaber facade of izaber-wamp, the Go counterpart of
// Python's izaber-wamp: it reads izaber.yaml, connects to Nexus (ticket,
// WAMP-CRA, cryptosign or anonymous login), prefixes URIs with uri_base,
// reconnects and restores registrations, subscriptions and roster entries,
// runs join/leave/disconnect hooks, runs handlers in Python's named
// concurrency queues, and wraps the Nexus services (whoami, rosters,
// metadata, API keys, OTPs).
//
// It sits at the top of the stack: protocol, transport, auth and session
// carry the WAMP messages; package client supervises one session at a time
// and replays the desired state after a reconnect; izaber adds only the
// Zaber conventions.
//
// Quick start, with izaber.yaml holding
//
//	default:
//	  wamp:
//	    connection:
//	      url: wss://nexus.izaber.com/ws
//	      username: USERNAME
//	      password: PASSWORD
//
// a program connects and calls com.izaber.wamp.auth.whoami with
//
//	wamp, err := izaber.Initialize(ctx, izaber.Source{}) // Python: izaber.initialize()
//	if err != nil { ... }
//	defer wamp.Close(ctx)
//	me, err := wamp.WhoAmI(ctx)               // or wamp.Call(ctx, "auth.whoami", nil, nil)
//
// The API, in the order a script meets it:
//
//   - Configuration is data: Load reads izaber.yaml (Source says where
//     from) into Settings, whose Config is the wamp.connection section;
//     a Config may also be built in code. Initialize is Load, New and
//     Connect in one call.
//   - Client methods do the work: Call, Register, Subscribe, Publish (and
//     their undo), hooks (OnJoin, OnLeave, OnDisconnect, OnState, ...),
//     ChangeUser and Spawn, and the Nexus helpers named after the Nexus
//     services (WhoAmI, RosterRegister, MetadataSet, APIKeysCreate,
//     OTPCreate, ...).
//   - Per-request options are session.Option values, the one option type
//     of every layer: session.Timeout, session.Match,
//     session.ForceReregister, session.Acknowledge(false) (fire and
//     forget), session.WithOption for any other key, and the facade's own
//     Absolute.
//
// Python's wamp.hook('join', fn) before initialize() is Client.OnJoin
// between New and Connect; izaber_wamp.AUTORUN = False is wamp.run: false
// (Initialize then returns an unconnected client) or New without
// Connect; change_user and spawn_connection are Client.ChangeUser and
// Client.Spawn; register(uri, fn, details={...}) passes each key with
// session.WithOption.
//
// # izaber.yaml
//
// Load reads the keys below from the selected environment (merged over
// "default"); each maps to the Config field named after it, whose comment
// says more. Durations are seconds (Python's unit) or Go durations
// ("1m30s"). Then $IZABER_URL, $IZABER_REALM, $IZABER_USER,
// $IZABER_PASSWORD, $IZABER_SERIALIZER, $IZABER_URI_BASE,
// $IZABER_AUTHMETHODS, $IZABER_WAMPCRA_SECRET and
// $IZABER_CRYPTOSIGN_KEY_FILE override izaber.yaml, and what the program
// sets in the Config overrides both.
//
//	wamp.run                  true; false: Initialize does not connect (Python's AUTORUN = False)
//	wamp.connection:
//	  url                     wss://nexus.izaber.com/ws; ws, wss, tcp(s), tcpip(s), unix
//	  username, password      anonymous, changeme (Python's defaults, announced when used)
//	  authid                  the username
//	  authmethods             [ticket]; also wampcra, cryptosign, anonymous (see Config.AuthMethods)
//	  wampcra_secret          the WAMP-CRA secret; default: the password
//	  cryptosign_key_file     Ed25519 key: hex seed or PKCS #8 PEM, relative to izaber.yaml
//	  realm                   izaber
//	  uri_base                com.izaber.wamp; "" for none
//	  serializer, serializers cbor; the list wins over the single name
//	  agent                   HELLO's agent
//	  timeout                 300: each request; 0 for none
//	  connect_timeout         30: the first connection, with its retries
//	  auto_reconnect          true (or the first delay in seconds); false or 0 disables
//	  backoff_initial, backoff_max, max_retries   1, 60, 0 (forever): reconnection
//	  ping_interval, heartbeat_timeout            3, 10: keep-alive; ping_interval 0 disables
//	  max_payload_size        50000000 bytes, each way
//	  concurrency_max         64 handlers running per queue; 0: unlimited (see Queue)
//	  concurrency_queue_max   8 per running slot waiting per queue (the waitlist); 0: unlimited
//	  concurrency_configs     {name: {concurrency_max, queue_max}} per queue; "default" for all
//	  concurrency_strict_naming  true: Register/Subscribe refuse unknown queue names
//	  event_queue_size        1024 events buffered per subscription; more are dropped and counted
//	  tls: {ca_file, cert_file, key_file, server_name, insecure}   wss, tcps, tcpips
//
// Python's loop_timeout, sockopt, sslopt and concurrency_class are accepted
// with a warning and have no effect; wamp.zerp is left to izaber-wamp-zerp.
// Any other key, or a misspelt section, is reported with the closest known
// name ("did you mean password?").
//
// Where it deliberately differs from Python:
//
//   - An absolute URI (one that already starts with uri_base+"." or with
//     "wamp.") is not prefixed again, and Absolute() sends a URI as is.
//   - Errors keep the ERROR's URI, args, kwargs and details (*session.Error).
//   - The first connection is bounded by ConnectTimeout; an unreachable
//     router is an error, never a hang.
//   - ChangeUser opens the new session before closing the old one, moves the
//     registrations and subscriptions, and leaves everything as it was when
//     the switch fails.
//   - Reconnection backs off exponentially with jitter, reports every
//     registration it cannot restore, and surfaces revocation by another
//     session's force_reregister instead of fighting it.
//   - Events on one subscription are delivered in order.
//   - Unknown or misspelt keys and sections are reported as warnings, with
//     the closest known name, and logged when the client is made; so is the
//     use of the production Nexus URL or of Python's default password. A
//     numeric password is accepted as text. No directory is created while
//     looking for izaber.yaml.
//   - A Client without a Logger shows warnings and errors through
//     slog.Default(), like Python's logging; every retry of a connection
//     and every failed re-login is logged with its delay.
//   - A failed connection is one sentence (*ConnectError, *LoginError)
//     naming the URL, the user and where the password came from; what
//     retrying cannot fix (a malformed URL, an HTTP answer that is not a
//     WebSocket, a TLS certificate that does not verify, a refused login)
//     fails at once and matches ErrConfig.
//   - Named concurrency queues keep each subscription's events in order
//     and are bounded by default (see Queue).
//   - Roster entries registered through the client are registered again
//     after a reconnection or ChangeUser.
//   - Registrations and subscriptions are restored by the client itself; a
//     join hook does not need to (and should not blindly) register again.
//   - A handler returns a *session.Result (Yield(v) for Python's single
//     return value) and may return kwargs and several values.
package izaber
