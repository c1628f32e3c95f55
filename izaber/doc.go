// Package izaber is the Zaber facade of izaber-wamp, the Go counterpart of
// Python's izaber-wamp: it reads izaber.yaml, connects to Nexus with ticket
// authentication, prefixes URIs with uri_base, reconnects and restores
// registrations, subscriptions and roster entries, runs join/leave/
// disconnect hooks, and wraps the Nexus services (whoami, rosters,
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
//   - Unknown wamp.connection keys are reported as warnings, and a numeric
//     password is accepted as text. No directory is created while looking
//     for izaber.yaml.
//   - Roster entries registered through the client are registered again
//     after a reconnection or ChangeUser.
//   - Registrations and subscriptions are restored by the client itself; a
//     join hook does not need to (and should not blindly) register again.
//   - A handler returns a *session.Result (Yield(v) for Python's single
//     return value) and may return kwargs and several values.
package izaber
