package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// SupportedSchemes lists the URL schemes Dial accepts.
var SupportedSchemes = []string{"ws", "wss", "tcp", "tcps", "tcpip", "tcpips", "unix"}

// ErrBadURL is matched by the errors of Dial for a URL it cannot use: one
// that does not parse, has an unsupported (or no) scheme, or lacks a port
// or socket path. Retrying cannot help.
var ErrBadURL = errors.New("transport: bad URL")

// Dial connects to a WAMP router and returns the connected peer.
//
//	ws://host:port/path, wss://...    WebSocket, plain or TLS
//	tcp://host:port, tcps://...       RawSocket over TCP, plain or TLS
//	tcpip://, tcpips://               the same, under the Python library's names
//	unix:///path/to/socket            RawSocket over a Unix socket
//
// ctx bounds connecting and the handshakes only; the returned peer lives
// until it is closed.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (Peer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	lim, err := resolveLimits(opts.Serializers, opts.MaxMessageSize, opts.PingInterval, opts.PongTimeout, opts.RawSocketPing, opts.Logger)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "ws", "wss":
		return dialWebSocket(ctx, rawURL, &opts, lim)
	case "tcp", "tcpip", "tcps", "tcpips":
		if u.Port() == "" {
			return nil, fmt.Errorf("%w: %s has no port", ErrBadURL, u.Redacted())
		}
		var tc *tls.Config
		if scheme == "tcps" || scheme == "tcpips" {
			if tc, err = opts.tlsConfig(); err != nil {
				return nil, err
			}
		}
		return dialRawSocket(ctx, "tcp", u.Host, tc, lim)
	case "unix":
		path := u.Path
		if u.Host != "" { // unix://relative/path
			path = u.Host + u.Path
		}
		if path == "" {
			path = u.Opaque // unix:relative/path
		}
		if path == "" {
			return nil, fmt.Errorf("%w: %s has no socket path (want unix:///path/to/socket)", ErrBadURL, u.Redacted())
		}
		return dialRawSocket(ctx, "unix", path, nil, lim)
	default:
		return nil, fmt.Errorf("%w: unsupported URL scheme %q in %s; supported: %s", ErrBadURL, u.Scheme, u.Redacted(), strings.Join(SupportedSchemes, ", "))
	}
}

// dialRawSocket connects and runs the RawSocket handshake, trying the next
// serializer when the server refuses one (or, like crossbar, drops the
// connection instead of refusing).
func dialRawSocket(ctx context.Context, network, addr string, tc *tls.Config, lim limits) (Peer, error) {
	var tried []string
	for i, ser := range lim.serializers {
		conn, err := dialConn(ctx, network, addr, tc)
		if err != nil {
			return nil, err
		}
		sendLimit, err := clientHandshake(ctx, conn, ser, lim.maxSize)
		if err == nil {
			lim.log.Debug("transport: rawsocket connected", "network", network, "addr", addr, "serializer", ser.Name(), "send_limit", sendLimit)
			return newRawSocketPeer(conn, ser, lim, sendLimit, lim.rawSocketPing, nil), nil
		}
		_ = conn.Close()
		tried = append(tried, ser.Name())
		var re *RawSocketError
		retry := errors.Is(err, errHandshakeDropped) || errors.As(err, &re) && re.Code == RawSocketSerializerUnsupported
		if retry && i < len(lim.serializers)-1 && ctx.Err() == nil {
			lim.log.Debug("transport: rawsocket serializer refused, trying the next", "serializer", ser.Name(), "err", err)
			continue
		}
		if len(tried) > 1 {
			return nil, fmt.Errorf("%w (tried serializers %s)", err, strings.Join(tried, ", "))
		}
		return nil, err
	}
	return nil, errors.New("transport: no serializers")
}

func dialConn(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
	var d net.Dialer
	var c net.Conn
	var err error
	if tc != nil {
		td := tls.Dialer{NetDialer: &d, Config: tc}
		c, err = td.DialContext(ctx, network, addr)
	} else {
		c, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s %s: %w", network, addr, err)
	}
	return c, nil
}
