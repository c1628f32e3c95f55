package wire

import (
	"fmt"
	"net/url"
	"strings"
)

// Transport names, as used in cell names and reports.
const (
	WebSocket     = "websocket"
	RawSocketTCP  = "rawsocket-tcp"
	RawSocketUnix = "rawsocket-unix"
)

// Endpoint is where a router listens.
type Endpoint struct {
	// Transport is WebSocket, RawSocketTCP or RawSocketUnix.
	Transport string
	// URL is the URL it was parsed from.
	URL string
	// Network and Address locate a RawSocket listener ("tcp" or "unix").
	Network, Address string
}

// RawSocket reports whether the endpoint is a RawSocket one.
func (e Endpoint) RawSocket() bool { return e.Transport != WebSocket }

// ParseURL parses ws://host:port/path, tcp://host:port (or tcpip://) and
// unix:///path/to/socket.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("wire: bad URL %q: %w", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws":
		return Endpoint{Transport: WebSocket, URL: raw}, nil
	case "tcp", "tcpip":
		if u.Port() == "" {
			return Endpoint{}, fmt.Errorf("wire: URL %s has no port", raw)
		}
		return Endpoint{Transport: RawSocketTCP, URL: raw, Network: "tcp", Address: u.Host}, nil
	case "unix":
		path := u.Path
		if u.Host != "" {
			path = u.Host + u.Path
		}
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return Endpoint{}, fmt.Errorf("wire: URL %s has no socket path (want unix:///path)", raw)
		}
		return Endpoint{Transport: RawSocketUnix, URL: raw, Network: "unix", Address: path}, nil
	}
	return Endpoint{}, fmt.Errorf("wire: unsupported URL scheme in %s (want ws://, tcp:// or unix://)", raw)
}
