package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Defaults used when an option is left at its zero value.
const (
	DefaultMaxMessageSize   = 16 << 20
	DefaultPingInterval     = 30 * time.Second
	DefaultPongTimeout      = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultUserAgent        = "izaber-wamp-go"
)

// DialOptions configures Dial. The zero value is ready to use; Dial copies
// it and never modifies it or anything it points to.
type DialOptions struct {
	// Serializers are offered in order of preference. WebSocket offers all
	// of them as subprotocols and uses the one the server picks; RawSocket
	// offers one per handshake and tries the next one when the server
	// refuses a serializer or drops the connection during the handshake.
	// Default: CBOR, MsgPack, JSON.
	Serializers []protocol.Serializer

	// TLS is the base TLS configuration for wss:// and tcps:// (cloned, never
	// modified). Default: system roots, TLS 1.2 minimum, verification on.
	TLS *tls.Config
	// CAFile is a PEM file of CA certificates that replace the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key for
	// mutual TLS; both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the server certificate
	// (default: the host of the URL).
	ServerName string
	// InsecureSkipVerify turns off server certificate verification. Only
	// for tests: anyone on the path can then impersonate the router.
	InsecureSkipVerify bool

	// MaxMessageSize is the largest message, in bytes, that is sent or
	// received. Default 16 MiB. RawSocket can announce only powers of two
	// from 512 B to 16 MiB; the largest one not above this value is
	// announced to the server.
	MaxMessageSize int

	// PingInterval is how long a connection may stay silent before it is
	// pinged. Default 30s; negative disables keep-alive. The same setting
	// serves every transport: WebSocket pings start at once; RawSocket PINGs
	// start with RawSocketPing, or when the session layer calls
	// NetPeer.StartPing after WELCOME (session.Join does unless the router
	// is crossbar, which it probes with WAMP calls instead).
	PingInterval time.Duration
	// PongTimeout is how long to wait for an answer to a ping before the
	// connection is declared dead, closed, and the failure returned from
	// Recv. Default 10s. A dead peer is noticed within PingInterval +
	// PongTimeout.
	PongTimeout time.Duration
	// RawSocketPing starts RawSocket PINGs with the connection, before any
	// WAMP message. Off by default: crossbar cannot parse them and drops the
	// connection; see PingInterval for how RawSocket keep-alive starts
	// otherwise.
	RawSocketPing bool

	// Header holds extra HTTP headers for the WebSocket handshake.
	Header http.Header
	// UserAgent is the HTTP User-Agent of the WebSocket handshake
	// (default "izaber-wamp-go").
	UserAgent string

	// Logger receives connection-level diagnostics (nil = discard).
	Logger *slog.Logger

	// NetDial, when set, makes the connections instead of a net.Dialer
	// (TLS, the RawSocket and WebSocket handshakes still run on top): to
	// reach a router through a tunnel, or one in memory in tests.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// netDial makes a connection with NetDial or a net.Dialer.
func (o *DialOptions) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if o.NetDial != nil {
		return o.NetDial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// ServerOptions configures the server side: WebSocketHandler and the
// RawSocket listener. The zero value is ready to use and is copied.
type ServerOptions struct {
	// Serializers that clients may choose (default CBOR, MsgPack, JSON).
	// A WebSocket client gets the first of its offered subprotocols that is
	// in this list.
	Serializers []protocol.Serializer
	// MaxMessageSize is the largest message sent or received, in bytes
	// (default 16 MiB).
	MaxMessageSize int
	// PingInterval and PongTimeout control keep-alive pings, as in
	// DialOptions (defaults 30s and 10s; negative PingInterval disables).
	// They apply to WebSocket connections, and to RawSocket connections
	// only when RawSocketPing is set.
	PingInterval, PongTimeout time.Duration
	// RawSocketPing enables RawSocket PINGs from the server (off by
	// default: crossbar-based clients cannot parse them).
	RawSocketPing bool
	// PreAuthMaxMessageSize is the largest message accepted from a client
	// until the session layer calls NetPeer.Authenticated (after WELCOME),
	// so that a stranger cannot make the server buffer MaxMessageSize
	// bytes. Zero means MaxMessageSize (no separate limit).
	PreAuthMaxMessageSize int
	// AddressLimit, when not nil, caps the connections from one source IP
	// address, open and not yet authenticated (see AddressLimit).
	AddressLimit *AddressLimit
	// HandshakeTimeout bounds each RawSocket handshake (including TLS),
	// so a silent client cannot hold a connection slot (default 10s).
	HandshakeTimeout time.Duration
	// OriginPatterns lists extra browser origins allowed to open a
	// WebSocket (host patterns as in path.Match). By default only
	// same-host browser origins are accepted; non-browser clients, which
	// send no Origin header, are always accepted.
	OriginPatterns []string
	// Logger receives diagnostics (nil = discard).
	Logger *slog.Logger
}

// limits are the resolved per-connection settings shared by both sides.
type limits struct {
	serializers   []protocol.Serializer
	maxSize       int
	pingInterval  time.Duration // <= 0: off
	pongTimeout   time.Duration
	rawSocketPing bool
	preAuthSize   int // 0: none
	log           *slog.Logger
	refusals      *refusalLog // servers only: connections refused before a session exists
}

func resolveLimits(sers []protocol.Serializer, maxSize int, ping, pong time.Duration, rsPing bool, log *slog.Logger) (limits, error) {
	l := limits{
		serializers:   append([]protocol.Serializer(nil), sers...),
		maxSize:       maxSize,
		pingInterval:  ping,
		pongTimeout:   pong,
		rawSocketPing: rsPing,
		log:           log,
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if len(l.serializers) == 0 {
		l.serializers = defaultSerializers()
	}
	for i, s := range l.serializers {
		if s == nil {
			return l, fmt.Errorf("transport: serializer %d is nil", i)
		}
	}
	switch {
	case l.maxSize == 0:
		l.maxSize = DefaultMaxMessageSize
	case l.maxSize < 0:
		return l, fmt.Errorf("transport: negative MaxMessageSize %d", l.maxSize)
	}
	switch {
	case l.pingInterval == 0:
		l.pingInterval = DefaultPingInterval
	case l.pingInterval < 0:
		l.pingInterval = 0
	}
	if l.pongTimeout <= 0 {
		l.pongTimeout = DefaultPongTimeout
	}
	return l, nil
}

// tlsConfig builds the client TLS configuration from the options. It never
// modifies o.TLS.
func (o *DialOptions) tlsConfig() (*tls.Config, error) {
	var c *tls.Config
	if o.TLS != nil {
		c = o.TLS.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("transport: TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("transport: TLS CA file %s: no PEM certificates found", o.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			// The error of LoadX509KeyPair names files and formats, never
			// key material.
			return nil, fmt.Errorf("transport: TLS client certificate: %w", err)
		}
		c.Certificates = append(c.Certificates, cert)
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("transport: TLS client certificate needs both CertFile and KeyFile")
	}
	if o.ServerName != "" {
		c.ServerName = o.ServerName
	}
	if o.InsecureSkipVerify {
		c.InsecureSkipVerify = true
	}
	return c, nil
}
