// Package fault builds router doubles that break one rule of the WAMP spec
// each, to prove that the conformance scenarios can fail: a proxy in front
// of a real router that rewrites, drops, reorders or injects messages in
// either direction, answers transport handshakes itself, or replaces the
// router altogether.
//
// A Breaker describes one double. Its Rule is made afresh for every proxied
// connection (so it may keep per-connection state in its closure) and sees
// every frame both ways; it forwards a frame by returning true, and may
// inject others through the Flow. Handshake hooks answer RawSocket and
// WebSocket handshakes instead of the router.
package fault

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Dir is the direction of a frame through the proxy.
type Dir int

// Directions.
const (
	ToRouter Dir = iota // sent by the client
	ToClient            // sent by the router
)

func (d Dir) String() string {
	if d == ToRouter {
		return "client→router"
	}
	return "router→client"
}

// Rule sees one frame going dir and reports whether to forward it. It may
// inject frames through f. Rules of one connection run one at a time.
type Rule func(f *Flow, dir Dir, fr *wire.Frame) bool

// Breaker is a router double. The zero value is the router itself,
// unchanged.
type Breaker struct {
	// Rule returns the frame filter of a new connection (nil: forward all).
	Rule func() Rule
	// RawSocketReply, if set, answers a client's RawSocket handshake. It
	// gets the request and upstream, which performs a handshake with the
	// router (with the request given, which may differ from the client's)
	// and returns its reply; it returns the octets to answer with, or nil
	// to drop the connection. A success reply it makes up for a request the
	// router refused opens a connection with no router behind it (only the
	// Rule answers).
	RawSocketReply func(request [4]byte, upstream func(request [4]byte) []byte) []byte
	// Subprotocol, if set, picks the WebSocket subprotocol answered to the
	// client from its offer and the router's pick (routersOK false when the
	// router refused the offer): a subprotocol, "" for none, and whether to
	// accept the upgrade at all.
	Subprotocol func(offered []string, routers string, routersOK bool) (chosen string, accept bool)
	// KeepClientOpen leaves the client's connection open when the router
	// closes its side (a router that never drops a connection).
	KeepClientOpen bool
}

// Flow is one proxied connection.
type Flow struct {
	client *wire.Conn
	router *wire.Conn // nil when the double answered the handshake alone
	mu     sync.Mutex
	state  map[string]any
}

// Inject sends m in direction dir (to the router or to the client). A
// message package protocol refuses to encode (a double may lie in ways a
// router must not) is sent in its generic list form.
func (f *Flow) Inject(dir Dir, m protocol.Message) {
	c := f.peer(dir)
	if c == nil {
		return
	}
	if err := c.Send(context.Background(), m); err != nil && !errors.Is(err, wire.ErrClosed) {
		c.SendList(context.Background(), protocol.ToList(m))
	}
}

// InjectList sends a generic list (possibly invalid WAMP) in direction dir.
func (f *Flow) InjectList(dir Dir, l []any) {
	c := f.peer(dir)
	if c != nil {
		c.SendList(context.Background(), l)
	}
}

// InjectFrame sends a raw frame in direction dir.
func (f *Flow) InjectFrame(dir Dir, fr *wire.Frame) {
	c := f.peer(dir)
	if c != nil {
		c.SendFrame(context.Background(), fr)
	}
}

// InjectAfter sends m in direction dir after d, unless the flow ended.
func (f *Flow) InjectAfter(d time.Duration, dir Dir, m protocol.Message) {
	time.AfterFunc(d, func() { f.Inject(dir, m) })
}

// Close drops both connections.
func (f *Flow) Close() {
	go f.client.Abandon()
	if f.router != nil {
		go f.router.Abandon()
	}
}

// CloseClient closes the client's connection with a WebSocket status
// (RawSocket: just closes it).
func (f *Flow) CloseClient(status int, reason string) {
	go f.client.CloseWith(status, reason)
	if f.router != nil {
		go f.router.Close()
	}
}

// State returns per-connection state stored under key, creating it with
// mk on first use.
func (f *Flow) State(key string, mk func() any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == nil {
		f.state = map[string]any{}
	}
	v, ok := f.state[key]
	if !ok {
		v = mk()
		f.state[key] = v
	}
	return v
}

// Serializer is the serializer of the connection (nil if unknown).
func (f *Flow) Serializer() protocol.Serializer { return f.client.Serializer() }

func (f *Flow) peer(dir Dir) *wire.Conn {
	if dir == ToRouter {
		return f.router
	}
	return f.client
}
