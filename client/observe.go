package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Direction says whether a traced message was sent or received.
type Direction int

// The directions of Config.Trace.
const (
	Sent Direction = iota + 1
	Received
)

// String returns "sent" or "received".
func (d Direction) String() string {
	switch d {
	case Sent:
		return "sent"
	case Received:
		return "received"
	}
	return "Direction(?)"
}

// Redacted replaces a secret in traced messages.
const Redacted = "[redacted]"

// Stats are a Client's counters since New, over every session it joined.
// Messages are counted as the session's peer sends and receives them.
type Stats struct {
	MessagesIn, MessagesOut uint64
	// BytesIn and BytesOut are the bytes moved on the sockets, framing and
	// keep-alive included; 0 for peers that do not count them (a custom
	// Dialer's, an in-memory pipe).
	BytesIn, BytesOut uint64
	Calls             uint64 // CALL messages sent
	Publications      uint64 // PUBLISH messages sent
	Invocations       uint64 // INVOCATION messages received
	Events            uint64 // EVENT messages received
	Errors            uint64 // ERROR messages received: requests the router or a callee refused
	// Reconnects counts sessions joined after the first one (reconnections
	// and switches).
	Reconnects uint64
	// EventsDropped counts events dropped because a subscription's queue
	// was full (see Subscription.Dropped).
	EventsDropped uint64
}

// counters are the Client's message counters; the fields are atomics, so
// the peers of every session update them without a lock.
type counters struct {
	msgIn, msgOut                  atomic.Uint64
	calls, pubs, invs, evs, errors atomic.Uint64
	reconnects                     atomic.Uint64
	dropped                        atomic.Uint64 // of subscriptions no longer placed

	mu       sync.Mutex // guards bytesIn, bytesOut and live
	bytesIn  uint64     // of peers that are closed
	bytesOut uint64
	live     map[*observedPeer]struct{}
}

// sent counts m as sent (n = 1) or takes a failed send back (n = -1).
func (k *counters) sent(m protocol.Message, n int) {
	d := uint64(n) // -1 wraps around: atomic subtraction
	k.msgOut.Add(d)
	switch m.(type) {
	case *protocol.Call:
		k.calls.Add(d)
	case *protocol.Publish:
		k.pubs.Add(d)
	}
}

func (k *counters) received(m protocol.Message) {
	k.msgIn.Add(1)
	switch m.(type) {
	case *protocol.Invocation:
		k.invs.Add(1)
	case *protocol.Event:
		k.evs.Add(1)
	case *protocol.Error:
		k.errors.Add(1)
	}
}

// observedPeer counts and traces the messages of one connection.
type observedPeer struct {
	transport.Peer
	k     *counters
	trace func(Direction, protocol.Message)
	once  sync.Once
}

// observe wraps p. A transport.NetPeer stays one (observedNetPeer), so
// that the session layer still finds its keep-alive and queue controls.
func (k *counters) observe(p transport.Peer, trace func(Direction, protocol.Message)) transport.Peer {
	o := &observedPeer{Peer: p, k: k, trace: trace}
	k.mu.Lock()
	if k.live == nil {
		k.live = map[*observedPeer]struct{}{}
	}
	k.live[o] = struct{}{}
	k.mu.Unlock()
	if np, ok := p.(transport.NetPeer); ok {
		return &observedNetPeer{observedPeer: o, np: np}
	}
	return o
}

// observedNetPeer is an observedPeer over a transport.NetPeer: it passes
// the NetPeer methods through, counting and tracing what Enqueue sends.
type observedNetPeer struct {
	*observedPeer
	np transport.NetPeer
}

func (o *observedNetPeer) Enqueue(msgs []protocol.Message) (int, error) {
	for _, m := range msgs {
		if o.trace != nil {
			o.trace(Sent, redact(m))
		}
		o.k.sent(m, 1)
	}
	n, err := o.np.Enqueue(msgs)
	for _, m := range msgs[n:] {
		o.k.sent(m, -1)
	}
	return n, err
}

// Queue counts and traces m like Send.
func (o *observedNetPeer) Queue(ctx context.Context, m protocol.Message) error {
	o.sending(m)
	return o.notSent(m, o.np.Queue(ctx, m))
}
func (o *observedNetPeer) Flush()                        { o.np.Flush() }
func (o *observedNetPeer) Backlog() (int, time.Duration) { return o.np.Backlog() }
func (o *observedNetPeer) WaitBacklog(ctx context.Context, n int) error {
	return o.np.WaitBacklog(ctx, n)
}
func (o *observedNetPeer) Buffered() bool                        { return o.np.Buffered() }
func (o *observedNetPeer) Drop(last protocol.Message, why error) { o.np.Drop(last, why) }
func (o *observedNetPeer) KeepAlive() (time.Duration, time.Duration, bool) {
	return o.np.KeepAlive()
}
func (o *observedNetPeer) StartPing() bool { return o.np.StartPing() }
func (o *observedNetPeer) HoldWrites()     { o.np.HoldWrites() }
func (o *observedNetPeer) Authenticated()  { o.np.Authenticated() }

func (o *observedPeer) Send(ctx context.Context, m protocol.Message) error {
	o.sending(m)
	return o.notSent(m, o.Peer.Send(ctx, m))
}

// sending traces and counts m before it is sent: the reply can arrive
// before Send returns.
func (o *observedPeer) sending(m protocol.Message) {
	if o.trace != nil {
		o.trace(Sent, redact(m))
	}
	o.k.sent(m, 1)
}

// notSent takes back the count of m when sending it failed with err, and
// returns err.
func (o *observedPeer) notSent(m protocol.Message, err error) error {
	if err != nil {
		o.k.sent(m, -1)
	}
	return err
}

func (o *observedPeer) Recv(ctx context.Context) (protocol.Message, error) {
	m, err := o.Peer.Recv(ctx)
	if err == nil {
		o.k.received(m)
		if o.trace != nil {
			o.trace(Received, m)
		}
	}
	return m, err
}

// Close closes the connection and moves its byte counts into the totals.
func (o *observedPeer) Close() error {
	err := o.Peer.Close()
	o.once.Do(func() {
		in, out := traffic(o.Peer)
		k := o.k
		k.mu.Lock()
		k.bytesIn += in
		k.bytesOut += out
		delete(k.live, o)
		k.mu.Unlock()
	})
	return err
}

func traffic(p transport.Peer) (in, out uint64) {
	if t, ok := p.(transport.TrafficCounter); ok {
		return t.Traffic()
	}
	return 0, 0
}

// redact returns m, or a copy without its secret: the signature of an
// AUTHENTICATE (a ticket is the password itself).
func redact(m protocol.Message) protocol.Message {
	if a, ok := m.(*protocol.Authenticate); ok && a.Signature != "" {
		c := *a
		c.Signature = Redacted
		return &c
	}
	return m
}

func (k *counters) snapshot() Stats {
	s := Stats{
		MessagesIn:    k.msgIn.Load(),
		MessagesOut:   k.msgOut.Load(),
		Calls:         k.calls.Load(),
		Publications:  k.pubs.Load(),
		Invocations:   k.invs.Load(),
		Events:        k.evs.Load(),
		Errors:        k.errors.Load(),
		Reconnects:    k.reconnects.Load(),
		EventsDropped: k.dropped.Load(),
	}
	k.mu.Lock()
	s.BytesIn, s.BytesOut = k.bytesIn, k.bytesOut
	for o := range k.live {
		in, out := traffic(o.Peer)
		s.BytesIn += in
		s.BytesOut += out
	}
	k.mu.Unlock()
	return s
}
