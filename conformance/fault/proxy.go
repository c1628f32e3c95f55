package fault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Options configures a Proxy.
type Options struct {
	// Features are added to WELCOME.Details.roles before the Rule sees it,
	// as "broker.<feature>" or "dealer.<feature>": the double claims a
	// feature so that a scenario for it runs (and must fail) even in front
	// of a router that lacks it.
	Features []string
}

// Proxy is a router double: it accepts clients on the transports of its
// upstream endpoints and relays each connection to the router through a
// Breaker.
//
// Ownership: each proxied connection has two relay goroutines (one per
// direction); its Rule runs under the Flow's rule mutex. Close closes the
// listeners and every connection and waits for all goroutines.
type Proxy struct {
	b   Breaker
	o   Options
	eps []wire.Endpoint // the proxy's own endpoints
	ups map[string]wire.Endpoint
	rs  []*wire.Listener
	srv *http.Server
	dir string
	wg  sync.WaitGroup // listener goroutines

	mu     sync.Mutex // guards conns and closed
	conns  map[*wire.Conn]struct{}
	closed bool
	active sync.WaitGroup // serve calls; Add only under mu while !closed
}

// Start starts a proxy in front of the router at upstream (one endpoint per
// transport) on loopback.
func Start(upstream []wire.Endpoint, b Breaker, o Options) (*Proxy, error) {
	p := &Proxy{b: b, o: o, ups: map[string]wire.Endpoint{}, conns: map[*wire.Conn]struct{}{}}
	for _, up := range upstream {
		p.ups[up.Transport] = up
		if err := p.listen(up); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

func (p *Proxy) listen(up wire.Endpoint) error {
	switch up.Transport {
	case wire.WebSocket:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		h := wire.WebSocketHandler(wire.AcceptOptions{Subprotocol: p.subprotocol}, p.serve)
		p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.srv.Serve(ln)
		}()
		ep, err := wire.ParseURL("ws://" + ln.Addr().String() + "/ws")
		if err != nil {
			return err
		}
		p.eps = append(p.eps, ep)
		return nil
	case wire.RawSocketTCP, wire.RawSocketUnix:
		network, addr := "tcp", "127.0.0.1:0"
		if up.Transport == wire.RawSocketUnix {
			if p.dir == "" {
				d, err := os.MkdirTemp("", "wfault")
				if err != nil {
					return err
				}
				p.dir = d
			}
			network, addr = "unix", filepath.Join(p.dir, "p.sock")
		}
		ln, err := wire.ListenRawSocket(network, addr, wire.AcceptOptions{
			RawSocketReply: func(req [4]byte) ([]byte, any) { return p.rawSocketReply(up, req) },
			ManualPong:     true,
		})
		if err != nil {
			return err
		}
		p.rs = append(p.rs, ln)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ln.Serve(p.serve)
		}()
		ep, err := wire.ParseURL(ln.URL())
		if err != nil {
			return err
		}
		p.eps = append(p.eps, ep)
		return nil
	}
	return fmt.Errorf("fault: unknown transport %q", up.Transport)
}

// Endpoints are the proxy's own endpoints, one per upstream transport.
func (p *Proxy) Endpoints() []wire.Endpoint { return p.eps }

// URL is the proxy's URL for a transport ("" if it has none).
func (p *Proxy) URL(transport string) string {
	for _, e := range p.eps {
		if e.Transport == transport {
			return e.URL
		}
	}
	return ""
}

// Close stops the proxy, drops every connection and waits for its
// goroutines.
func (p *Proxy) Close() {
	for _, l := range p.rs {
		l.Close()
	}
	if p.srv != nil {
		p.srv.Close()
	}
	p.mu.Lock()
	p.closed = true
	conns := make([]*wire.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.Abandon()
	}
	p.wg.Wait()
	p.active.Wait()
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// enter records a connection being served; false after Close.
func (p *Proxy) enter(conns ...*wire.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.active.Add(1)
	for _, c := range conns {
		if c != nil {
			p.conns[c] = struct{}{}
		}
	}
	return true
}

func (p *Proxy) leave(conns ...*wire.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.active.Done()
}

func dialCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// rawSocketReply runs the handshake with the router (unless the breaker
// answers without it) and returns the reply for the client, with the
// router connection as the tag.
func (p *Proxy) rawSocketReply(up wire.Endpoint, req [4]byte) ([]byte, any) {
	var router *wire.Conn
	upstream := func(req [4]byte) []byte {
		if router != nil {
			return router.HandshakeOctets()
		}
		ctx, cancel := dialCtx()
		defer cancel()
		c, err := wire.Dial(ctx, up, wire.Options{Handshake: req[:], ManualPong: true})
		if err != nil {
			var he *wire.HandshakeError
			if errors.As(err, &he) && len(he.Reply) == 4 {
				return he.Reply
			}
			return nil
		}
		router = c
		return c.HandshakeOctets()
	}
	var reply []byte
	if p.b.RawSocketReply != nil {
		reply = p.b.RawSocketReply(req, upstream)
	} else {
		reply = upstream(req)
	}
	if router == nil {
		return reply, nil
	}
	return reply, router
}

func (p *Proxy) subprotocol(offered []string) (string, bool, any) {
	up := p.ups[wire.WebSocket]
	ctx, cancel := dialCtx()
	defer cancel()
	router, err := wire.Dial(ctx, up, wire.Options{Subprotocols: offered})
	routers, ok := "", err == nil
	if ok {
		routers = router.Subprotocol()
	}
	chosen, accept := routers, ok
	if p.b.Subprotocol != nil {
		chosen, accept = p.b.Subprotocol(offered, routers, ok)
	}
	if router == nil {
		return chosen, accept, nil
	}
	return chosen, accept, router
}

// serve relays one accepted client connection.
func (p *Proxy) serve(client *wire.Conn) {
	router, _ := client.Tag().(*wire.Conn)
	if !p.enter(client, router) {
		client.Abandon()
		if router != nil {
			router.Abandon()
		}
		return
	}
	defer p.leave(client, router)
	f := &Flow{client: client, router: router}
	var rule Rule
	if p.b.Rule != nil {
		rule = p.b.Rule()
	}
	var ruleMu sync.Mutex
	apply := func(dir Dir, fr *wire.Frame) bool {
		ruleMu.Lock()
		defer ruleMu.Unlock()
		if dir == ToClient && len(p.o.Features) > 0 {
			if w, ok := fr.Msg.(*protocol.Welcome); ok {
				addFeatures(w, p.o.Features)
				f.Inject(ToClient, w)
				return false
			}
		}
		if rule == nil {
			return true
		}
		return rule(f, dir, fr)
	}
	var wg sync.WaitGroup
	relay := func(from, to *wire.Conn, dir Dir) {
		defer wg.Done()
		for {
			fr, err := from.Recv(context.Background())
			if err != nil {
				// Pass the end on: a WebSocket close status as it came.
				if dir == ToClient && p.b.KeepClientOpen {
					return
				}
				if to != nil {
					var ce *wire.ClosedError
					if errors.As(err, &ce) && ce.Status > 0 {
						to.CloseWith(ce.Status, ce.Reason)
					} else {
						to.Abandon()
					}
				}
				return
			}
			if apply(dir, fr) && to != nil {
				to.SendFrame(context.Background(), fr)
			}
		}
	}
	wg.Add(1)
	go relay(client, router, ToRouter)
	if router != nil {
		wg.Add(1)
		go relay(router, client, ToClient)
	}
	wg.Wait()
}

// addFeatures sets "role.feature" flags in WELCOME.Details.roles.
func addFeatures(w *protocol.Welcome, features []string) {
	roles, _ := w.Details["roles"].(protocol.Dict)
	if roles == nil {
		roles = protocol.Dict{}
		w.Details["roles"] = roles
	}
	for _, rf := range features {
		role, feature, ok := strings.Cut(rf, ".")
		if !ok {
			continue
		}
		r, _ := roles[role].(protocol.Dict)
		if r == nil {
			r = protocol.Dict{}
			roles[role] = r
		}
		fs, _ := r["features"].(protocol.Dict)
		if fs == nil {
			fs = protocol.Dict{}
			r["features"] = fs
		}
		fs[feature] = true
	}
}
