package transport

import (
	"net"
	"net/netip"
	"sync"
)

// AddressLimit caps the connections open at the same time from one source
// IP address. Share one value between the WebSocket handlers and RawSocket
// listeners of a server (ServerOptions.AddressLimit) so that the cap holds
// across them. Connections over Unix sockets are not counted.
//
// A connection counts from the moment it is accepted until it is closed; a
// refused RawSocket client gets the handshake error "maximum connection
// count reached", a refused WebSocket client HTTP 503.
type AddressLimit struct {
	max int

	mu    sync.Mutex
	count map[netip.Addr]int // guarded by mu
}

// NewAddressLimit returns a limit of max connections per address (max <= 0:
// no limit, counting nothing).
func NewAddressLimit(max int) *AddressLimit { return &AddressLimit{max: max} }

// Max is the number of connections allowed per address.
func (l *AddressLimit) Max() int { return l.max }

// Count returns the connections open now from the IP address of addr (a
// net.Addr String or "host:port").
func (l *AddressLimit) Count(addr string) int {
	ip, ok := ipOf(addr)
	if !ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[ip]
}

// acquire counts a new connection from addr; it reports false when the
// address is at its limit.
func (l *AddressLimit) acquire(addr string) bool {
	if l == nil || l.max <= 0 {
		return true
	}
	ip, ok := ipOf(addr)
	if !ok {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count[ip] >= l.max {
		return false
	}
	if l.count == nil {
		l.count = make(map[netip.Addr]int)
	}
	l.count[ip]++
	return true
}

// release uncounts a connection counted by acquire.
func (l *AddressLimit) release(addr string) {
	if l == nil || l.max <= 0 {
		return
	}
	ip, ok := ipOf(addr)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count[ip] <= 1 {
		delete(l.count, ip)
		return
	}
	l.count[ip]--
}

// ipOf extracts the IP address from "host:port" (IPv4-mapped addresses as
// IPv4); ok is false for anything else (Unix sockets, pipes).
func ipOf(addr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, false
		}
		return a.Unmap().WithZone(""), true
	}
	return ap.Addr().Unmap().WithZone(""), true
}
