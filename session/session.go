package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/idring"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

type sessionState int

const (
	stateEstablished sessionState = iota
	stateClosing                  // we sent GOODBYE and wait for the reply
	stateClosed                   // ended; no message is sent any more
)

// maxAbandoned bounds the memory of abandoned request ids (see Session.abandoned).
const maxAbandoned = 4096

// sendTimeout bounds the messages the reader itself sends (ABORT, GOODBYE
// replies, ERROR for invocations it refuses), so a stuck transport cannot
// hold the reader forever.
const sendTimeout = 10 * time.Second

// Session is a joined WAMP session. Create it with [Join]; end it with
// [Session.Close]. All methods are safe for concurrent use.
//
// Ownership: the reader goroutine (readLoop) owns peer.Recv; it alone adds
// regs/subs entries (from REGISTERED/SUBSCRIBED) and pushes replies to
// pending requests; requesting goroutines add pending entries and remove
// what they abandon or unregister. Writes go through peer.Send (safe for
// concurrent use), from whichever goroutine produced the message. Every
// field below mu is guarded by mu; the fields above it are set by Join and
// then read-only (or synchronized themselves: channels, atomics).
// Lock order: CallStream.mu, then Session.seq (a channel, taken with the
// caller's context), then Session.mu; Session.mu may be taken while holding
// invocation.sendMu, never the other way round; pendingReq.mu is a leaf
// lock. No lock is held while calling user code or Peer.Send, except
// Session.seq around the queueing of a new request (to put request ids on
// the wire in order; on a NetPeer the write follows once seq is released,
// NetPeer.Queue then Flush) and invocation.sendMu around the sends of one
// invocation (to keep its progressive and final replies in order). The
// reader never takes Session.seq.
type Session struct {
	peer transport.Peer
	np   transport.NetPeer // peer, when it is one (else nil)
	cfg  Config
	log  *slog.Logger
	info Info

	ctx    context.Context // cancelled when the session ends; bounds Sends (Close uses its ctx)
	cancel context.CancelFunc
	done   chan struct{} // closed when the session has ended
	idle   chan struct{} // closed when it has ended and all its goroutines returned

	// seq puts requests on the wire in the order of their ids: a request's
	// id is allocated and its message queued while seq is held (a channel
	// of capacity 1, so that waiting for it is bounded by the caller's
	// context). The spec wants a session's request ids to go 1, 2, 3...
	// on the wire (basic/building_blocks.md, "Protocol Errors"), and a
	// router may enforce it (package router does); two goroutines that
	// took ids 5 and 6 and then raced to the socket, or a request whose
	// context ended before it was queued, would break it. A request that
	// could not be queued gives its id back.
	seq chan struct{}

	invQueue    chan *invocation // invocations waiting for a worker; closed by shutdown under mu
	idleWorkers atomic.Int64     // workers waiting on invQueue
	lastRecv    atomic.Int64     // mono() of the last message read (keep-alive evidence)
	probe       *probe           // WAMP-level keep-alive, set by start or nil
	reqPool     sync.Pool        // of *pendingReq, for calls (newCallPending)

	mu        sync.Mutex
	state     sessionState
	err       error // why the session ended; set with state = stateClosed
	nextID    protocol.ID
	wrapped   bool                          // nextID wrapped around 2^53 at least once
	pending   map[protocol.ID]*pendingReq   // requests waiting for a reply
	abandoned map[protocol.ID]protocol.Code // requests given up (ctx), reply still expected
	abOrder   []protocol.ID                 // FIFO of abandoned ids, bounds the map
	regs      map[protocol.ID]*Registration // by router registration id
	subs      map[protocol.ID][]*Subscription
	invs      map[protocol.ID]*invocation // running or queued invocations by request id
	// endedStreams remembers streamed invocations that ended before their
	// last input chunk, whose further chunks are dropped.
	endedStreams idring.Ring
	workers      int  // invocation worker goroutines started
	active       int  // goroutines started by the session still running
	idleDone     bool // idle closed
}

// replyItem is one reply (or the terminal error) for a pending request.
type replyItem struct {
	msg protocol.Message
	err error
}

// pendingReq is a request waiting for its reply. The reader pushes replies;
// the requesting goroutine pops them. A call with progressive results can
// receive several items, in order; every other request exactly one.
type pendingReq struct {
	kind         protocol.Code // the request's message code
	wantProgress bool
	reg          *Registration // REGISTER: installed by the reader on REGISTERED
	sub          *Subscription // SUBSCRIBE: installed by the reader on SUBSCRIBED

	notify chan struct{} // capacity 1, signalled after each push
	mu     sync.Mutex
	items  []replyItem
	first  [1]replyItem // backing array for the usual single reply
}

func newPending(kind protocol.Code) *pendingReq {
	p := &pendingReq{kind: kind, notify: make(chan struct{}, 1)}
	p.items = p.first[:0]
	return p
}

// newCallPending is newPending for a call, recycled through the session's
// pool (one per session: the notify channel must stay among the session's
// goroutines, as testing/synctest requires).
func (s *Session) newCallPending() *pendingReq {
	p, _ := s.reqPool.Get().(*pendingReq)
	if p == nil {
		return newPending(protocol.CodeCall)
	}
	p.kind = protocol.CodeCall
	p.items = p.first[:0]
	return p
}

// release recycles p once nobody can push to it any more: its request
// completed (the final push was taken) or was abandoned while still
// pending. A request that receives progressive results is not recycled: the
// reader pushes those outside s.mu, so one may race with the abandonment.
func (s *Session) release(p *pendingReq) {
	if p.wantProgress || p.reg != nil || p.sub != nil {
		return
	}
	select {
	case <-p.notify:
	default:
	}
	p.first = [1]replyItem{}
	p.items = nil
	p.kind = 0
	s.reqPool.Put(p)
}

func (p *pendingReq) push(it replyItem) {
	p.mu.Lock()
	p.items = append(p.items, it)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// take returns the queued items and installs spare (emptied) as the new
// queue, so a request's buffers are swapped back and forth, not copied.
func (p *pendingReq) take(spare []replyItem) []replyItem {
	clear(spare)
	p.mu.Lock()
	items := p.items
	p.items = spare[:0]
	p.mu.Unlock()
	return items
}

// Join opens a session on p: it sends HELLO, answers the router's
// CHALLENGE with the matching Config.Auth method, and returns once WELCOME
// arrives. ctx bounds the whole handshake. Join owns p from then on: on
// failure it has closed p (after sending ABORT where the protocol asks for
// it); on success the Session closes it when it ends. An ABORT from the
// router is returned as an *AbortError.
//
// The router challenges one method, once: a second CHALLENGE, or one for
// another method after an answer, fails the join at once with ABORT
// wamp.error.protocol_violation and an error wrapping ErrProtocolViolation,
// unless the method implements auth.MultiRound and has rounds left.
func Join(ctx context.Context, p transport.Peer, cfg Config) (*Session, error) {
	if p == nil {
		return nil, errors.New("session: join: nil peer")
	}
	cfg = cfg.withDefaults()
	if cfg.Realm == "" {
		p.Close()
		return nil, errors.New("session: join: Config.Realm is empty")
	}
	hello := buildHello(cfg)
	if err := p.Send(ctx, hello); err != nil {
		p.Close()
		return nil, fmt.Errorf("session: join: sending HELLO: %w", joinCause(ctx, joinTooBig(err)))
	}
	var (
		challenged string // the method the router challenged
		rounds     int    // CHALLENGEs answered
	)
	for {
		m, err := p.Recv(ctx)
		if err != nil {
			if errors.Is(err, protocol.ErrInvalidMessage) && !errors.Is(err, transport.ErrClosed) {
				joinAbort(p, URIProtocolViolation, "undecodable message during join")
				return nil, fmt.Errorf("session: join: %w: %w", ErrProtocolViolation, err)
			}
			p.Close()
			return nil, fmt.Errorf("session: join: %w", joinCause(ctx, joinTooBig(err)))
		}
		switch m := m.(type) {
		case *protocol.Welcome:
			if m.Session < 1 || m.Session > protocol.MaxID {
				err := newProtocolError("WELCOME with invalid session id %d", m.Session)
				joinAbort(p, URIProtocolViolation, err.Error())
				return nil, fmt.Errorf("session: join: %w", err)
			}
			return start(p, cfg, m), nil
		case *protocol.Challenge:
			var cm interface {
				Respond(context.Context, *protocol.Challenge) (*protocol.Authenticate, error)
			}
			for _, c := range cfg.Auth {
				if c != nil && c.Method() == m.AuthMethod {
					cm = c
					break
				}
			}
			if cm == nil {
				joinAbort(p, URICannotAuthenticate, fmt.Sprintf("authmethod %q was not offered", m.AuthMethod))
				return nil, fmt.Errorf("session: join: router sent a CHALLENGE for authmethod %q, which was not offered", m.AuthMethod)
			}
			if challenged != "" && challenged != m.AuthMethod {
				err := newProtocolError("router sent a CHALLENGE for %s after one for %s", m.AuthMethod, challenged)
				joinAbort(p, URIProtocolViolation, err.Error())
				return nil, fmt.Errorf("session: join: %w", err)
			}
			allowed := 1
			if mr, ok := cm.(auth.MultiRound); ok {
				allowed = mr.Rounds()
			}
			if rounds >= allowed {
				err := newProtocolError("router sent CHALLENGE number %d for %s, which has %d round(s)", rounds+1, m.AuthMethod, allowed)
				joinAbort(p, URIProtocolViolation, err.Error())
				return nil, fmt.Errorf("session: join: %w", err)
			}
			challenged = m.AuthMethod
			rounds++
			a, err := cm.Respond(ctx, m)
			if err != nil || a == nil {
				joinAbort(p, URICannotAuthenticate, fmt.Sprintf("cannot answer the %s challenge", m.AuthMethod))
				if err == nil {
					err = errors.New("no answer")
				}
				return nil, fmt.Errorf("session: join: answering %s challenge: %w", m.AuthMethod, err)
			}
			if err := p.Send(ctx, a); err != nil {
				p.Close()
				return nil, fmt.Errorf("session: join: sending AUTHENTICATE: %w", joinCause(ctx, joinTooBig(err)))
			}
		case *protocol.Abort:
			p.Close()
			return nil, newAbortError(m)
		default:
			err := newProtocolError("unexpected %s during join", m.Code())
			joinAbort(p, URIProtocolViolation, err.Error())
			return nil, fmt.Errorf("session: join: %w", err)
		}
	}
}

// joinTooBig explains a handshake message over the transport's size
// limit: the limit is too small for a session, not a network failure.
func joinTooBig(err error) error {
	var big *transport.MessageTooBigError
	if !errors.As(err, &big) {
		return err
	}
	if big.Received {
		return fmt.Errorf("the router's handshake message is over the maximum message length of %d bytes; a WAMP session needs a larger maximum (transport MaxMessageSize): %w", big.Limit, err)
	}
	return fmt.Errorf("it is over the maximum message length of %d bytes; a WAMP session needs a larger maximum (transport MaxMessageSize): %w", big.Limit, err)
}

// joinCause prefers the context's error when the context ended.
func joinCause(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func joinAbort(p transport.Peer, reason, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	_ = p.Send(ctx, &protocol.Abort{Details: protocol.Dict{"message": msg}, Reason: reason})
	p.Close()
}

func newAbortError(m *protocol.Abort) *AbortError {
	msg, _ := m.Details["message"].(string)
	if msg == "" && len(m.Args) > 0 {
		msg, _ = m.Args[0].(string)
	}
	return &AbortError{Reason: m.Reason, Message: msg, Details: m.Details}
}

func buildHello(cfg Config) *protocol.Hello {
	details := protocol.Dict{
		"roles": protocol.ClientRoles(),
		"agent": cfg.Agent,
	}
	if cfg.AuthID != "" {
		details["authid"] = cfg.AuthID
	}
	methods := protocol.List{}
	extra := protocol.Dict{}
	for k, v := range cfg.AuthExtra {
		extra[k] = v
	}
	for _, m := range cfg.Auth {
		if m == nil {
			continue
		}
		methods = append(methods, m.Method())
		for k, v := range m.HelloExtra() {
			extra[k] = v
		}
	}
	if len(methods) == 0 {
		methods = protocol.List{"anonymous"}
	}
	details["authmethods"] = methods
	if len(extra) > 0 {
		details["authextra"] = extra
	}
	return &protocol.Hello{Realm: cfg.Realm, Details: details}
}

func start(p transport.Peer, cfg Config, w *protocol.Welcome) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	np, _ := p.(transport.NetPeer)
	s := &Session{
		peer:      p,
		np:        np,
		cfg:       cfg,
		log:       cfg.Logger.With("session", w.Session),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		idle:      make(chan struct{}),
		seq:       make(chan struct{}, 1),
		invQueue:  make(chan *invocation, 8*cfg.InvocationConcurrency),
		nextID:    1,
		pending:   map[protocol.ID]*pendingReq{},
		abandoned: map[protocol.ID]protocol.Code{},
		regs:      map[protocol.ID]*Registration{},
		subs:      map[protocol.ID][]*Subscription{},
		invs:      map[protocol.ID]*invocation{},
	}
	d := w.Details
	str := func(k string) string { v, _ := d[k].(string); return v }
	s.info = Info{
		Session:      w.Session,
		Realm:        str("realm"),
		AuthID:       str("authid"),
		AuthRole:     str("authrole"),
		AuthMethod:   str("authmethod"),
		AuthProvider: str("authprovider"),
		Details:      d,
	}
	if s.info.Realm == "" {
		s.info.Realm = cfg.Realm
	}
	s.info.AuthExtra, _ = d["authextra"].(protocol.Dict)
	s.startKeepAlive(d)
	s.mu.Lock()
	s.goLocked(s.readLoop)
	s.mu.Unlock()
	return s
}

// Info returns what the router told about this session in WELCOME.
func (s *Session) Info() Info { return s.info }

// Done is closed when the session has ended (Close, GOODBYE or ABORT from
// the router, protocol violation, transport loss).
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns nil while the session is running, then why it ended: an error
// matching ErrSessionClosed, ErrConnectionLost or ErrProtocolViolation, or an
// *AbortError.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close leaves the realm: it sends GOODBYE (wamp.close.close_realm), waits
// for the router's GOODBYE (any reason) as long as ctx allows, closes the
// transport, fails pending requests with ErrSessionClosed and waits, again
// bounded by ctx, for running handlers to return. Close always ends the
// session; its error only reports an incomplete handshake or handlers that
// did not return in time. Calling Close again, or after the session ended,
// just waits for the goroutines.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	st := s.state
	if st == stateEstablished {
		s.state = stateClosing
	}
	s.mu.Unlock()

	var result error
	if st == stateEstablished {
		// ctx, not s.ctx: the router's GOODBYE reply can end the session (and
		// cancel s.ctx) while this write is still returning, which the
		// transport would report as a failed send.
		// It also bounds the write when the transport is stuck.
		err := s.peer.Send(ctx, &protocol.Goodbye{Details: protocol.Dict{}, Reason: URICloseRealm})
		if err != nil {
			select {
			case <-s.done: // ended meanwhile (router GOODBYE/ABORT, transport loss)
			default:
				s.shutdown(ErrSessionClosed)
				// A connection that is gone has ended the session as
				// Close asked, as the reader would report had it noticed
				// first (stateClosing); anything else is Close's failure.
				if !errors.Is(err, transport.ErrClosed) {
					result = fmt.Errorf("session: close: sending GOODBYE: %w", err)
				}
			}
		}
	}
	if st != stateClosed {
		select {
		case <-s.done:
		default:
			select {
			case <-s.done:
			case <-ctx.Done():
				s.shutdown(ErrSessionClosed)
				if result == nil {
					result = fmt.Errorf("session: close: no GOODBYE reply: %w", ctx.Err())
				}
			}
		}
	}
	select {
	case <-s.idle:
	default:
		select {
		case <-s.idle:
		case <-ctx.Done():
			if result == nil {
				result = fmt.Errorf("session: close: handlers still running: %w", ctx.Err())
			}
		}
	}
	return result
}

// shutdown ends the session with err (idempotent): pending requests fail,
// invocations and subscriptions stop, the transport closes.
func (s *Session) shutdown(err error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.err = err
	pend := s.pending
	s.pending = nil
	for _, group := range s.subs {
		for _, sub := range group {
			s.stopSubLocked(sub)
		}
	}
	s.subs = nil
	s.regs = nil
	s.abandoned = nil
	s.abOrder = nil
	invs := make([]*invocation, 0, len(s.invs))
	for _, inv := range s.invs {
		invs = append(invs, inv)
	}
	close(s.invQueue) // the reader queues under s.mu, and not once closed
	s.checkIdleLocked()
	s.mu.Unlock()

	s.cancel()
	for _, inv := range invs {
		inv.ctx.cancel()
	}
	if s.probe != nil {
		s.probe.stop()
	}
	s.peer.Close()
	// Done closes before pending requests fail, so whoever gets such a
	// failure already sees the session as ended.
	close(s.done)
	for _, p := range pend {
		p.push(replyItem{err: err})
	}
	if errors.Is(err, ErrSessionClosed) {
		s.log.Debug("session closed", "reason", err)
	} else {
		s.log.Warn("session ended", "error", err)
	}
}

// goLocked starts f on a goroutine tracked for Close; s.mu must be held.
func (s *Session) goLocked(f func()) bool {
	if s.state == stateClosed {
		return false
	}
	s.active++
	go func() {
		defer s.goDone()
		f()
	}()
	return true
}

func (s *Session) goDone() {
	s.mu.Lock()
	s.active--
	s.checkIdleLocked()
	s.mu.Unlock()
}

func (s *Session) checkIdleLocked() {
	if s.active == 0 && s.state == stateClosed && !s.idleDone {
		s.idleDone = true
		close(s.idle)
	}
}

// sendNow sends m without waiting for room in the connection's outbox
// (from the reader goroutine, or for a CANCEL after the caller gave up).
// Peers that cannot queue without waiting (transport.Pipe) get a Send
// bounded by sendTimeout.
func (s *Session) sendNow(m protocol.Message) {
	if np, ok := s.peer.(transport.NetPeer); ok {
		if _, err := np.Enqueue([]protocol.Message{m}); err != nil {
			s.log.Debug("send failed", "message", m.Code(), "error", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, sendTimeout)
	defer cancel()
	if err := s.peer.Send(ctx, m); err != nil {
		s.log.Debug("send failed", "message", m.Code(), "error", err)
	}
}

// send sends a message on behalf of a user goroutine. ctx, the caller's,
// bounds the wait for room in the connection's outbox: when it ends first
// the message is not sent, the call fails with its error and the session
// carries on. A new request goes through sendRequest instead.
func (s *Session) send(ctx context.Context, m protocol.Message) error {
	err := s.peer.Send(ctx, m)
	if err == nil {
		return nil
	}
	return s.sendError(ctx, m.Code(), err)
}

// sendError is the error of a failed send of a message of type code.
func (s *Session) sendError(ctx context.Context, code protocol.Code, err error) error {
	select {
	case <-s.done:
		return s.Err()
	default:
	}
	if ctx.Err() != nil && !errors.Is(err, transport.ErrClosed) {
		if context.Cause(ctx) == errTimeoutCause {
			return fmt.Errorf("session: sending %s: %w: %w", code, ErrTimeout, context.DeadlineExceeded)
		}
		return fmt.Errorf("session: sending %s: %w", code, err)
	}
	if errors.Is(err, transport.ErrClosed) {
		// The connection is gone even if the reader has not noticed yet.
		return fmt.Errorf("session: sending %s: %w: %w", code, ErrConnectionLost, err)
	}
	return fmt.Errorf("session: sending %s: %w", code, err)
}

// lockSeq takes s.seq for a request of type code, waiting at most until ctx
// or the session ends.
func (s *Session) lockSeq(ctx context.Context, code protocol.Code) error {
	select {
	case s.seq <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.seq <- struct{}{}:
		return nil
	case <-ctx.Done():
		return s.sendError(ctx, code, ctx.Err())
	case <-s.done:
		return s.Err()
	}
}

func (s *Session) unlockSeq() { <-s.seq }

// sendRequest sends a new request: with s.seq held it allocates the next
// request id (recording p as pending under it when p is not nil), builds
// the message with it and queues it. ctx bounds every wait. When the message
// could not be queued, the id is given back and p forgotten.
func (s *Session) sendRequest(ctx context.Context, code protocol.Code, p *pendingReq, build func(protocol.ID) protocol.Message) (protocol.ID, error) {
	if err := s.lockSeq(ctx, code); err != nil {
		return 0, err
	}
	id, err := s.newRequest(p)
	if err != nil {
		s.unlockSeq()
		return 0, err
	}
	m := build(id)
	if s.np == nil {
		err = s.peer.Send(ctx, m)
	} else {
		// Queued in id order under s.seq, written after it: the other
		// senders do not wait for the system call.
		err = s.np.Queue(ctx, m)
	}
	if err != nil {
		s.giveBack(id, p)
		s.unlockSeq()
		return 0, s.sendError(ctx, m.Code(), err)
	}
	s.unlockSeq()
	if s.np != nil {
		s.np.Flush()
	}
	return id, nil
}

// sendUnanswered sends a request of the session's own whose reply nobody
// waits for (the reader drops it): the clean-up of a request given up, a
// liveness probe. build makes it with s.mu held, or returns nil when it is
// no longer needed. It takes s.seq like every request, so it must not run
// on the reader; sendTimeout bounds it.
func (s *Session) sendUnanswered(code protocol.Code, build func(protocol.ID) protocol.Message) {
	ctx, cancel := context.WithTimeout(s.ctx, sendTimeout)
	defer cancel()
	if err := s.lockSeq(ctx, code); err != nil {
		return
	}
	defer s.unlockSeq()
	s.mu.Lock()
	if s.state != stateEstablished || build(0) == nil {
		s.mu.Unlock()
		return
	}
	id, err := s.newRequestLocked(nil)
	var m protocol.Message
	if err == nil {
		s.abandonLocked(id, code)
		m = build(id)
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	if err := s.send(ctx, m); err != nil {
		s.log.Debug("send failed", "message", code, "error", err)
		s.mu.Lock()
		delete(s.abandoned, id) // the abandoned FIFO forgets it in time
		s.mu.Unlock()
		s.giveBack(id, nil)
	}
}

// pendingKindLocked reports whether a request of type code awaits its
// reply; s.mu must be held.
func (s *Session) pendingKindLocked(code protocol.Code) bool {
	for _, p := range s.pending {
		if p.kind == code {
			return true
		}
	}
	return false
}

// giveBack undoes newRequestLocked(p) for a request that was not sent;
// s.seq must be held since the allocation, so id is the last one.
func (s *Session) giveBack(id protocol.ID, p *pendingReq) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != nil && s.pending[id] == p {
		delete(s.pending, id)
	}
	if next := id + 1; s.nextID == next || id == protocol.MaxID && s.nextID == 1 {
		s.nextID = id
	}
}

// newRequestLocked allocates the next request id and, if p is not nil,
// records p as pending under it. s.mu must be held.
func (s *Session) newRequestLocked(p *pendingReq) (protocol.ID, error) {
	if s.state != stateEstablished {
		if s.err != nil {
			return 0, s.err
		}
		return 0, ErrSessionClosed
	}
	id := s.nextID
	for p != nil && s.pending[id] != nil { // only after wrapping with ~2^53 requests
		id = s.advanceLocked(id)
	}
	s.nextID = s.advanceLocked(id)
	if p != nil {
		s.pending[id] = p
	}
	return id, nil
}

func (s *Session) advanceLocked(id protocol.ID) protocol.ID {
	if id >= protocol.MaxID {
		s.wrapped = true
		return 1
	}
	return id + 1
}

func (s *Session) newRequest(p *pendingReq) (protocol.ID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newRequestLocked(p)
}

// issuedLocked reports whether id was handed out as a request id.
func (s *Session) issuedLocked(id protocol.ID) bool {
	return s.wrapped || (id >= 1 && id < s.nextID)
}

// abandonLocked forgets pending request id (its reply may still come).
func (s *Session) abandonLocked(id protocol.ID, kind protocol.Code) {
	delete(s.pending, id)
	if s.abandoned == nil {
		return
	}
	s.abandoned[id] = kind
	s.abOrder = append(s.abOrder, id)
	if len(s.abOrder) > maxAbandoned {
		old := s.abOrder[0]
		s.abOrder = s.abOrder[1:]
		delete(s.abandoned, old)
	}
}

var errTimeoutCause = errors.New("session: request timeout")

// await waits for the final reply to request id. Progressive RESULTs are
// passed to progress in order. When ctx ends first, the request is
// abandoned, onAbandon (if any) runs, and an error wrapping ctx.Err() (or
// ErrTimeout for an expired Timeout) is returned.
func (s *Session) await(ctx context.Context, id protocol.ID, p *pendingReq, progress func(*Result), onAbandon func(), op, uri string) (protocol.Message, error) {
	var buf []replyItem
	for {
		select {
		case <-p.notify:
		case <-ctx.Done():
			s.mu.Lock()
			if s.pending != nil && s.pending[id] == p {
				s.abandonLocked(id, p.kind)
				s.mu.Unlock()
				if onAbandon != nil {
					onAbandon()
				}
				return nil, abandonError(ctx, op, uri)
			}
			s.mu.Unlock()
			// The final reply (or the session's end) is being delivered.
			<-p.notify
		}
		buf = p.take(buf)
		for i, it := range buf {
			if it.err != nil {
				return nil, it.err
			}
			if r, ok := it.msg.(*protocol.Result); ok && isProgress(r.Details) {
				if progress != nil {
					progress(&Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details})
				}
				continue
			}
			if i != len(buf)-1 {
				s.log.Debug("reply after final reply ignored", "request", id)
			}
			return it.msg, nil
		}
	}
}

// abandonError is the error of a request given up because ctx ended.
func abandonError(ctx context.Context, op, uri string) error {
	if context.Cause(ctx) == errTimeoutCause {
		return fmt.Errorf("session: %s %s: %w: %w", op, uri, ErrTimeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("session: %s %s: %w", op, uri, ctx.Err())
}

func isProgress(d protocol.Dict) bool {
	b, _ := d["progress"].(bool)
	return b
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, errTimeoutCause)
}

func wireOptions(d protocol.Dict) protocol.Dict {
	if d == nil {
		return protocol.Dict{}
	}
	return d
}

func errorFromMessage(m *protocol.Error) *Error {
	return &Error{URI: m.URI, Args: m.Args, Kwargs: m.Kwargs, Details: m.Details}
}
