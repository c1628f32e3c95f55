package session_test

import (
	"context"
	"sync"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// miniRouter is a small in-test WAMP router: the handshake is session.Accept,
// then it relays CALL -> INVOCATION, YIELD/ERROR -> RESULT/ERROR, CANCEL ->
// INTERRUPT, and PUBLISH -> EVENT (exact topics). It is just enough to let
// two client sessions talk in tests, examples and benchmarks.
type miniRouter struct {
	wg sync.WaitGroup

	mu      sync.Mutex // guards everything below
	nextID  protocol.ID
	procs   map[string]*mrReg
	regs    map[protocol.ID]*mrReg
	calls   map[protocol.ID]*mrCall // by invocation id
	byCall  map[mrCallKey]protocol.ID
	topics  map[string]*mrTopic
	topicID map[protocol.ID]*mrTopic
	peers   map[*mrPeer]bool
}

type mrPeer struct {
	p  transport.Peer
	id protocol.ID
}

type mrReg struct {
	id     protocol.ID
	proc   string
	callee *mrPeer
}

type mrCallKey struct {
	caller *mrPeer
	req    protocol.ID
}

type mrCall struct {
	key    mrCallKey
	callee *mrPeer
}

type mrTopic struct {
	id   protocol.ID
	name string
	subs map[*mrPeer]bool
}

func newMiniRouter() *miniRouter {
	return &miniRouter{
		procs: map[string]*mrReg{}, regs: map[protocol.ID]*mrReg{},
		calls: map[protocol.ID]*mrCall{}, byCall: map[mrCallKey]protocol.ID{},
		topics: map[string]*mrTopic{}, topicID: map[protocol.ID]*mrTopic{},
		peers: map[*mrPeer]bool{},
	}
}

// connect joins a new client session through the router over an in-memory pipe.
func (mr *miniRouter) connect(ctx context.Context, cfg session.Config) (*session.Session, error) {
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	client, server := transport.Pipe(nil)
	mr.wg.Add(1)
	go func() {
		defer mr.wg.Done()
		mr.servePeer(ctx, server, session.AcceptConfig{})
	}()
	return session.Join(ctx, client, cfg)
}

// servePeer runs the handshake with Accept, then relays the session's
// messages until it leaves. It returns when the peer is gone.
func (mr *miniRouter) servePeer(ctx context.Context, p transport.Peer, cfg session.AcceptConfig) {
	j, err := session.Accept(ctx, p, cfg)
	if err != nil {
		return
	}
	mr.serve(&mrPeer{p: j.Peer, id: j.Session})
}

// close disconnects every client and waits for the router's goroutines.
func (mr *miniRouter) close() {
	mr.mu.Lock()
	for p := range mr.peers {
		p.p.Close()
	}
	mr.mu.Unlock()
	mr.wg.Wait()
}

func (mr *miniRouter) newIDLocked() protocol.ID {
	mr.nextID++
	return mr.nextID
}

func send(p *mrPeer, m protocol.Message) { _ = p.p.Send(context.Background(), m) }

func (mr *miniRouter) serve(p *mrPeer) {
	mr.mu.Lock()
	mr.peers[p] = true
	mr.mu.Unlock()
	defer mr.drop(p)
	ctx := context.Background()
	for {
		m, err := p.p.Recv(ctx)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *protocol.Register:
			mr.mu.Lock()
			if mr.procs[m.Procedure] != nil {
				mr.mu.Unlock()
				send(p, &protocol.Error{RequestType: protocol.CodeRegister, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.procedure_already_exists"})
				continue
			}
			reg := &mrReg{id: mr.newIDLocked(), proc: m.Procedure, callee: p}
			mr.procs[m.Procedure], mr.regs[reg.id] = reg, reg
			mr.mu.Unlock()
			send(p, &protocol.Registered{Request: m.Request, Registration: reg.id})
		case *protocol.Unregister:
			mr.mu.Lock()
			reg := mr.regs[m.Registration]
			if reg != nil && reg.callee == p {
				delete(mr.regs, reg.id)
				delete(mr.procs, reg.proc)
			}
			mr.mu.Unlock()
			send(p, &protocol.Unregistered{Request: m.Request})
		case *protocol.Call:
			mr.mu.Lock()
			reg := mr.procs[m.Procedure]
			if reg == nil {
				mr.mu.Unlock()
				send(p, &protocol.Error{RequestType: protocol.CodeCall, Request: m.Request, Details: protocol.Dict{},
					URI: "wamp.error.no_such_procedure", Args: protocol.List{"no callee registered for procedure " + m.Procedure}})
				continue
			}
			inv := mr.newIDLocked()
			key := mrCallKey{p, m.Request}
			mr.calls[inv] = &mrCall{key: key, callee: reg.callee}
			mr.byCall[key] = inv
			mr.mu.Unlock()
			details := protocol.Dict{}
			if m.Options["receive_progress"] == true {
				details["receive_progress"] = true
			}
			send(reg.callee, &protocol.Invocation{Request: inv, Registration: reg.id, Details: details, Args: m.Args, Kwargs: m.Kwargs})
		case *protocol.Cancel:
			mr.mu.Lock()
			key := mrCallKey{p, m.Request}
			inv, ok := mr.byCall[key]
			var c *mrCall
			if ok {
				c = mr.calls[inv]
				delete(mr.calls, inv)
				delete(mr.byCall, key)
			}
			mr.mu.Unlock()
			if c != nil {
				send(c.callee, &protocol.Interrupt{Request: inv, Options: protocol.Dict{"mode": "killnowait"}})
				send(p, &protocol.Error{RequestType: protocol.CodeCall, Request: m.Request, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
			}
		case *protocol.Yield:
			progress := m.Options["progress"] == true
			mr.mu.Lock()
			c := mr.calls[m.Request]
			if c != nil && !progress {
				delete(mr.calls, m.Request)
				delete(mr.byCall, c.key)
			}
			mr.mu.Unlock()
			if c != nil {
				d := protocol.Dict{}
				if progress {
					d["progress"] = true
				}
				send(c.key.caller, &protocol.Result{Request: c.key.req, Details: d, Args: m.Args, Kwargs: m.Kwargs})
			}
		case *protocol.Error:
			mr.mu.Lock()
			c := mr.calls[m.Request]
			if c != nil {
				delete(mr.calls, m.Request)
				delete(mr.byCall, c.key)
			}
			mr.mu.Unlock()
			if c != nil && m.RequestType == protocol.CodeInvocation {
				send(c.key.caller, &protocol.Error{RequestType: protocol.CodeCall, Request: c.key.req, Details: protocol.Dict{}, URI: m.URI, Args: m.Args, Kwargs: m.Kwargs})
			}
		case *protocol.Subscribe:
			mr.mu.Lock()
			tp := mr.topics[m.Topic]
			if tp == nil {
				tp = &mrTopic{id: mr.newIDLocked(), name: m.Topic, subs: map[*mrPeer]bool{}}
				mr.topics[m.Topic], mr.topicID[tp.id] = tp, tp
			}
			tp.subs[p] = true
			mr.mu.Unlock()
			send(p, &protocol.Subscribed{Request: m.Request, Subscription: tp.id})
		case *protocol.Unsubscribe:
			mr.mu.Lock()
			if tp := mr.topicID[m.Subscription]; tp != nil {
				delete(tp.subs, p)
			}
			mr.mu.Unlock()
			send(p, &protocol.Unsubscribed{Request: m.Request})
		case *protocol.Publish:
			mr.mu.Lock()
			pub := mr.newIDLocked()
			var targets []*mrPeer
			var subID protocol.ID
			if tp := mr.topics[m.Topic]; tp != nil {
				subID = tp.id
				for sp := range tp.subs {
					if sp != p || m.Options["exclude_me"] == false {
						targets = append(targets, sp)
					}
				}
			}
			mr.mu.Unlock()
			for _, sp := range targets {
				send(sp, &protocol.Event{Subscription: subID, Publication: pub, Details: protocol.Dict{}, Args: m.Args, Kwargs: m.Kwargs})
			}
			if m.Options["acknowledge"] == true {
				send(p, &protocol.Published{Request: m.Request, Publication: pub})
			}
		case *protocol.Goodbye:
			mr.forget(p) // before the reply: the client may reconnect at once
			send(p, &protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
			return
		default:
			return
		}
	}
}

// drop forgets a disconnected client and closes its transport.
func (mr *miniRouter) drop(p *mrPeer) {
	mr.forget(p)
	p.p.Close()
}

// forget removes a client's registrations and subscriptions and fails the
// calls waiting on it.
func (mr *miniRouter) forget(p *mrPeer) {
	mr.mu.Lock()
	delete(mr.peers, p)
	for proc, reg := range mr.procs {
		if reg.callee == p {
			delete(mr.procs, proc)
			delete(mr.regs, reg.id)
		}
	}
	for _, tp := range mr.topics {
		delete(tp.subs, p)
	}
	var orphans []*mrCall
	for inv, c := range mr.calls {
		if c.callee == p || c.key.caller == p {
			delete(mr.calls, inv)
			delete(mr.byCall, c.key)
			if c.callee == p && c.key.caller != p {
				orphans = append(orphans, c)
			}
		}
	}
	mr.mu.Unlock()
	for _, c := range orphans {
		send(c.key.caller, &protocol.Error{RequestType: protocol.CodeCall, Request: c.key.req, Details: protocol.Dict{}, URI: "wamp.error.canceled"})
	}
}
