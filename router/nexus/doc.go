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
// Close the Service when the router is done with it: it releases the data
// directory.
//
// For `izaber-wamp router --demo`, [WriteDemoUsers] writes a users file with
// fresh credentials for backend-1, frontend-1 (also with a WAMP-CRA secret)
// and trust-1 and returns them for printing. [HashPassword] (or
// `izaber-wamp router hash-password`) makes a password_hash value.
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
//	quotas:                      # optional; see Quotas (these override Config.Quotas)
//	  metadata_value_bytes: 1048576
//
// password_hash is passlib's pbkdf2_sha256 format, which Nexus stores, so
// hashes can be copied from a Nexus database; `izaber-wamp router
// hash-password` prints one for a password read from standard input. A
// plaintext password (and wampcra_secret, which is necessarily plaintext)
// is accepted only in a file other users cannot read (mode 0600 or
// stricter): New refuses a group- or world-readable file holding one,
// unless Config.AllowReadableSecrets, and warns about a readable file
// holding hashes only. Unknown keys, bad hashes, undefined roles,
// duplicate logins or keys and bad patterns are errors (*ConfigError)
// naming the file, the key (such as users[2].role) and the problem, never
// a secret.
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
// A login reveals nothing about who exists. A failed ticket login costs
// the same whoever it names (known, unknown or disabled): one PBKDF2 at
// the strongest password_hash iteration count of the file (weaker hashes
// and plaintext passwords are padded up to it), one API-key digest and one
// read of the stored keys, with constant-time comparisons. A WAMP-CRA
// HELLO for a login without a WAMP-CRA secret (unknown, disabled, or
// ticket-only) gets a decoy CHALLENGE with the shape (salted or not,
// iterations, keylen) of a real WAMP-CRA user picked by a keyed hash of
// the login, and a salt derived the same way, so it is stable per login;
// no challenge carries the user's role. A cryptosign HELLO with an unknown
// key is challenged too. Every answer to a decoy is refused like a wrong
// secret.
//
// Failed logins (and auth.authenticate, auth.reauthenticate) are throttled
// per authid and per remote address by an auth.Throttle (Config.Throttle):
// after 3 failures in a row, attempts take turns 250 ms apart, doubling up
// to 30 s; they are logged as summaries, one line per address per minute,
// never each.
//
// # Authorization
//
// Roles hold rules: a URI pattern and Nexus permission letters c (call),
// r (register), s (subscribe), p (publish), o (roster register/unregister on
// the roster name) and q (roster query); '+' after a letter makes it
// elevated: it holds only within two minutes of the session's login or
// last auth.reauthenticate. Patterns are exact ("a.b.c"), end in "*" (one
// or more further segments: "a.*"), or have /regex/ segments matching one
// segment case-insensitively from its start ("a./^x|y$/.c"). The rule with
// the most segments that matches wins, then the one with the most literal
// segments; two best rules that tie deny.
//
// A prefix or wildcard registration or subscription (WAMP's match
// policies: a prefix is a plain string prefix, so com.izaber.wamp.app.adm
// also matches com.izaber.wamp.app.admin) is decided over every URI it
// matches, component by component: allowed whole when the rules allow
// them all, refused (not_authorized) when they allow none, and otherwise
// accepted with each call or event checked before the router delivers it,
// so that a role with a hole in its namespace (com.izaber.wamp.app.* but
// not com.izaber.wamp.app.admin) may subscribe to com.izaber.wamp.app.
// and never receives com.izaber.wamp.app.admin events. A /regex/ segment
// over a component the pattern leaves free makes the decision
// URI-by-URI.
//
// The built-in roles are the ones Nexus ships (its devdb, which the
// zaberit/nexus test image uses), so that what works here works on Nexus
// (P is com.izaber.wamp.):
//
//	role      rules
//	public    P+public crsp; P+discovery.kncknc p; P+discovery.whsthr s;
//	          P+/dashboard:.*:dashboardRegistry/.get c; P+system.roster.query c; roster.* q
//	frontend  P+public.* crsp; P+frontend.* crsp; P+reauth c+r+;
//	          P+auth.{whoami,authenticate,reauthenticate,reauthenticate_expire,
//	            is_reauthenticated,extend_reauthenticate,refresh_authorizer} c;
//	          P+my.* c; my.* c; P+ad.users c; P+ad.groups c;
//	          P+system.db.{query,create,update,upsert,delete} c;
//	          P+system.preference.{get,set} c; P+system.{is,extend}_reauthenticate c;
//	          P+/zerp.*/.* cs; P+/dashboard:.*:dashboardRegistry/.get c; P+/dashboard:.*/.* cs;
//	          P+directory.{users,groups} c; P+notification.router.registerDestination c;
//	          P+system.roster.{register,unregister,query} c; roster.* oq;
//	          P+graphs.product_graph_consumption c
//	backend   P+* crsp; roster.* oq
//	trust     * crspoq (trust and trusted bypass role rules)
//
// So, as on Nexus, a backend session may not call bare auth.whoami or
// my.*, the wamp.* meta API, or anything outside com.izaber.wamp.; a
// frontend one may call bare my.* but not bare auth.whoami; an anonymous
// one may not call whoami at all. Config.PermissiveRoles (`izaber-wamp
// router --permissive`) gives frontend and backend the single rule
// "*: crspoq" for local development.
//
// Sessions that logged in with an API key or OTP are also restricted: no
// access to my.apikeys.*, my.apikey.*, my.otp.*, my.otps.*, system.otp.* and
// system.db.* (bare and prefixed), unless the key's own permissions list
// grants it; a key with its own permissions is an allow-list (URIs none of
// its rules match are denied). A key or OTP created by such a session also
// keeps that session's permission lists (shown as inherited_permissions):
// it allows only what its creator's lists allow too, so a key that may
// only manage keys cannot mint one that reads metadata; keys can be minted
// at most 8 sessions deep. A session of a deleted or expired API key loses
// all access. A denial is ERROR wamp.error.not_authorized with crossbar's
// message: `session (session_id=1, authid="alice", authrole="frontend") is
// not authorized to call procedure "x" on realm "izaber"` (register and
// subscribe alike; publish: `session not authorized to publish to topic
// 'x'`).
//
// # Services
//
// Each is registered bare and under com.izaber.wamp. (those marked P only
// under com.izaber.wamp., as Nexus does), takes positional (or keyword)
// arguments and returns what Nexus returns:
//
//	auth.whoami()                                 {authid, role}
//	P auth.authenticate(login, password)          whether the ticket logs login in (an OTP is used up)
//	auth.reauthenticate(password)                 120 (seconds of elevation), or false; P system.reauthenticate
//	auth.reauthenticate_expire()                  None; ends the elevation
//	auth.is_reauthenticated()                     seconds left, or false; P system.is_reauthenticated
//	auth.extend_reauthenticate()                  120, or false once expired; P system.extend_reauthenticate
//	auth.refresh_authorizer()                     None (the users file is read once)
//	ad.users(), ad.groups()                       [] (no LDAP, as Nexus without one); P directory.users, P directory.groups
//	system.roster.register(name, data, visibility=None)   record {key, name, session_id, created, visibility, data, uuid, owner}
//	system.roster.unregister(name)                true
//	system.roster.query(name)                     [data, ...] visible to the caller's role
//	my.metadata.set(key, value, yaml=False)       the value (a YAML string when yaml); P system.preference.set
//	my.metadata.get(key, yaml=False)              the value, or None; P system.preference.get
//	my.metadata.list(yaml=False)                  {key: {value, uuid, owner, created, modified}}
//	my.metadata.delete(key)                       None
//	my.apikeys.create(data_rec=None)              {uuid, owner, key, plaintext_key, description, expires, permissions}
//	my.apikeys.list()                             [API key, ...] with plaintext_key None
//	my.apikeys.delete(uuid)                       true
//	my.otp.create(data_rec=None) / my.otps.create {uuid, origin, expires, permissions, key, owner, login, plaintext_key}
//	my.otp.list() / my.otps.list                  [OTP, ...] with plaintext_key None
//	my.otp.delete(uuid) / my.otps.delete          true
//	system.otp.create(login, data_rec=None)       an OTP for another user (trust only); origin "<caller>@<ip> created token for <login>"
//	system.otp.list(login)                        that user's OTPs (trust only)
//	system.otp.delete(uuid)                       true (trust only; any user's OTP)
//
// Deleting another user's API key or OTP is
// com.izaber.wamp.error.permissiondenied, as on Nexus; a uuid that is not
// 22 characters of URL-safe base64 is com.izaber.wamp.error; an unknown
// one returns true. An OTP's origin is "<login>@<client IP>" ("@unix" over
// a Unix socket), from router.SessionInfo.RemoteAddr.
//
// Roster entries (one per session and name) go when their session leaves.
// Errors use Nexus's URIs: com.izaber.wamp.error.permissiondenied
// ["Permission Denied"] for a missing roster permission or a trusted
// service called by another role, com.izaber.wamp.error.quota_exceeded
// (see Quotas) for a request over a quota, and com.izaber.wamp.error
// [message] for anything else (bad arguments, unknown user, storage
// failure).
//
// # Storage
//
// Metadata, API keys and OTPs live in a bbolt database,
// Config.DataDir/nexus.db (without DataDir, in an unlinked temporary file
// that lasts as long as the Service). Each change is one transaction that
// writes only the pages it touches and is on disk (fsync) before the
// client gets its answer: a crash at any moment (even SIGKILL mid-write)
// loses no acknowledged write and leaves a database the next start opens.
// The file is locked: a second router on the same directory fails to
// start. Values keep their types (MessagePack), so bytes stay bytes.
// API keys and OTPs are stored as digests only (PBKDF2-SHA256 salted with
// the login, as Nexus computes them); plaintext_key exists only in the
// create answer. A data directory of an earlier version (one
// users/<login>.json per user, API keys in plaintext) is migrated on
// start: each file is imported in one transaction, without the plaintext
// keys, then removed; a file that cannot be read stays, and its user's
// requests fail until it is fixed or removed.
//
// # Differences from Nexus, on purpose
//
//   - Users, roles and passwords come from a YAML file, read once; there is
//     no LDAP, no ORM (system.db.*), no user management and no cookie
//     (HTTP) authentication. auth.refresh_authorizer does nothing.
//   - The documentation-required ('!') permission modifier is refused in
//     rules; system.document.*, system.vacuum*, system.sync and
//     system.subscribed are not provided.
//   - Both my.otp.* (Nexus source) and my.otps.* (what izaber-wamp calls)
//     exist, and the default API key/OTP restrictions cover the bare URIs
//     too (Nexus's my.apikey.* misses bare my.apikeys.create).
//   - Bugs of Nexus not reproduced: Nexus's my.otp.list fails with an
//     attribute error (it reads users[login].otp); ours lists the OTPs.
//     Re-registering a roster entry updates its visibility too (Nexus
//     keeps the first one because of a 'visbility' typo).
//   - Roster queries do not require a Nexus cookie, so anonymous sessions
//     with q on the roster name can query; the roster check (o, q) uses
//     the role rules, not key restrictions.
//   - Quotas bound what a user can store (Nexus has none), and API keys
//     are stored as digests only (Nexus keeps and lists plaintext_key).
//   - Keys and OTPs minted by a key session keep its permissions (on
//     Nexus they get the default restrictions, broader than their
//     creator's).
//   - system.otp.* answer permissiondenied to roles other than trust (on
//     Nexus only the role rules decide, and its backend rules allow them);
//     system.otp.delete deletes any user's OTP (Nexus refuses those the
//     caller does not own).
//   - auth.reauthenticate accepts the user's password only (Nexus also
//     takes an OTP, using it up, or an API key, with which a key session
//     could elevate itself).
//   - WAMP-CRA and cryptosign are offered besides ticket (Nexus offers
//     ticket, cookie and anonymous); their refusals are the same
//     permissiondenied ABORT.
//   - Two equally specific rules matching one URI deny it (Nexus raises an
//     internal error, which also denies).
//   - OTP expires is in UTC ("...+00:00"), not America/Vancouver. The
//     origin's address is the TCP peer's: X-Real-IP and X-Forwarded-For
//     are not trusted (a client could forge them).
//   - my.otp.create accepts an optional {permissions: [...]} to mint a
//     restricted OTP; my.apikeys.create refuses unknown fields.
package nexus
