package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// handshakeTimeout bounds the HELLO ... WELCOME exchange of a new client.
const handshakeTimeout = 20 * time.Second

// ServePeer runs the WAMP handshake (session.Accept) on p and then the
// session until it ends: the client leaves, the connection drops, ctx ends
// or the router closes. It closes p before returning. Use it for
// connections the router does not accept itself, such as one end of
// transport.Pipe for an in-process client.
func (r *Router) ServePeer(ctx context.Context, p transport.Peer) {
	r.serve(ctx, p, "")
}

func (r *Router) serve(ctx context.Context, p transport.Peer, kind string) {
	if !r.enter() {
		p.Close()
		return
	}
	defer r.wg.Done()
	// The handshake is bounded, and abandoned when the router closes.
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	stop := context.AfterFunc(r.closing, cancel)
	j, err := session.Accept(hctx, p, r.acceptConfig())
	stop()
	cancel()
	if err != nil {
		r.log.Debug("handshake failed", "err", err)
		p.Close()
		return
	}
	var hello protocol.Dict
	if j.Hello != nil {
		hello = j.Hello.Details
	}
	r.serveJoined(ctx, j.Peer, joinInfo{id: j.Session, realm: j.Realm, identity: j.Identity, hello: hello, transport: kind})
}

// acceptConfig is the session.AcceptConfig for this router.
func (r *Router) acceptConfig() session.AcceptConfig {
	return session.AcceptConfig{
		Realms:         func(name string) bool { return r.Realm(name) != nil },
		Authenticators: r.authenticators(),
		Roles:          protocol.RouterRoles(),
		Agent:          r.cfg.Agent,
		Logger:         r.log,
	}
}

// authenticators returns one authenticator per method offered on any
// realm; each dispatches to the authenticator of the realm the client asked
// for. A realm without authenticators accepts anonymous clients (role
// "anonymous").
func (r *Router) authenticators() []auth.Authenticator {
	seen := map[string]bool{}
	var out []auth.Authenticator
	for _, rc := range r.cfg.Realms {
		for _, a := range realmAuthenticators(rc) {
			if m := a.Method(); !seen[m] {
				seen[m] = true
				out = append(out, realmDispatch{r: r, method: m})
			}
		}
	}
	return out
}

func realmAuthenticators(rc RealmConfig) []auth.Authenticator {
	if len(rc.Authenticators) == 0 {
		return []auth.Authenticator{auth.AnonymousAuthenticator("anonymous")}
	}
	return rc.Authenticators
}

// realmDispatch is one authentication method, served by the requested
// realm's own authenticator for it.
type realmDispatch struct {
	r      *Router
	method string
}

func (d realmDispatch) Method() string { return d.method }

func (d realmDispatch) Authenticate(ctx context.Context, req *auth.Request, ch auth.Challenger) (*auth.Identity, error) {
	rl := d.r.Realm(req.Realm)
	if rl == nil {
		return nil, &auth.Denied{Reason: protocol.URINoSuchRealm, Message: fmt.Sprintf("no realm %q", req.Realm)}
	}
	for _, a := range realmAuthenticators(rl.cfg) {
		if a.Method() == d.method {
			return a.Authenticate(ctx, req, ch)
		}
	}
	return nil, &auth.Denied{Reason: protocol.URINoAuthMethod,
		Message: fmt.Sprintf("authentication method %q is not available on realm %q", d.method, req.Realm)}
}

func (r *Router) serverOptions() transport.ServerOptions {
	return transport.ServerOptions{
		Serializers:           r.cfg.Serializers,
		MaxMessageSize:        r.cfg.MaxMessageSize,
		PreAuthMaxMessageSize: r.cfg.PreAuthMaxMessageSize,
		AddressLimit:          r.addrs,
		Logger:                r.log,
	}
}

// WebSocketHandler returns an http.Handler serving WAMP over WebSocket
// with the configured serializers and message size limit. Each connection
// is served on a goroutine of its own until the session ends; the
// request's goroutine returns once the connection is upgraded, so that
// net/http lets go of its buffers for it.
func (r *Router) WebSocketHandler() http.Handler {
	return transport.WebSocketHandler(r.serverOptions(), func(p transport.Peer) {
		go r.serve(r.ctx, p, "websocket")
	})
}

// ListenRawSocket listens for RawSocket clients on network ("tcp" or
// "unix") and addr with the router's serializers and size limit; pass the
// listener to ServeRawSocket.
func (r *Router) ListenRawSocket(ctx context.Context, network, addr string) (*transport.RawSocketListener, error) {
	return transport.ListenRawSocket(ctx, network, addr, r.serverOptions())
}

// ServeRawSocket serves every connection l accepts, each on its own
// goroutine, until l or the router is closed; it then returns nil (or the
// listener's error). Close closes l.
func (r *Router) ServeRawSocket(l *transport.RawSocketListener) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	r.listeners[l] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.listeners, l)
		r.mu.Unlock()
	}()
	for {
		p, err := l.Accept(r.ctx)
		if err != nil {
			if errors.Is(err, transport.ErrClosed) || r.ctx.Err() != nil {
				return nil
			}
			return err
		}
		go r.serve(r.ctx, p, "rawsocket")
	}
}
