package transport

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
)

// AddressLimit caps the connections from one source IP address: those open
// at the same time, and among them those whose peer has not authenticated
// yet (from accept until NetPeer.Authenticated). Share one value between
// the WebSocket handlers and RawSocket listeners of a server
// (ServerOptions.AddressLimit) so that the caps hold across them.
// Connections over Unix sockets are not counted.
//
// A refused RawSocket client gets the handshake error "maximum connection
// count reached", a refused WebSocket client HTTP 503.
type AddressLimit struct {
	maxOpen, maxPending int

	mu      sync.Mutex
	open    map[netip.Addr]int // guarded by mu
	pending map[netip.Addr]int // guarded by mu
}

// NewAddressLimit returns a limit of maxOpen connections and maxPending
// unauthenticated connections per address (a value <= 0: no limit).
func NewAddressLimit(maxOpen, maxPending int) *AddressLimit {
	return &AddressLimit{maxOpen: maxOpen, maxPending: maxPending}
}

// Count returns the connections open now from the IP address of addr (a
// net.Addr String or "host:port"), and how many of them are not
// authenticated.
func (l *AddressLimit) Count(addr string) (open, pending int) {
	ip, ok := ipOf(addr)
	if !ok {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip], l.pending[ip]
}

// String describes the limits, for logs.
func (l *AddressLimit) String() string {
	f := func(n int) string {
		if n <= 0 {
			return "unlimited"
		}
		return strconv.Itoa(n)
	}
	return "open " + f(l.maxOpen) + ", unauthenticated " + f(l.maxPending)
}

// acquire counts a new, unauthenticated connection from addr and returns
// its slot (nil when it is not counted: no limit, or not an IP address);
// ok is false when the address is at one of its limits.
func (l *AddressLimit) acquire(addr string) (slot *addrSlot, ok bool) {
	if l == nil || (l.maxOpen <= 0 && l.maxPending <= 0) {
		return nil, true
	}
	ip, isIP := ipOf(addr)
	if !isIP {
		return nil, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxOpen > 0 && l.open[ip] >= l.maxOpen || l.maxPending > 0 && l.pending[ip] >= l.maxPending {
		return nil, false
	}
	if l.open == nil {
		l.open = make(map[netip.Addr]int)
		l.pending = make(map[netip.Addr]int)
	}
	l.open[ip]++
	l.pending[ip]++
	return &addrSlot{l: l, remote: addr, pending: true}, true
}

// authenticated moves a counted connection out of the pending count.
func (l *AddressLimit) authenticated(addr string) {
	ip, _ := ipOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	decr(l.pending, ip)
}

// release uncounts a connection; pending tells whether it was still
// unauthenticated.
func (l *AddressLimit) release(addr string, pending bool) {
	ip, _ := ipOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	decr(l.open, ip)
	if pending {
		decr(l.pending, ip)
	}
}

func decr(m map[netip.Addr]int, ip netip.Addr) {
	if m[ip] <= 1 {
		delete(m, ip)
		return
	}
	m[ip]--
}

// ipOf extracts the IP address from "host:port" (IPv4-mapped addresses as
// IPv4); ok is false for anything else (Unix sockets, pipes).
func ipOf(addr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
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

// addrSlot is a connection's place in an AddressLimit. Owned by the
// connection: authenticated and release may run on different goroutines,
// at most once each.
type addrSlot struct {
	l       *AddressLimit
	remote  string
	mu      sync.Mutex
	pending bool
	done    bool
}

func (s *addrSlot) authenticated() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending && !s.done {
		s.pending = false
		s.l.authenticated(s.remote)
	}
}

func (s *addrSlot) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		s.l.release(s.remote, s.pending)
	}
}
