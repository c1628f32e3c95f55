package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/idring"
	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// flushTimeout bounds how long a finished session's writer may take to send
// its last messages (GOODBYE, ABORT) before the connection is closed.
const flushTimeout = 5 * time.Second

// joinInfo is what the handshake established about a new session.
type joinInfo struct {
	id        protocol.ID
	realm     string
	identity  auth.Identity
	hello     protocol.Dict // HELLO.Details
	transport string        // "websocket", "rawsocket" or "" (unknown)
}

// Client features the router acts on, from HELLO.Details.roles.
type features uint32

const (
	featCalleeCanceling features = 1 << iota
	featCalleeProgress
	featCalleeRevocation
	featSubscriberRevocation
	featCallerProgressiveInvocations
	featCalleeProgressiveInvocations
	featCallerPassthru
	featCalleePassthru
	featPublisherPassthru
)

func parseFeatures(hello protocol.Dict) features {
	has := func(role, feature string) bool { return protocol.HasFeature(hello, role, feature) }
	var f features
	if has(protocol.RoleCallee, protocol.FeatureCallCanceling) {
		f |= featCalleeCanceling
	}
	// Like crossbar (and unlike nexus-go), progressive results go to every
	// callee announcing progressive_call_results, even without
	// call_canceling: autobahn-js callees announce only the former.
	if has(protocol.RoleCallee, protocol.FeatureProgressiveCallResults) {
		f |= featCalleeProgress
	}
	if has(protocol.RoleCallee, protocol.FeatureRegistrationRevocation) {
		f |= featCalleeRevocation
	}
	if has(protocol.RoleSubscriber, protocol.FeatureSubscriptionRevocation) {
		f |= featSubscriberRevocation
	}
	if has(protocol.RoleCaller, protocol.FeatureProgressiveCallInvocations) {
		f |= featCallerProgressiveInvocations
	}
	if has(protocol.RoleCallee, protocol.FeatureProgressiveCallInvocations) {
		f |= featCalleeProgressiveInvocations
	}
	if has(protocol.RoleCaller, protocol.FeaturePayloadPassthruMode) {
		f |= featCallerPassthru
	}
	if has(protocol.RoleCallee, protocol.FeaturePayloadPassthruMode) {
		f |= featCalleePassthru
	}
	if has(protocol.RolePublisher, protocol.FeaturePayloadPassthruMode) {
		f |= featPublisherPassthru
	}
	return f
}

// sess is the router side of one joined session.
//
// Ownership: info, kind, feat, peer, conn and rl are set before the
// session is published and never change. The reader goroutine (readLoop)
// owns all reads from peer and routed; out is the queue of messages for
// this session, flushed to conn by one goroutine at a time (see queue.go).
// stallMu guards stallTimer and dropped. The routing fields below are
// guarded by rl.mu.
type sess struct {
	r    *Router
	rl   *Realm
	peer transport.Peer
	conn flowConn // peer's outbound queue
	info *SessionInfo
	kind string // transport: "websocket", "rawsocket" or ""
	feat features

	ctx    context.Context // ends when the session is killed
	cancel context.CancelFunc

	out    outQueue
	routed batch // destinations of what the reader routed, not yet flushed

	stallMu    sync.Mutex
	stallTimer *time.Timer
	dropped    bool

	// Owned by the reader: the last request id accepted, and whether ids
	// are checked at all (see Config.AnyRequestIDs).
	lastReq   protocol.ID
	checkReqs bool

	goodbyeSent atomic.Bool                // the router sent GOODBYE and awaits the reply
	byeReply    bool                       // the client said GOODBYE: answer once it has left (reader-owned)
	killTimer   atomic.Pointer[time.Timer] // bounds the wait for a killed session's GOODBYE
	killOnce    sync.Once

	// Guarded by rl.mu.
	left        bool
	lastInv     protocol.ID                   // last INVOCATION request id sent
	invocations map[protocol.ID]*invocation   // as callee, by INVOCATION.Request
	calls       map[protocol.ID]*invocation   // as caller, by CALL.Request
	regs        map[protocol.ID]*registration // registrations it is a callee of
	subs        map[protocol.ID]*subscription // subscriptions it holds
	testaments  [2][]*testament               // by scope: detached, destroyed
	// endedStreams remembers the request ids of its progressive call
	// invocations that ended while it may still be sending input.
	endedStreams idring.Ring
}

func newSess(ctx context.Context, r *Router, rl *Realm, p transport.Peer, ji joinInfo) *sess {
	info := &SessionInfo{
		ID:           ji.id,
		Realm:        rl.name,
		AuthID:       ji.identity.AuthID,
		AuthRole:     ji.identity.AuthRole,
		AuthMethod:   ji.identity.AuthMethod,
		AuthProvider: ji.identity.AuthProvider,
		AuthExtra:    ji.identity.AuthExtra,
	}
	if ra, ok := p.(interface{ RemoteAddr() net.Addr }); ok {
		info.RemoteAddr = ra.RemoteAddr()
	}
	s := &sess{
		r:    r,
		rl:   rl,
		peer: p,
		info: info,
		kind: ji.transport,
		feat: parseFeatures(ji.hello),
	}
	s.checkReqs = !r.cfg.AnyRequestIDs
	if agent, _ := ji.hello["agent"].(string); s.checkReqs && strings.HasPrefix(agent, swampyerAgent) {
		s.checkReqs = false
		rl.log.Info("request IDs of this session are not checked: its client identifies as swampyer (Python izaber-wamp), which sends random request IDs",
			"session", info.ID, "agent", truncate(agent, 80))
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	if np, ok := p.(transport.NetPeer); ok {
		s.conn = np
	} else {
		s.conn = &peerQueue{p: p, ctx: s.ctx}
	}
	return s
}

// details is what wamp.session.get and wamp.session.on_join tell about s
// (made on demand: an idle session does not hold it).
func (s *sess) details() protocol.Dict {
	tr := protocol.Dict{}
	if s.kind != "" {
		tr["type"] = s.kind
	}
	if ser := s.peer.Serializer(); ser != nil {
		tr["serializer"] = ser.Name()
	}
	info := s.info
	return protocol.Dict{
		"session":      info.ID,
		"realm":        info.Realm,
		"authid":       info.AuthID,
		"authrole":     info.AuthRole,
		"authmethod":   info.AuthMethod,
		"authprovider": info.AuthProvider,
		"transport":    tr,
	}
}

// reply queues m for s from its own reader, which flushes it.
func (s *sess) reply(m protocol.Message) { s.routed.send(s, m) }

// kill ends the session at once: its context is cancelled, which unblocks
// and closes the transport.
func (s *sess) kill() {
	s.killOnce.Do(func() {
		s.out.close()
		s.cancel()
		s.stallMu.Lock()
		if s.stallTimer != nil {
			s.stallTimer.Stop()
		}
		s.stallMu.Unlock()
		go s.peer.Close()
	})
}

// shutdown starts a router-initiated GOODBYE; the reader ends the session
// when the client answers.
func (s *sess) shutdown(reason, message string) {
	s.goodbyeSent.Store(true)
	if s.out.pushLast(&protocol.Goodbye{Details: protocol.Dict{"message": message}, Reason: reason}) {
		s.flush()
	}
}

// killWithGoodbye ends the session on the router's initiative
// (wamp.session.kill): GOODBYE with reason and message, then the client's
// reply is awaited for at most flushTimeout.
func (s *sess) killWithGoodbye(reason, message string) {
	d := protocol.Dict{}
	if message != "" {
		d["message"] = message
	}
	s.goodbyeSent.Store(true)
	if s.out.pushLast(&protocol.Goodbye{Details: d, Reason: reason}) {
		s.killTimer.Store(time.AfterFunc(flushTimeout, s.kill))
		s.flush()
	}
}

// protocolViolation aborts the session with wamp.error.protocol_violation.
func (s *sess) protocolViolation(msg string) {
	s.rl.log.Info("protocol violation; aborting session", "session", s.info.ID, "reason", logsafe.String(msg))
	s.out.pushLast(&protocol.Abort{Details: protocol.Dict{"message": msg}, Reason: protocol.URIProtocolViolation})
}

// violationError makes the reader abort the session.
type violationError string

func (v violationError) Error() string { return string(v) }

func violation(format string, args ...any) error {
	return violationError(fmt.Sprintf(format, args...))
}

// readLoop reads, decodes and routes the client's messages on the
// session's goroutine. What they produce is flushed once no further
// message is already received (or after readAhead of them), and then flow
// control may hold the reader (see flushRouted).
func (s *sess) readLoop() {
	defer s.routed.flush()
	ahead := 0
	for {
		if ahead > 0 && (ahead >= readAhead || !s.conn.Buffered()) {
			s.flushRouted()
			ahead = 0
		}
		// Not s.ctx: kill closes the peer, which ends Recv; a context
		// that never ends costs Recv nothing.
		m, err := s.peer.Recv(context.Background())
		if err != nil && !uriFault(m, err) {
			size, limit, big := tooBig(err)
			switch {
			case big:
				s.protocolViolation(fmt.Sprintf("message of %d bytes exceeds the limit of %d bytes", size, limit))
			case errors.Is(err, protocol.ErrInvalidMessage):
				s.protocolViolation(err.Error())
			}
			return
		}
		if s.goodbyeSent.Load() {
			// After our GOODBYE only the client's GOODBYE (or ABORT) matters.
			switch m.(type) {
			case *protocol.Goodbye, *protocol.Abort:
				return
			}
			continue
		}
		if err := s.handle(m); err != nil {
			var v violationError
			if errors.As(err, &v) {
				s.protocolViolation(string(v))
			}
			return
		}
		ahead++
	}
}

// uriFault reports whether m's only fault is a URI (a *protocol.URIError
// from the decoder). Such a message is handled like any other: each
// handler checks its URI with the router's rule and answers ERROR
// wamp.error.invalid_uri (spec basic/uri_reference.md), an invalid error
// URI from a callee becomes wamp.error.runtime_error, and GOODBYE and ABORT
// end the session as usual.
func uriFault(m protocol.Message, err error) bool {
	var ue *protocol.URIError
	return m != nil && errors.As(err, &ue)
}

// errLeave ends the read loop without a protocol violation.
var errLeave = errors.New("session left")

// swampyerAgent starts the HELLO.Details.agent of the Python swampyer
// library (python-izaber-wamp-behaviour.md §3.4), whose request IDs are
// random (§3.3).
const swampyerAgent = "python-swampyer-"

// truncate shortens an untrusted string for a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// checkRequestID enforces the order of the client's request ids (see
// Config.AnyRequestIDs); it runs on the reader for every request.
func (s *sess) checkRequestID(m protocol.Message, id protocol.ID) error {
	want := s.lastReq + 1
	if s.lastReq >= protocol.MaxID {
		want = 1
	}
	if id == want {
		s.lastReq = id
		return nil
	}
	if _, ok := m.(*protocol.Call); ok {
		// A CALL with the id of a call of this session in progress (or of
		// a progressive call invocation just ended) is the dealer's to
		// judge: a chunk of a streamed input, a late one, or a violation.
		s.rl.mu.Lock()
		_, pending := s.calls[id]
		ended := s.endedStreams.Has(id)
		s.rl.mu.Unlock()
		if pending || ended {
			return nil
		}
	}
	return violation("%s request ID %d is out of sequence: expected %d (a session's request IDs start at 1 and go up by 1, "+
		"basic/building_blocks.md; only a CALL continuing a progressive call invocation repeats one); "+
		"a router that must accept any request IDs sets router.Config.AnyRequestIDs", m.Code(), id, want)
}

// requestID returns the request id of a client request.
func requestID(m protocol.Message) (protocol.ID, bool) {
	switch m := m.(type) {
	case *protocol.Call:
		return m.Request, true
	case *protocol.Publish:
		return m.Request, true
	case *protocol.Subscribe:
		return m.Request, true
	case *protocol.Unsubscribe:
		return m.Request, true
	case *protocol.Register:
		return m.Request, true
	case *protocol.Unregister:
		return m.Request, true
	}
	return 0, false
}

func (s *sess) handle(m protocol.Message) error {
	rl := s.rl
	if id, ok := requestID(m); ok && s.checkReqs {
		if err := s.checkRequestID(m, id); err != nil {
			return err
		}
	}
	switch m := m.(type) {
	case *protocol.Call:
		return rl.handleCall(s, m)
	case *protocol.Yield:
		return rl.handleYield(s, m)
	case *protocol.Error:
		if m.RequestType != protocol.CodeInvocation {
			return violation("ERROR for a %s request is not valid from a client", m.RequestType)
		}
		return rl.handleInvocationError(s, m)
	case *protocol.Cancel:
		return rl.handleCancel(s, m)
	case *protocol.Register:
		return rl.handleRegister(s, m)
	case *protocol.Unregister:
		return rl.handleUnregister(s, m)
	case *protocol.Publish:
		return rl.handlePublish(s, m)
	case *protocol.Subscribe:
		return rl.handleSubscribe(s, m)
	case *protocol.Unsubscribe:
		return rl.handleUnsubscribe(s, m)
	case *protocol.Goodbye:
		// Answered by serveJoined once the session has left the realm, so
		// that a client that has its reply sees every trace of it gone.
		s.byeReply = true
		return errLeave
	case *protocol.Abort:
		s.out.close()
		return errLeave
	case nil:
		return violation("nil message")
	default:
		return violation("unexpected %s message in an established session", m.Code())
	}
}

// serveJoined serves a client that is past its handshake (its WELCOME
// sent), such as a test's, until its session ends.
func (r *Router) serveJoined(ctx context.Context, p transport.Peer, ji joinInfo) {
	s, err := r.attach(ctx, p, ji, nil)
	if err != nil {
		var d *auth.Denied
		errors.As(err, &d)
		actx, cancel := context.WithTimeout(ctx, flushTimeout)
		p.Send(actx, &protocol.Abort{Details: protocol.Dict{"message": d.Message}, Reason: d.Reason})
		cancel()
		p.Close()
		return
	}
	r.run(s)
}

// attach makes the session of a client that completed its handshake and
// adds it to the router and its realm. welcome, unless nil, is queued for
// the client first, so that it goes out ahead of anything routed to the
// session once others can see it. A failure is an *auth.Denied saying
// why, and leaves nothing sent or attached.
func (r *Router) attach(ctx context.Context, p transport.Peer, ji joinInfo, welcome *protocol.Welcome) (*sess, error) {
	rl := r.Realm(ji.realm)
	if rl == nil {
		return nil, &auth.Denied{Reason: protocol.URINoSuchRealm, Message: fmt.Sprintf("no realm %q", ji.realm)}
	}
	s := newSess(ctx, r, rl, p, ji)
	if welcome != nil {
		// This goroutine flushes s until WELCOME is out: what others route
		// to s meanwhile (Router.Close's GOODBYE included) waits in its
		// queue, behind WELCOME.
		s.out.flushing = true
	}
	if err := r.addSession(s); err != nil {
		s.cancel()
		return nil, &auth.Denied{Reason: protocol.URISystemShutdown, Message: "router shutting down"}
	}
	if !rl.join(s) {
		r.removeSession(s)
		s.cancel()
		return nil, &auth.Denied{Reason: protocol.URIProtocolViolation, Message: "duplicate session id"}
	}
	if welcome == nil {
		return s, nil
	}
	if _, err := s.conn.Enqueue([]protocol.Message{welcome}); err != nil {
		// Such as a WELCOME over the maximum length the client announced:
		// nothing was sent, and the session goes as it came (it had no
		// time to register or subscribe anything).
		rl.mu.Lock()
		delete(rl.sessions, s.info.ID)
		s.left = true
		rl.mu.Unlock()
		r.removeSession(s)
		s.cancel()
		return nil, err
	}
	s.out.mu.Lock()
	s.out.flushing = false
	s.out.mu.Unlock()
	s.flush()
	return s, nil
}

// run serves an attached session until it ends, then removes it.
func (r *Router) run(s *sess) {
	defer s.cancel()
	defer r.removeSession(s)
	rl, p := s.rl, s.peer
	rl.afterJoin(s)
	s.readLoop()
	if t := s.killTimer.Load(); t != nil {
		t.Stop()
	}
	rl.leave(s)
	if s.byeReply {
		s.out.pushLast(&protocol.Goodbye{Details: protocol.Dict{}, Reason: protocol.URIGoodbyeAndOut})
	}
	// The last messages (GOODBYE, ABORT) are written, for a bounded time:
	// handed to the connection (another goroutine may be flushing s), then
	// written.
	s.out.close()
	wctx, cancel := context.WithTimeout(s.ctx, flushTimeout)
	stop := context.AfterFunc(r.ctx, cancel)
	s.waitFlushed(wctx)
	_ = s.conn.WaitBacklog(wctx, 0)
	stop()
	cancel()
	s.kill()
	p.Close()
}

// join adds s to the realm; it fails if the id is taken.
func (rl *Realm) join(s *sess) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if _, dup := rl.sessions[s.info.ID]; dup {
		return false
	}
	rl.sessions[s.info.ID] = s
	return true
}

func (rl *Realm) afterJoin(s *sess) {
	rl.log.Debug("session joined", "session", s.info.ID, "authid", logsafe.String(s.info.AuthID), "authrole", logsafe.String(s.info.AuthRole))
	rl.Publish(protocol.MetaSessionOnJoin, protocol.List{s.details()}, nil)
	rl.runHooks(true, s.info)
}

// leave removes every trace of s from the realm: registrations (pending
// callers get wamp.error.canceled), subscriptions, and its own calls (their
// callees get INTERRUPT killnowait). Then on_leave is published and the
// hooks run.
func (rl *Realm) leave(s *sess) {
	rl.mu.Lock()
	s.left = true
	delete(rl.sessions, s.info.ID)
	// Subscriptions first, so that s gets none of the meta events its
	// leaving causes.
	rl.broker.removeSession(&s.routed, rl, s)
	rl.dealer.removeSession(&s.routed, rl, s)
	rl.publishTestaments(&s.routed, s)
	rl.mu.Unlock()
	s.routed.flush()
	rl.log.Debug("session left", "session", s.info.ID)
	rl.Publish(protocol.MetaSessionOnLeave, protocol.List{s.info.ID, s.info.AuthID, s.info.AuthRole}, nil)
	rl.runHooks(false, s.info)
}
