package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// How messages leave the router.
//
// Routing code, holding the realm lock, queues each message for its
// destination session (outQueue.push: no encoding, no I/O, never blocks)
// and records the destination in a batch. The goroutine that routed the
// message then flushes the batch once the lock is released: each
// destination's queued messages are encoded and handed to its connection,
// which writes them without blocking (transport.NetPeer.Enqueue). A
// session's reader keeps one batch across the messages it finds already
// received, so a burst of requests becomes one write per destination.
//
// One goroutine at a time flushes a given session (outQueue.flushing), so
// its messages reach the connection in the order they were queued.

// flushRounds bounds how many times one flusher drains a session that
// others keep feeding before it hands the work to a goroutine of its own.
const flushRounds = 4

// readAhead is how many already-received messages a reader routes before
// it flushes what they produced.
const readAhead = 64

// outQueue is a session's queue of routed messages not yet handed to its
// connection. Guarded by mu.
type outQueue struct {
	mu       sync.Mutex
	items    []protocol.Message
	spare    []protocol.Message // the slice items had before the last take
	closing  bool               // no further pushes accepted
	flushing bool               // a goroutine is handing items to the connection
	idle     chan struct{}      // closed when a flush ends with nothing left (see waitFlushed)
}

// push queues m. It reports false when the session is ending.
func (q *outQueue) push(m protocol.Message) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	q.items = append(q.items, m)
	return true
}

// pushLast queues m as the final message (GOODBYE, ABORT) and refuses
// everything after it. It reports false if the queue was already closing.
func (q *outQueue) pushLast(m protocol.Message) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	q.items = append(q.items, m)
	q.closing = true
	return true
}

// close refuses further pushes; what is queued is still flushed.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
}

// flush hands the queued messages to the connection, in order, unless
// another goroutine is doing it (which will find them). It never blocks,
// except to ask the Authorizer about events that came through a pattern
// allowed only URI by URI (see authz.go).
func (s *sess) flush() {
	q := &s.out
	q.mu.Lock()
	if q.flushing {
		q.mu.Unlock()
		return
	}
	q.flushing = true
	for round := 0; ; round++ {
		if len(q.items) == 0 {
			q.flushing = false
			if q.idle != nil {
				close(q.idle)
				q.idle = nil
			}
			q.mu.Unlock()
			return
		}
		if round == flushRounds {
			// Others keep feeding this session: a goroutine of its own
			// takes over, flushing stays set.
			q.mu.Unlock()
			go s.flushOn()
			return
		}
		batch := q.items
		q.items, q.spare = q.spare[:0], nil
		q.mu.Unlock()
		s.hand(s.ungate(batch))
		clear(batch)
		q.mu.Lock()
		if q.spare == nil {
			q.spare = batch[:0]
		}
	}
}

// waitFlushed flushes s and waits until everything queued has been handed
// to the connection, also what another goroutine's flush is handing over,
// or until ctx ends.
func (s *sess) waitFlushed(ctx context.Context) {
	q := &s.out
	for {
		s.flush()
		q.mu.Lock()
		if !q.flushing && len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		if q.idle == nil {
			q.idle = make(chan struct{})
		}
		idle := q.idle
		q.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return
		}
	}
}

// flushOn continues a flush that flush handed over.
func (s *sess) flushOn() {
	q := &s.out
	q.mu.Lock()
	q.flushing = false
	q.mu.Unlock()
	s.flush()
}

// hand gives msgs to the connection. A message the connection refuses as
// too big is replaced (see Realm.sendTooBig); any other failure means the
// connection is ending.
func (s *sess) hand(msgs []protocol.Message) {
	for len(msgs) > 0 {
		n, err := s.conn.Enqueue(msgs)
		if err == nil {
			break
		}
		if _, _, big := tooBig(err); big && n < len(msgs) {
			s.rl.sendTooBig(s, unshare(msgs[n]))
			msgs = msgs[n+1:]
			continue
		}
		if errors.Is(err, transport.ErrClosed) {
			return
		}
		s.rl.log.Warn("cannot send message; dropped", "session", s.info.ID, "type", msgs[n].Code().String(), "err", err)
		msgs = msgs[n+1:]
	}
	s.watchStall()
}

func unshare(m protocol.Message) protocol.Message {
	if sh, ok := m.(*transport.Shared); ok {
		return sh.Message()
	}
	return m
}

// watchStall arms the stall timer when the connection holds data it could
// not write at once, and drops at once a session that makes no progress
// with more than Config.OutboundQueueBytes waiting (or, if it is over that
// limit but made progress less than flowWait ago, checks again then: no
// further message is needed to drop it).
func (s *sess) watchStall() {
	n, stalled := s.conn.Backlog()
	if n == 0 {
		return
	}
	over := n > s.r.cfg.OutboundQueueBytes
	if over && stalled >= flowWait {
		s.dropOverLimit(n, stalled)
		return
	}
	s.stallMu.Lock()
	defer s.stallMu.Unlock()
	if s.dropped {
		return
	}
	switch {
	case s.stallTimer == nil && over:
		s.stallTimer = time.AfterFunc(flowWait-stalled, s.checkStall)
	case s.stallTimer == nil:
		s.stallTimer = time.AfterFunc(s.r.cfg.WriteStallTimeout, s.checkStall)
	case over:
		s.stallTimer.Reset(flowWait - stalled)
	}
}

// checkStall drops the session when its connection has made no write
// progress for Config.WriteStallTimeout, or for flowWait with more than
// Config.OutboundQueueBytes waiting, and otherwise watches on while data
// is waiting.
func (s *sess) checkStall() {
	n, stalled := s.conn.Backlog()
	limit := s.r.cfg.WriteStallTimeout
	over := n > s.r.cfg.OutboundQueueBytes
	if over && stalled >= flowWait {
		s.dropOverLimit(n, stalled)
		return
	}
	s.stallMu.Lock()
	if s.dropped || n == 0 {
		s.stallTimer = nil
		s.stallMu.Unlock()
		return
	}
	if stalled < limit {
		next := limit - stalled
		if over {
			next = min(next, flowWait-stalled)
		}
		s.stallTimer.Reset(next)
		s.stallMu.Unlock()
		return
	}
	s.stallMu.Unlock()
	s.drop(fmt.Sprintf("not reading: no write progress for %v with %d bytes queued", limit, n))
}

// dropOverLimit drops a session stalled with more than
// Config.OutboundQueueBytes waiting.
func (s *sess) dropOverLimit(n int, stalled time.Duration) {
	s.drop(fmt.Sprintf("not reading: %d bytes queued, over the limit of %d, and no write progress for %v", n, s.r.cfg.OutboundQueueBytes, stalled.Round(time.Millisecond)))
}

// drop ends a session whose client does not keep up: it leaves the realm at
// once; its connection sends ABORT wamp.error.timeout saying why after the
// message being written, and closes.
func (s *sess) drop(why string) {
	s.stallMu.Lock()
	if s.dropped {
		s.stallMu.Unlock()
		return
	}
	s.dropped = true
	if s.stallTimer != nil {
		s.stallTimer.Stop()
	}
	s.stallMu.Unlock()
	msg := "router: session dropped: " + why
	s.rl.log.Warn("dropping session: client not reading", "session", s.info.ID, "authid", logsafe.String(s.info.AuthID), "reason", why)
	s.out.close()
	s.conn.Drop(&protocol.Abort{Details: protocol.Dict{"message": msg}, Reason: protocol.URITimeout}, errors.New(msg))
	s.kill()
}

// batch collects the sessions that messages were queued for while the
// realm lock was held, to flush them once it is released. A session's
// reader owns one (sess.routed); other goroutines that route (timers,
// internal procedures, Realm.Publish) make their own.
type batch struct {
	dests []*sess
	set   map[*sess]struct{} // used once dests is long
}

// send queues m for to and records to for the flush.
func (b *batch) send(to *sess, m protocol.Message) {
	if !to.out.push(m) {
		return
	}
	b.add(to)
}

func (b *batch) add(s *sess) {
	if b.set != nil {
		if _, ok := b.set[s]; ok {
			return
		}
		b.set[s] = struct{}{}
	} else {
		for _, d := range b.dests {
			if d == s {
				return
			}
		}
		if len(b.dests) >= 16 {
			b.set = make(map[*sess]struct{}, 2*len(b.dests))
			for _, d := range b.dests {
				b.set[d] = struct{}{}
			}
			b.set[s] = struct{}{}
		}
	}
	b.dests = append(b.dests, s)
}

// flush flushes every recorded session and empties the batch.
func (b *batch) flush() {
	for _, d := range b.dests {
		d.flush()
	}
	b.reset()
}

func (b *batch) reset() {
	clear(b.dests)
	b.dests = b.dests[:0]
	b.set = nil
}

// flushRouted flushes what s's reader routed, then applies flow control:
// for each destination whose connection holds more than
// Config.BackpressureBytes, the reader waits (and so stops reading from its
// client) until it drains. It waits only for destinations that make
// progress: one that wrote nothing for flowWait is not waited for (it is
// dropped after WriteStallTimeout), so a stalled subscriber delays a
// publisher by at most flowWait, once.
func (s *sess) flushRouted() {
	b := &s.routed
	for _, d := range b.dests {
		d.flush()
	}
	limit := s.r.cfg.BackpressureBytes
	for _, d := range b.dests {
		if n, stalled := d.conn.Backlog(); n > limit && stalled < flowWait {
			s.waitFor(d, limit)
		}
	}
	b.reset()
}

// flowWait is how long a destination may make no progress and still hold
// back the sessions that feed it.
const flowWait = 250 * time.Millisecond

// waitFor waits until d's backlog is at most limit, d makes no progress for
// flowWait, or either session ends.
func (s *sess) waitFor(d *sess, limit int) {
	for {
		ctx, cancel := context.WithTimeout(s.ctx, flowWait)
		err := d.conn.WaitBacklog(ctx, limit)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || s.ctx.Err() != nil {
			return
		}
		if _, stalled := d.conn.Backlog(); stalled >= flowWait {
			return
		}
	}
}

// flowConn is what the router needs from a connection:
// transport.NetPeer's, or a peerQueue around any other transport.Peer.
type flowConn = transport.Outbound

// peerQueue gives a transport.Peer without an outbound queue of its own
// (such as transport.Pipe) the non-blocking Enqueue of a NetPeer: a
// goroutine, started while there is something to write, sends the queued
// messages one by one.
//
// Ownership: mu guards everything below it; run is the only sender.
type peerQueue struct {
	p   transport.Peer
	ctx context.Context // the session's: ends the writer

	mu      sync.Mutex
	items   []protocol.Message
	bytes   int // estimated size of items (messageSize)
	since   time.Time
	running bool
	wake    chan struct{}
	closed  bool
	err     error
}

func (q *peerQueue) Enqueue(msgs []protocol.Message) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, q.errLocked()
	}
	if q.bytes == 0 {
		q.since = time.Now()
	}
	for _, m := range msgs {
		q.items = append(q.items, m)
		q.bytes += messageSize(unshare(m))
	}
	if !q.running {
		q.running = true
		go q.run()
	}
	return len(msgs), nil
}

func (q *peerQueue) errLocked() error {
	if q.err != nil {
		return q.err
	}
	return transport.ErrClosed
}

func (q *peerQueue) run() {
	for {
		q.mu.Lock()
		if len(q.items) == 0 || q.closed {
			q.running = false
			q.signalLocked()
			q.mu.Unlock()
			return
		}
		m := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.mu.Unlock()
		err := q.p.Send(q.ctx, m)
		q.mu.Lock()
		q.bytes -= messageSize(unshare(m))
		q.since = time.Now()
		if len(q.items) == 0 {
			q.items, q.bytes = nil, 0
		}
		if err != nil {
			if _, _, big := tooBig(err); !big {
				q.closed, q.err = true, err
				q.items, q.bytes = nil, 0
			}
		}
		q.signalLocked()
		q.mu.Unlock()
	}
}

func (q *peerQueue) signalLocked() {
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
}

func (q *peerQueue) Backlog() (int, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bytes == 0 {
		return 0, 0
	}
	return q.bytes, time.Since(q.since)
}

func (q *peerQueue) WaitBacklog(ctx context.Context, n int) error {
	for {
		q.mu.Lock()
		if q.closed {
			err := q.errLocked()
			q.mu.Unlock()
			return err
		}
		if q.bytes <= n {
			q.mu.Unlock()
			return nil
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		ch := q.wake
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *peerQueue) Buffered() bool { return false }

func (q *peerQueue) Drop(last protocol.Message, why error) {
	q.mu.Lock()
	q.items, q.bytes = nil, 0
	if last != nil {
		q.items = append(q.items, last)
	}
	q.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = q.WaitBacklog(ctx, 0)
		q.mu.Lock()
		q.closed, q.err = true, why
		q.signalLocked()
		q.mu.Unlock()
		q.p.Close()
	}()
	q.mu.Lock()
	if !q.running && len(q.items) > 0 {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
}

// messageSize estimates the memory a queued message holds: a fixed
// overhead plus its payload. Only payload-carrying messages are measured.
func messageSize(m protocol.Message) int {
	const overhead = 64
	var args protocol.List
	var kwargs protocol.Dict
	switch m := m.(type) {
	case *protocol.Invocation:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Result:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Error:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Event:
		args, kwargs = m.Args, m.Kwargs
	default:
		return overhead
	}
	budget := maxSizeNodes
	return overhead + payloadSize(args, 0, &budget) + payloadSize(kwargs, 0, &budget)
}

// maxSizeNodes bounds the values payloadSize visits for one message, so
// that shared or cyclic in-process payloads cannot make it slow.
const maxSizeNodes = 1 << 16

// payloadSize estimates the size of a decoded payload value, visiting at
// most *budget values and 64 levels.
func payloadSize(v any, depth int, budget *int) int {
	if depth > 64 || *budget <= 0 {
		return 0
	}
	*budget--
	switch v := v.(type) {
	case string:
		return len(v) + 16
	case []byte:
		return len(v) + 24
	case protocol.List:
		n := 24
		for _, e := range v {
			n += payloadSize(e, depth+1, budget)
		}
		return n
	case protocol.Dict:
		n := 48
		for k, e := range v {
			n += len(k) + 16 + payloadSize(e, depth+1, budget)
		}
		return n
	}
	return 16
}
