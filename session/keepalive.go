package session

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// probeProcedure is what the liveness probe calls. Any reply, RESULT or
// ERROR (such as wamp.error.not_authorized), proves the router alive.
const probeProcedure = protocol.MetaSessionCount

// startKeepAlive makes sure a dead router is noticed on every transport,
// with the connection's keep-alive settings (transport.DialOptions
// PingInterval and PongTimeout). WebSocket connections ping already.
// RawSocket connections start PINGs now, except towards crossbar (and so
// Nexus), which drops a connection that sends it a RawSocket PING: there a
// WAMP call to wamp.session.count serves as the ping.
func (s *Session) startKeepAlive(welcome protocol.Dict) {
	np, ok := s.peer.(transport.NetPeer)
	if !ok {
		return
	}
	interval, timeout, pinging := np.KeepAlive()
	if pinging || interval <= 0 {
		return
	}
	if isCrossbar(welcome) {
		s.probe = &probe{s: s, np: np, interval: interval, timeout: timeout}
		s.probe.start()
		return
	}
	np.StartPing()
}

// isCrossbar reports whether WELCOME.Details come from crossbar, which puts
// x_cb_node, x_cb_peer, x_cb_pid and x_cb_worker into them and into their
// authextra.
func isCrossbar(d protocol.Dict) bool {
	extra, _ := d["authextra"].(protocol.Dict)
	for _, m := range []protocol.Dict{d, extra} {
		for k := range m {
			if strings.HasPrefix(k, "x_cb_") {
				return true
			}
		}
	}
	return false
}

// probe is the WAMP-level keep-alive: when no message has arrived for an
// interval it calls probeProcedure, and when nothing at all arrives within
// the timeout the connection is dropped as dead, at most interval + timeout
// after the router's last message. It runs on a runtime timer, with no
// goroutine between ticks.
//
// Ownership: mu guards the fields below it; the reader records the time of
// each message in Session.lastRecv.
type probe struct {
	s                 *Session
	np                transport.NetPeer
	interval, timeout time.Duration

	awaiting atomic.Bool // a probe is out: the reader calls answered on the next message

	mu      sync.Mutex
	t       *time.Timer
	waiting bool  // a probe is out
	sentAt  int64 // mono() when it was sent
	stopped bool
}

// answered runs on the reader when the first message after a probe
// arrives: the router is alive, and the next probe is due an interval from
// now.
func (p *probe) answered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting && !p.stopped {
		p.waiting = false
		p.t.Reset(p.interval)
	}
}

func (p *probe) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s.lastRecv.CompareAndSwap(0, mono())
	p.t = time.AfterFunc(p.interval, p.tick)
}

func (p *probe) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.t != nil {
		p.t.Stop()
	}
}

func (p *probe) tick() {
	now := mono()
	last := p.s.lastRecv.Load()
	idle := time.Duration(now - last)
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	switch {
	case p.waiting && last > p.sentAt, !p.waiting && idle < p.interval:
		p.waiting = false
		p.awaiting.Store(false)
		p.t.Reset(max(p.interval-idle, 0))
		p.mu.Unlock()
	case !p.waiting:
		p.waiting, p.sentAt = true, now
		p.awaiting.Store(true)
		p.t.Reset(p.timeout)
		p.mu.Unlock()
		p.s.sendProbe()
	default:
		p.stopped = true
		p.mu.Unlock()
		err := fmt.Errorf("session: keep-alive: no message from the router within %v of a liveness probe (%s), connection presumed dead", p.timeout, probeProcedure)
		p.s.log.Warn("keep-alive: router presumed dead", "timeout", p.timeout)
		p.np.Drop(nil, err)
	}
}

// epoch and mono give a cheap monotonic clock in nanoseconds.
var epoch = time.Now()

func mono() int64 { return int64(time.Since(epoch)) }

// sendProbe calls probeProcedure as an abandoned request: its reply, of
// either kind, is dropped by the reader.
func (s *Session) sendProbe() {
	s.mu.Lock()
	id, err := s.newRequestLocked(nil)
	if err == nil {
		s.abandonLocked(id, protocol.CodeCall)
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	s.sendNow(&protocol.Call{Request: id, Options: protocol.Dict{}, Procedure: probeProcedure})
}
