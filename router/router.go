package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxMessageSize        = 16 << 20
	DefaultPreAuthMaxMessageSize = 64 << 10
	DefaultMaxPendingPerAddress  = 64
	DefaultBackpressureBytes     = 1 << 20
	DefaultWriteStallTimeout     = 10 * time.Second
	DefaultOutboundQueueBytes    = 64 << 20
	DefaultAgent                 = "izaber-wamp-go-router"

	// Deprecated: OutboundQueueSize is ignored; see Config.BackpressureBytes.
	DefaultOutboundQueueSize = 4096
)

// Config configures a Router. New copies it; zero fields get the documented
// defaults.
type Config struct {
	// Realms are the realms the router serves. Clients asking for any other
	// realm get ABORT wamp.error.no_such_realm. At least one is required.
	Realms []RealmConfig
	// Logger receives the router's logs; nil discards them.
	Logger *slog.Logger
	// MaxMessageSize is the largest message, in bytes, the router accepts
	// from or sends to a client over WebSocket and RawSocket (default
	// DefaultMaxMessageSize, 16 MiB). A client sending a bigger one is
	// aborted.
	MaxMessageSize int
	// PreAuthMaxMessageSize is the largest message accepted from a client
	// before its session is established (HELLO, AUTHENTICATE): default
	// DefaultPreAuthMaxMessageSize, 64 KiB. A larger one closes the
	// connection before its bytes are buffered, so a stranger costs the
	// router little memory.
	PreAuthMaxMessageSize int
	// MaxPendingPerAddress caps the WebSocket and RawSocket connections from
	// one IP address that have not completed the WAMP handshake (default
	// DefaultMaxPendingPerAddress, 64; negative: no limit): with the
	// pre-authentication message size and the handshake deadline, it bounds
	// what strangers at one address can make the router hold. Connections
	// over Unix sockets and ServePeer are not counted.
	MaxPendingPerAddress int
	// MaxConnectionsPerAddress caps the connections open at the same time
	// from one IP address, established sessions included (default 0: no
	// limit, since many legitimate clients can share an address behind NAT
	// and per-user quotas bound what users hold).
	MaxConnectionsPerAddress int
	// BackpressureBytes is how much may wait to be written to a client
	// before the router slows down the sessions that send it messages: a
	// session's reader stops reading from its client until the destination
	// has drained (default DefaultBackpressureBytes, 1 MiB). See the package
	// doc, "Flow control".
	BackpressureBytes int
	// WriteStallTimeout is how long a client may leave the router's writes
	// to it unread (no byte taken while some wait) before it is dropped with
	// ABORT wamp.error.timeout saying why (default
	// DefaultWriteStallTimeout, 10s).
	WriteStallTimeout time.Duration
	// OutboundQueueBytes bounds the bytes waiting for a client that makes
	// no progress: past it the client is dropped at once rather than after
	// WriteStallTimeout (default DefaultOutboundQueueBytes, 64 MiB).
	OutboundQueueBytes int
	// Deprecated: OutboundQueueSize is ignored: clients that read are never
	// dropped for the number of messages waiting; see BackpressureBytes.
	OutboundQueueSize int
	// Serializers offered on WebSocket and RawSocket (default JSON, MsgPack
	// and CBOR).
	Serializers []protocol.Serializer
	// Agent is WELCOME.Details.agent (default DefaultAgent).
	Agent string
}

// RealmConfig configures one realm.
type RealmConfig struct {
	// Name is the realm URI, such as "izaber".
	Name string
	// Authenticators are the authentication methods offered on this realm,
	// picked in the client's order. Empty means anonymous only (role
	// "anonymous").
	Authenticators []auth.Authenticator
	// Authorizer is consulted before every call, register, subscribe and
	// publish by a client, and before deliveries through patterns it did
	// not allow whole (see Authorizer); nil allows everything.
	Authorizer Authorizer
	// Disclose makes the router disclose every caller to callees and every
	// publisher to subscribers, as if each request asked for it with
	// disclose_me (Nexus's authorizer allows with disclose=true). False
	// (the default) discloses only on request.
	Disclose bool
}

// Router is an embeddable WAMP router: realms with a dealer and a broker.
//
// Ownership: Router.mu guards realms, sessions, listeners and closed. Each
// Realm has its own mutex for its routing state (see Realm). Lock order:
// Router.mu before Realm.mu; neither is held while calling user code
// (authenticators, authorizers, hooks, internal handlers) or doing I/O.
type Router struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	// closing is cancelled as soon as Close starts: handshakes in progress
	// are abandoned.
	closing     context.Context
	closeCancel context.CancelFunc

	addrs *transport.AddressLimit // connections per source address

	mu        sync.Mutex
	realms    map[string]*Realm
	sessions  map[*sess]struct{}
	listeners map[io.Closer]struct{}
	closed    bool

	wg sync.WaitGroup // one per running session and per serve loop
}

// ErrClosed is returned by router methods after Close.
var ErrClosed = errors.New("router: closed")

// New builds a router from cfg.
func New(cfg Config) (*Router, error) {
	if len(cfg.Realms) == 0 {
		return nil, errors.New("router: no realm configured")
	}
	if cfg.MaxMessageSize < 0 || cfg.OutboundQueueSize < 0 || cfg.OutboundQueueBytes < 0 ||
		cfg.PreAuthMaxMessageSize < 0 || cfg.BackpressureBytes < 0 {
		return nil, errors.New("router: negative size limit")
	}
	if cfg.WriteStallTimeout < 0 {
		return nil, errors.New("router: negative WriteStallTimeout")
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.PreAuthMaxMessageSize == 0 {
		cfg.PreAuthMaxMessageSize = DefaultPreAuthMaxMessageSize
	}
	if cfg.MaxPendingPerAddress == 0 {
		cfg.MaxPendingPerAddress = DefaultMaxPendingPerAddress
	}
	if cfg.BackpressureBytes == 0 {
		cfg.BackpressureBytes = DefaultBackpressureBytes
	}
	if cfg.WriteStallTimeout == 0 {
		cfg.WriteStallTimeout = DefaultWriteStallTimeout
	}
	if cfg.OutboundQueueBytes == 0 {
		cfg.OutboundQueueBytes = DefaultOutboundQueueBytes
	}
	if cfg.Agent == "" {
		cfg.Agent = DefaultAgent
	}
	cfg.Serializers = append([]protocol.Serializer(nil), cfg.Serializers...)
	cfg.Realms = append([]RealmConfig(nil), cfg.Realms...)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		cfg:       cfg,
		log:       log,
		realms:    make(map[string]*Realm),
		sessions:  make(map[*sess]struct{}),
		listeners: make(map[io.Closer]struct{}),
	}
	r.addrs = transport.NewAddressLimit(cfg.MaxConnectionsPerAddress, cfg.MaxPendingPerAddress)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.closing, r.closeCancel = context.WithCancel(r.ctx)
	for _, rc := range cfg.Realms {
		if !validURI(rc.Name, matchExact) {
			return nil, fmt.Errorf("router: invalid realm name %q", rc.Name)
		}
		if _, dup := r.realms[rc.Name]; dup {
			return nil, fmt.Errorf("router: realm %q configured twice", rc.Name)
		}
		rc.Authenticators = append([]auth.Authenticator(nil), rc.Authenticators...)
		r.realms[rc.Name] = newRealm(r, rc)
	}
	return r, nil
}

// Realm returns the realm called name, or nil if there is none.
func (r *Router) Realm(name string) *Realm {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.realms[name]
}

// enter counts one connection being served; it fails after Close. Each
// successful enter is matched by r.wg.Done when the connection is finished.
func (r *Router) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	return true
}

// addSession records a newly joined session. It fails after Close.
func (r *Router) addSession(s *sess) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.sessions[s] = struct{}{}
	return nil
}

func (r *Router) removeSession(s *sess) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}

// Close shuts the router down: it stops accepting connections, sends
// GOODBYE wamp.close.system_shutdown to every session and waits until each
// has answered or gone, or until ctx ends, when the remaining connections
// are closed and ctx's error is returned.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	sessions := make([]*sess, 0, len(r.sessions))
	for s := range r.sessions {
		sessions = append(sessions, s)
	}
	listeners := make([]io.Closer, 0, len(r.listeners))
	for l := range r.listeners {
		listeners = append(listeners, l)
	}
	r.mu.Unlock()
	r.closeCancel()
	for _, l := range listeners {
		l.Close()
	}
	if !already {
		for _, s := range sessions {
			s.shutdown(protocol.URISystemShutdown, "router shutting down")
		}
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		r.mu.Lock()
		for s := range r.sessions {
			s.kill()
		}
		r.mu.Unlock()
		// Connections end at once now; only user code that ignores its
		// context (an authorizer, hook or internal handler) could keep a
		// goroutine running. Close does not wait for that forever.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			r.log.Warn("router closed with handlers still running (they ignore their context)")
		}
		return ctx.Err()
	}
}

// newID returns a random ID in [1, MaxID].
func newID() protocol.ID { return rand.Uint64N(protocol.MaxID) + 1 }
