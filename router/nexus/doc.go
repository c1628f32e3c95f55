// Package nexus gives the embeddable router of package router the
// authentication, authorization and services of Zaber's Nexus (the
// crossbar-based router behind wss://nexus.izaber.com/ws), so that clients
// written for Nexus, such as izaber-wamp, work against it unchanged. It is
// for development, tests and small embedded deployments; production runs
// Nexus.
//
// # Use
//
//	svc, err := nexus.New(nexus.Config{UsersFile: "users.yaml", DataDir: "data", AllowAnonymous: true})
//	// handle err
//	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
//		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
//	}}})
//	// handle err
//	err = svc.Install(r.Realm("izaber"))
//
// For `izaber-wamp router --demo`, [WriteDemoUsers] writes a users file with
// fresh credentials for backend-1, frontend-1 (also with a WAMP-CRA secret)
// and trust-1 and returns them for printing. [HashPassword] makes a
// password_hash value.
//
// # Users file
//
//	users:
//	  - login: Alice             # case-insensitive; WELCOME authid is lower-cased
//	    password_hash: "$pbkdf2-sha256$100000$<salt>$<checksum>"   # or password: plaintext
//	    role: frontend           # frontend (default), backend, trust, or a role under roles:
//	    wampcra_secret: s3cret   # optional; with wampcra_salt (and wampcra_iterations,
//	    wampcra_salt: pepper     #   default 1000, wampcra_keylen, default 32) it is salted
//	    cryptosign_pubkeys: [<64 hex digits>]   # optional Ed25519 public keys
//	    disabled: false          # a disabled user cannot log in
//	    uuid: <id>               # optional owner id of the user's records
//	roles:                       # optional; a listed role replaces that role's rules
//	  frontend:
//	    - {uri: "com.example.*", perms: "cs"}
//
// password_hash is passlib's pbkdf2_sha256 format, which Nexus stores, so
// hashes can be copied from a Nexus database. A plaintext password is also
// accepted for convenience. Unknown keys, bad hashes, undefined roles,
// duplicate logins or keys and bad patterns are errors (*ConfigError) naming
// the file, the key (such as users[2].role) and the problem, never a secret.
//
// # Authentication
//
// Ticket authentication accepts, in this order, the user's password, one of
// the user's OTPs (single use: deleted by the attempt; valid 10 minutes) and
// one of the user's unexpired API keys. WAMP-CRA (plain or salted) and
// cryptosign are offered when some user has a secret or a key; anonymous
// sessions get role "public" when Config.AllowAnonymous is set. Every
// refusal (unknown user, wrong secret, disabled user, used or expired OTP)
// is ABORT com.izaber.wamp.error.permissiondenied with message
// "Permission Denied". WELCOME carries authprovider "nexus" and authextra
// {cache_id, has_restrictions}; the service remembers, per cache_id, how the
// session authenticated.
//
// # Authorization
//
// Roles hold rules: a URI pattern and Nexus permission letters c (call),
// r (register), s (subscribe), p (publish), o (roster register/unregister on
// the roster name) and q (roster query). Patterns are exact ("a.b.c"), end in
// "*" (one or more further segments: "a.*"), or have /regex/ segments
// matching one segment case-insensitively from its start ("a./^x|y$/.c").
// The rule with the most segments that matches wins, then the one with the
// most literal segments; two best rules that tie deny. Defaults:
//
//	public:   roster.* oq; call system.roster.query and auth.whoami (bare and com.izaber.wamp.)
//	frontend: roster.* oq; call system.roster.*, my.* and auth.* (bare and com.izaber.wamp.)
//	backend:  * crspoq
//	trust:    everything (trust and trusted bypass role rules)
//
// Sessions that logged in with an API key or OTP are also restricted: no
// access to my.apikeys.*, my.apikey.*, my.otp.*, my.otps.*, system.otp.* and
// system.db.* (bare and prefixed), unless the key's own permissions list
// grants it; a key with its own permissions is an allow-list (URIs none of
// its rules match are denied). A session of a deleted or expired API key
// loses all access. A denial is ERROR wamp.error.not_authorized with
// crossbar's message: `session (session_id=1, authid="alice",
// authrole="frontend") is not authorized to call procedure "x" on realm
// "izaber"` (register and subscribe alike; publish: `session not authorized
// to publish to topic 'x'`).
//
// # Services
//
// Each is registered bare and under com.izaber.wamp., takes positional (or
// keyword) arguments and returns what Nexus returns:
//
//	auth.whoami()                                 {authid, role}
//	system.roster.register(name, data, visibility=None)   record {key, name, session_id, created, visibility, data, uuid, owner}
//	system.roster.unregister(name)                true
//	system.roster.query(name)                     [data, ...] visible to the caller's role
//	my.metadata.set(key, value, yaml=False)       the value (a YAML string when yaml)
//	my.metadata.get(key, yaml=False)              the value, or None
//	my.metadata.list(yaml=False)                  {key: {value, uuid, owner, created, modified}}
//	my.metadata.delete(key)                       None
//	my.apikeys.create(data_rec=None)              {uuid, owner, key, plaintext_key, description, expires, permissions}
//	my.apikeys.list()                             [API key, ...]
//	my.apikeys.delete(uuid)                       true (only the caller's own keys are deleted)
//	my.otp.create(data_rec=None) / my.otps.create {uuid, origin, expires, permissions, key, owner, login, plaintext_key}
//	my.otp.list() / my.otps.list                  [OTP, ...] with plaintext_key None
//	my.otp.delete(uuid) / my.otps.delete          true
//
// Roster entries (one per session and name) go when their session leaves.
// Errors use Nexus's URIs: com.izaber.wamp.error.permissiondenied
// ["Permission Denied"] for a missing roster permission, and
// com.izaber.wamp.error [message] for anything else (bad arguments,
// unknown user, storage failure).
//
// Metadata, API keys and OTPs persist in Config.DataDir/users/<login>.json,
// one JSON file per user, replaced atomically (temporary file, fsync,
// rename). A file that cannot be read is left untouched and the user's
// requests fail until it is fixed. Without DataDir they live in memory.
// API keys are stored with their digest (PBKDF2-SHA256 salted with the
// login, as Nexus computes it) and, as in Nexus, their plaintext_key, which
// my.apikeys.list returns; OTPs are stored as digests only.
//
// # Differences from Nexus, on purpose
//
//   - Users, roles and passwords come from a YAML file, read once; there is
//     no LDAP, no ORM (system.db.*), no user management and no cookie
//     (HTTP) authentication.
//   - The elevated ('+') and documentation-required ('!') permission
//     modifiers are refused in rules; auth.reauthenticate and friends,
//     system.document.*, system.vacuum, ad.* are not provided.
//   - Both my.otp.* (Nexus source) and my.otps.* (what izaber-wamp calls)
//     exist, and the default API key/OTP restrictions cover the bare URIs
//     too (Nexus's my.apikey.* misses bare my.apikeys.create).
//   - Re-registering a roster entry updates its visibility too (Nexus keeps
//     the first one because of a typo), and roster queries do not require
//     a Nexus cookie, so anonymous sessions can query.
//   - The roster permission check (o, q) uses the role rules only.
//   - The default frontend role may also call system.roster.* (Nexus's test
//     roles give frontend only roster.* oq, which makes rosters unusable
//     for it).
//   - WAMP-CRA and cryptosign are offered besides ticket (Nexus offers
//     ticket, cookie and anonymous); their refusals are the same
//     permissiondenied ABORT.
//   - Two equally specific rules matching one URI deny it (Nexus raises an
//     internal error, which also denies).
//   - OTP expires is in UTC ("...+00:00"), not America/Vancouver; origin is
//     "<login>@unknown" because the router does not expose peer addresses.
//   - my.otp.create accepts an optional {permissions: [...]} to mint a
//     restricted OTP; my.apikeys.create refuses unknown fields.
//   - Metadata values are stored as JSON: binary values come back as
//     base64 strings after a restart.
//   - Per-user limits: 10000 metadata keys, 1000 API keys, 1000 live OTPs;
//     1000 roster entries per session.
package nexus
