package izaber

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Defaults of the wamp.connection settings; the same values as Python's
// izaber-wamp where Python has one.
const (
	DefaultURL              = "wss://nexus.izaber.com/ws"
	DefaultUsername         = "anonymous"
	DefaultPassword         = "changeme"
	DefaultRealm            = "izaber"
	DefaultURIBase          = "com.izaber.wamp"
	DefaultTimeout          = 300 * time.Second
	DefaultPingInterval     = 3 * time.Second
	DefaultHeartbeatTimeout = 10 * time.Second
	DefaultMaxPayloadSize   = 50_000_000
	DefaultBackoffInitial   = client.DefaultBackoffInitial
	DefaultBackoffMax       = client.DefaultBackoffMax
	DefaultConnectTimeout   = 30 * time.Second
)

// Config is the connection configuration of one Client: the
// wamp.connection section of izaber.yaml, or the same thing built in code.
//
// The zero value of every field means the documented default, so
// izaber.New(izaber.Config{Username: "u", Password: "p"}) connects to the
// production Nexus. New copies the Config; later changes to it have no
// effect.
type Config struct {
	// URL of the router: ws://, wss://, tcp://, tcps://, tcpip://,
	// tcpips:// or unix://. Default DefaultURL (wamp.connection.url).
	URL string
	// Username is the authid for ticket authentication. Default
	// "anonymous" (wamp.connection.username).
	Username string
	// Password is the ticket (password, API key or OTP). Default
	// "changeme" (wamp.connection.password). It never appears in logs,
	// errors or String output.
	Password string

	// AuthID overrides the authid sent in HELLO (default: Username).
	AuthID string
	// AuthMethods are offered in HELLO in this order: "ticket",
	// "wampcra", "cryptosign", "anonymous" (wamp.connection.authmethods).
	// Default ["ticket"].
	AuthMethods []string
	// CRASecret is the WAMP-CRA secret (wamp.connection.wampcra_secret);
	// empty means the password. Like the password, it never appears in
	// logs, errors or String output.
	CRASecret string
	// CryptosignKey is the Ed25519 key for cryptosign, read by Load from
	// wamp.connection.cryptosign_key_file (see ReadCryptosignKey).
	CryptosignKey ed25519.PrivateKey
	// Realm to join. Default "izaber".
	Realm string
	// URIBase is the prefix for Call, Register, Subscribe and Publish URIs
	// (see Client). Default "com.izaber.wamp"; set NoURIBase to send every
	// URI unchanged (uri_base: '' in izaber.yaml).
	URIBase   string
	NoURIBase bool
	// Serializers offered to the router, in order: "cbor", "msgpack",
	// "json". Default ["cbor"] (wamp.connection.serializer(s)).
	Serializers []string
	// Agent is HELLO.Details.agent (default: the session package's).
	Agent string

	// Timeout bounds each request (call, register, subscribe, acknowledged
	// publish, ...) that has no deadline of its own. Default 300s; negative
	// means no limit (wamp.connection.timeout: 0).
	Timeout time.Duration
	// ConnectTimeout bounds the first connection (dial, join and restore);
	// an unreachable router is an error after it. Default 30s.
	ConnectTimeout time.Duration

	// DisableReconnect turns automatic reconnection off
	// (wamp.connection.auto_reconnect: false or 0).
	DisableReconnect bool
	// BackoffInitial is the first delay before reconnecting (default 1s, or
	// the number of seconds in auto_reconnect); it doubles, with jitter, up
	// to BackoffMax (default 60s). MaxRetries limits consecutive failed
	// attempts (0 = retry forever).
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	MaxRetries     int

	// PingInterval is the keep-alive ping interval (default 3s, negative
	// disables); HeartbeatTimeout is how long a pong may take before the
	// connection is declared dead (default 10s). They apply to every
	// transport: WebSocket pings, RawSocket PINGs, and towards crossbar and
	// Nexus over RawSocket (which cannot take a PING) a WAMP call as the
	// ping; a dead router is noticed within PingInterval + HeartbeatTimeout.
	PingInterval     time.Duration
	HeartbeatTimeout time.Duration
	// MaxPayloadSize is the largest message sent or received, in bytes
	// (default 50,000,000).
	MaxPayloadSize int

	// ConcurrencyMax is how many handlers of one concurrency queue run at
	// once (wamp.connection.concurrency_max), for queues without a limit of
	// their own; default 64, negative (0 in izaber.yaml) for no limit.
	// ConcurrencyQueueMax is how many invocations or events wait for a
	// turn in such a queue (concurrency_queue_max, Python's waitlist);
	// default 8 per running slot, negative (0 in izaber.yaml) for no limit.
	// See Queue for the semantics.
	ConcurrencyMax      int
	ConcurrencyQueueMax int
	// Queues are the named concurrency queues (concurrency_configs):
	// Queues["default"] applies to every queue but "unlimited", and
	// Queues[name] to queue name.
	Queues map[string]QueueConfig
	// LenientQueueNames accepts queue names not in Queues, with the
	// default limits and a warning (concurrency_strict_naming: false);
	// otherwise Register and Subscribe refuse them, as Python does.
	LenientQueueNames bool
	// EventQueueSize is how many events wait for each subscription's
	// handler before new ones are dropped and counted
	// (wamp.connection.event_queue_size; default 1024; see
	// client.Subscription.Dropped).
	EventQueueSize int

	// TLS settings for wss://, tcps:// and tcpips://. Verification is on
	// unless TLSInsecure is set.
	TLSCAFile     string
	TLSCertFile   string
	TLSKeyFile    string
	TLSServerName string
	TLSInsecure   bool

	// From says where settings came from, for messages, by
	// wamp.connection key: Load sets "url" to "<file>: wamp.connection.url"
	// or "$IZABER_URL", and so on for every key it read. A program that
	// sets a field itself may say so (From["password"] = "prompt"). A
	// refused login names where the password came from.
	From map[string]string
	// Warnings are the problems Load found in the configuration (unknown
	// or misspelt keys and sections, keys without effect), each naming the
	// file and key. New logs them; a refused login quotes those about
	// credentials.
	Warnings []string

	// Logger receives the client's diagnostics. nil sends warnings and
	// errors (configuration problems, retries, restore failures) to
	// slog.Default(), as Python's logging shows warnings by default;
	// slog.New(slog.DiscardHandler) silences them.
	Logger *slog.Logger
	// Trace, when set, sees every WAMP message sent and received, the
	// handshake included, with AUTHENTICATE signatures redacted (see
	// client.Config.Trace).
	Trace func(dir client.Direction, m protocol.Message)
}

// uriBase returns the effective prefix ("" when prefixing is off).
func (c *Config) uriBase() string {
	if c.NoURIBase {
		return ""
	}
	if c.URIBase == "" {
		return DefaultURIBase
	}
	return c.URIBase
}

// from says where the setting key came from, or "".
func (c Config) from(key string) string { return c.From[key] }

// setFrom records where the setting key came from.
func (c *Config) setFrom(key, where string) {
	if c.From == nil {
		c.From = map[string]string{}
	}
	c.From[key] = where
}

// notices describes the built-in defaults c would use that a program
// should know about: the production Nexus URL and Python's default
// credentials.
func (c Config) notices() []string {
	var out []string
	if c.URL == "" {
		out = append(out, fmt.Sprintf("no url configured: connecting to the production Nexus at %s; set wamp.connection.url in izaber.yaml or $%s", DefaultURL, EnvURL))
	}
	if c.Password == "" && (c.usesMethod("ticket") || c.usesMethod("wampcra") && c.CRASecret == "") {
		if c.Username == "" {
			out = append(out, fmt.Sprintf("no username or password configured: logging in as %q with Python's default password %q; set wamp.connection.username and password in izaber.yaml, or $%s and $%s", DefaultUsername, DefaultPassword, EnvUser, EnvPassword))
		} else {
			out = append(out, fmt.Sprintf("no password configured for %q: sending Python's default password %q; set wamp.connection.password in izaber.yaml or $%s", c.Username, DefaultPassword, EnvPassword))
		}
	}
	return out
}

// usesMethod reports whether c offers the authmethod m (ticket when
// AuthMethods is empty).
func (c Config) usesMethod(m string) bool {
	if len(c.AuthMethods) == 0 {
		return m == "ticket"
	}
	for _, x := range c.AuthMethods {
		if strings.EqualFold(x, m) {
			return true
		}
	}
	return false
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.Password == "" {
		c.Password = DefaultPassword
		c.From = maps.Clone(c.From)
		c.setFrom("password", defaultOrigin)
	}
	if c.AuthID == "" {
		c.AuthID = c.Username
	}
	if len(c.AuthMethods) == 0 {
		c.AuthMethods = []string{"ticket"}
	} else {
		c.AuthMethods = append([]string(nil), c.AuthMethods...)
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if !c.NoURIBase && c.URIBase == "" {
		c.URIBase = DefaultURIBase
	}
	if len(c.Serializers) == 0 {
		c.Serializers = []string{"cbor"}
	} else {
		c.Serializers = append([]string(nil), c.Serializers...)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.BackoffInitial <= 0 {
		c.BackoffInitial = DefaultBackoffInitial
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffInitial {
		c.BackoffMax = c.BackoffInitial
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.MaxPayloadSize <= 0 {
		c.MaxPayloadSize = DefaultMaxPayloadSize
	}
	return c
}

// String describes the configuration without the password.
func (c Config) String() string {
	d := c.withDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "url=%s realm=%s username=%s password=%s uri_base=%q serializers=%v authmethods=%v timeout=%s",
		d.URL, d.Realm, d.Username, redacted(c.Password), d.uriBase(), d.Serializers, d.AuthMethods, d.Timeout)
	if d.DisableReconnect {
		b.WriteString(" auto_reconnect=false")
	} else {
		fmt.Fprintf(&b, " backoff=%s..%s", d.BackoffInitial, d.BackoffMax)
	}
	return b.String()
}

// GoString is like String, so that %#v does not print the password either.
func (c Config) GoString() string { return "izaber.Config{" + c.String() + "}" }

func redacted(secret string) string {
	if secret == "" {
		return "(default)"
	}
	return "[redacted]"
}
