package session

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// AcceptConfig configures Accept. The zero value accepts anonymous clients
// on every realm. Accept copies it and never modifies it.
type AcceptConfig struct {
	// Realms reports whether a realm exists. Nil accepts every realm with
	// a valid URI; a realm it refuses gets ABORT wamp.error.no_such_realm.
	Realms func(realm string) bool
	// Authenticators are the methods the router offers. Accept walks the
	// client's HELLO authmethods in the client's order (none means
	// ["anonymous"]) and runs the first one configured here; if several
	// have the same Method, the first wins. Empty means
	// auth.AnonymousAuthenticator("anonymous") only.
	Authenticators []auth.Authenticator
	// Roles is WELCOME Details.roles. Nil means a broker and a dealer
	// announcing the features package router implements. It is sent as
	// is, so it must not be modified after Accept was called.
	Roles protocol.Dict
	// NewSessionID returns the id of a new session, in [1, 2^53]. Nil
	// means crypto-random ids.
	NewSessionID func() protocol.ID
	// Agent is WELCOME Details.agent; empty means "izaber-wamp-go".
	Agent string
	// Transport names the kind of connection for the authenticators
	// (auth.Request.Transport), such as "websocket" or "rawsocket";
	// optional.
	Transport string
	// Logger receives handshake outcomes (never credentials); nil discards.
	// Refusals a client causes (a bad HELLO, a refused login) are logged
	// at Debug, so that strangers cannot flood it (summarise failed logins
	// with auth.Throttle); failures of the router itself at Warn or Error.
	// Client strings are cut and escaped.
	Logger *slog.Logger
}

// Joined is a session that Accept welcomed.
type Joined struct {
	// Peer is the connection; it now belongs to the caller.
	Peer transport.Peer
	// Session is the id sent in WELCOME.
	Session protocol.ID
	// Realm is the realm the client joined.
	Realm string
	// Identity is the authenticated identity sent in WELCOME.
	Identity auth.Identity
	// Hello is the client's HELLO (its Details hold the client's roles).
	Hello *protocol.Hello
}

const (
	acceptDefaultAgent = "izaber-wamp-go"
	// acceptAbortTimeout bounds the sending of an ABORT, which happens
	// even when ctx has ended.
	acceptAbortTimeout = time.Second
	// acceptMaxText bounds client-supplied text quoted in ABORT messages.
	acceptMaxText = 128
)

// Accept runs the router side of the WAMP opening handshake on p: it reads
// HELLO, checks the realm, picks an authenticator from the client's
// authmethods, runs it (sending CHALLENGE and reading AUTHENTICATE as often
// as it asks) and sends WELCOME.
//
// ctx bounds the whole handshake; pass one with a deadline, or a client that
// never sends HELLO holds the call until ctx ends. Accept reads from p only
// until it returns; afterwards the caller owns p's reads.
//
// On failure Accept has sent ABORT (with Details.message, no arguments)
// unless the client aborted or the connection was lost, has closed p, and
// returns an error. When Accept sent ABORT, the error wraps an *auth.Denied
// carrying that ABORT's reason and message (an authenticator's own *Denied
// is passed on unchanged); it also wraps the cause when there is one, such
// as ctx.Err() or transport.ErrClosed.
func Accept(ctx context.Context, p transport.Peer, cfg AcceptConfig) (*Joined, error) {
	if p == nil {
		return nil, errors.New("session: accept: nil peer")
	}
	a := &acceptor{ctx: ctx, p: p, cfg: cfg, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	j, err := a.run()
	if err != nil {
		p.Close()
		return nil, err
	}
	return j, nil
}

// acceptor is the state of one Accept call; it is owned by the goroutine
// running Accept.
type acceptor struct {
	ctx context.Context
	p   transport.Peer
	cfg AcceptConfig
	log *slog.Logger
}

// acceptViolation is a protocol violation by the client during the
// handshake; Accept answers it with ABORT wamp.error.protocol_violation.
type acceptViolation struct {
	msg string
	err error // the decoding error, if any
}

func (v *acceptViolation) Error() string { return "protocol violation: " + v.msg }
func (v *acceptViolation) Unwrap() error { return v.err }

// acceptReadError is a failure to read from the connection (other than an
// invalid message): the connection is presumed broken, so no ABORT is sent.
type acceptReadError struct{ err error }

func (e *acceptReadError) Error() string { return e.err.Error() }
func (e *acceptReadError) Unwrap() error { return e.err }

// acceptClientAbort is the client's ABORT during the handshake; it gets no
// reply.
type acceptClientAbort struct{ reason, message string }

func (c *acceptClientAbort) Error() string {
	return fmt.Sprintf("client aborted: %.*q: %.*q", acceptMaxText, c.reason, acceptMaxText, c.message)
}

func (a *acceptor) run() (*Joined, error) {
	m, err := a.p.Recv(a.ctx)
	if err != nil {
		return nil, a.fail(fmt.Errorf("reading HELLO: %w", acceptClassifyRecv(err)))
	}
	hello, ok := m.(*protocol.Hello)
	if !ok || hello == nil {
		if ab, ok := m.(*protocol.Abort); ok && ab != nil {
			return nil, a.fail(acceptAbortError(ab))
		}
		return nil, a.fail(&acceptViolation{msg: "expected HELLO, got " + acceptMessageName(m)})
	}
	if !protocol.LooseURIs.ValidURI(hello.Realm, "") {
		return nil, a.refuse(protocol.URIInvalidURI, fmt.Sprintf("invalid realm URI %.*q", acceptMaxText, hello.Realm), nil)
	}
	authid, methods, authextra, err := acceptParseHello(hello.Details)
	if err != nil {
		return nil, a.fail(err)
	}
	if a.cfg.Realms != nil && !a.cfg.Realms(hello.Realm) {
		return nil, a.refuse(protocol.URINoSuchRealm, fmt.Sprintf("no realm named %.*q", acceptMaxText, hello.Realm), nil)
	}
	authenticator := a.pick(methods)
	if authenticator == nil {
		return nil, a.refuse(protocol.URINoAuthMethod, "cannot authenticate using any of the offered authmethods "+acceptQuoteList(methods), nil)
	}
	id := acceptRandomID()
	if a.cfg.NewSessionID != nil {
		id = a.cfg.NewSessionID()
	}
	if id == 0 || id > protocol.MaxID {
		return nil, a.refuseInternal(protocol.URIAuthenticationFailed, "internal error", fmt.Errorf("NewSessionID returned %d, outside [1, 2^53]", id))
	}
	req := &auth.Request{
		Realm:       hello.Realm,
		AuthID:      authid,
		AuthMethods: methods,
		AuthExtra:   authextra,
		Details:     hello.Details,
		Session:     id,
		Transport:   a.cfg.Transport,
	}
	if ra, ok := a.p.(interface{ RemoteAddr() net.Addr }); ok {
		req.RemoteAddr = ra.RemoteAddr()
	}
	identity, err := a.authenticate(authenticator, req)
	if err != nil {
		return nil, a.fail(err)
	}
	if identity == nil {
		return nil, a.refuseInternal(protocol.URIAuthenticationFailed, "authentication failed", fmt.Errorf("authenticator %q returned no identity", authenticator.Method()))
	}
	ident := *identity
	if ident.AuthMethod == "" {
		ident.AuthMethod = authenticator.Method()
	}
	authextraOut := maps.Clone(ident.AuthExtra)
	if authextraOut == nil {
		authextraOut = protocol.Dict{}
	}
	roles := a.cfg.Roles
	if roles == nil {
		roles = protocol.RouterRoles()
	}
	agent := a.cfg.Agent
	if agent == "" {
		agent = acceptDefaultAgent
	}
	welcome := &protocol.Welcome{Session: id, Details: protocol.Dict{
		"roles":        roles,
		"realm":        hello.Realm,
		"authid":       ident.AuthID,
		"authrole":     ident.AuthRole,
		"authmethod":   ident.AuthMethod,
		"authprovider": ident.AuthProvider,
		"authextra":    authextraOut,
		"agent":        agent,
	}}
	if err := a.p.Send(a.ctx, welcome); err != nil {
		return nil, a.fail(acceptSendError("WELCOME", err))
	}
	if np, ok := a.p.(transport.NetPeer); ok {
		np.Authenticated() // lift the pre-authentication size limit
	}
	a.log.Debug("session: welcomed", "session", id, "realm", logsafe.String(hello.Realm), "authid", logsafe.String(ident.AuthID),
		"authrole", ident.AuthRole, "authmethod", ident.AuthMethod)
	return &Joined{Peer: a.p, Session: id, Realm: hello.Realm, Identity: ident, Hello: hello}, nil
}

// pick returns the first authenticator, in the client's order of methods,
// that the router offers.
func (a *acceptor) pick(methods []string) auth.Authenticator {
	offered := a.cfg.Authenticators
	if len(offered) == 0 {
		offered = []auth.Authenticator{auth.AnonymousAuthenticator("anonymous")}
	}
	for _, m := range methods {
		for _, au := range offered {
			if au != nil && au.Method() == m {
				return au
			}
		}
	}
	return nil
}

// authenticate runs one authenticator with a Challenger bound to the
// connection. A panicking authenticator is an authentication failure.
func (a *acceptor) authenticate(au auth.Authenticator, req *auth.Request) (id *auth.Identity, err error) {
	method := au.Method()
	var finished atomic.Bool
	challenge := func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
		if finished.Load() {
			return nil, errors.New("session: accept: Challenger used after Authenticate returned")
		}
		if extra == nil {
			extra = protocol.Dict{}
		}
		if err := a.p.Send(ctx, &protocol.Challenge{AuthMethod: method, Extra: extra}); err != nil {
			return nil, acceptSendError("CHALLENGE", err)
		}
		m, err := a.p.Recv(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading AUTHENTICATE: %w", acceptClassifyRecv(err))
		}
		switch m := m.(type) {
		case *protocol.Authenticate:
			if m != nil {
				return m, nil
			}
		case *protocol.Abort:
			if m != nil {
				return nil, acceptAbortError(m)
			}
		}
		return nil, &acceptViolation{msg: "expected AUTHENTICATE, got " + acceptMessageName(m)}
	}
	defer func() {
		finished.Store(true)
		if r := recover(); r != nil {
			id, err = nil, &auth.Denied{Reason: protocol.URIAuthenticationFailed, Message: "authentication failed"}
			a.log.Error("session: authenticator panicked", "authmethod", method, "panic", fmt.Sprint(r))
		}
	}()
	return au.Authenticate(a.ctx, req, challenge)
}

// fail ends the handshake after err: it sends the ABORT err calls for (none
// when the client aborted or the connection is gone) and returns the error
// for Accept.
func (a *acceptor) fail(err error) error {
	var (
		ca *acceptClientAbort
		v  *acceptViolation
		d  *auth.Denied
	)
	var big *acceptTooBig
	switch {
	case errors.As(err, &big):
		return a.refuse(protocol.URIPayloadSizeExceeded, big.Error(), big.err)
	case errors.As(err, &ca):
		a.log.Debug("session: client aborted the handshake", "reason", logsafe.String(ca.reason))
		return fmt.Errorf("session: accept: %w", err)
	case errors.As(err, &v):
		return a.refuse(protocol.URIProtocolViolation, v.msg, v.err)
	case errors.As(err, &d):
		if d.Reason == "" { // a careless authenticator; the ABORT needs a reason
			return a.refuse(auth.ReasonNotAuthorized, d.Message, err)
		}
		a.sendAbort(d.Reason, d.Message)
		level := slog.LevelDebug // a refused login: the authenticator's business
		if errors.Unwrap(d) != nil {
			level = slog.LevelWarn // a technical failure behind the refusal
		}
		a.log.Log(a.ctx, level, "session: refused", "reason", logsafe.String(d.Reason), "message", logsafe.String(d.Message), "cause", errors.Unwrap(d))
		return fmt.Errorf("session: accept: %w", err)
	case errors.Is(err, transport.ErrClosed):
		a.log.Debug("session: connection lost during the handshake", "error", err)
		return fmt.Errorf("session: accept: %w", err)
	case errors.Is(err, context.DeadlineExceeded):
		return a.refuse(protocol.URITimeout, "handshake timed out", err)
	case errors.Is(err, context.Canceled):
		return a.refuse(protocol.URISystemShutdown, "handshake canceled", err)
	case errors.As(err, new(*acceptReadError)):
		a.log.Debug("session: connection failed during the handshake", "error", err)
		return fmt.Errorf("session: accept: %w", err)
	}
	return a.refuseInternal(protocol.URIAuthenticationFailed, "authentication failed", err)
}

// refuse sends ABORT and returns an error wrapping the *auth.Denied that
// describes it and the cause, if any. Refusals a client causes are logged
// at Debug: a stranger must not be able to fill the log.
func (a *acceptor) refuse(reason, message string, cause error) error {
	return a.refuseLevel(slog.LevelDebug, reason, message, cause)
}

// refuseInternal is refuse for a failure of the router itself (an
// authenticator that misbehaved), logged as an error.
func (a *acceptor) refuseInternal(reason, message string, cause error) error {
	return a.refuseLevel(slog.LevelError, reason, message, cause)
}

func (a *acceptor) refuseLevel(level slog.Level, reason, message string, cause error) error {
	a.sendAbort(reason, message)
	d := &auth.Denied{Reason: reason, Message: message}
	a.log.Log(context.WithoutCancel(a.ctx), level, "session: refused", "reason", reason, "message", logsafe.String(message), "cause", cause)
	if cause == nil {
		return fmt.Errorf("session: accept: %w", d)
	}
	return fmt.Errorf("session: accept: %w: %w", d, cause)
}

// sendAbort sends a 3-element ABORT, best effort, even when ctx has ended.
func (a *acceptor) sendAbort(reason, message string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), acceptAbortTimeout)
	defer cancel()
	if err := a.p.Send(ctx, &protocol.Abort{Details: protocol.Dict{"message": message}, Reason: reason}); err != nil {
		a.log.Debug("session: sending ABORT failed", "error", err)
	}
}

// acceptTooBig is a handshake message the client's transport cannot take:
// over RawSocket the client announces the largest message it accepts, and
// a client announcing 512 bytes (the smallest RawSocket allows) cannot
// receive a WELCOME that lists the router's roles.
type acceptTooBig struct {
	what string // WELCOME or CHALLENGE
	err  *transport.MessageTooBigError
}

func (e *acceptTooBig) Error() string {
	return fmt.Sprintf("%s of %d bytes exceeds the maximum message length of %d bytes the client announced; connect with a larger maximum",
		e.what, e.err.Size, e.err.Limit)
}

func (e *acceptTooBig) Unwrap() error { return e.err }

// acceptSendError describes a failure to send the handshake message what.
func acceptSendError(what string, err error) error {
	var big *transport.MessageTooBigError
	if errors.As(err, &big) && !big.Received {
		return &acceptTooBig{what: what, err: big}
	}
	return fmt.Errorf("sending %s: %w", what, err)
}

// acceptClassifyRecv marks undecodable or invalid messages as protocol
// violations and any other read failure as a broken connection.
func acceptClassifyRecv(err error) error {
	if errors.Is(err, protocol.ErrInvalidMessage) {
		msg := err.Error()
		if len(msg) > 2*acceptMaxText {
			msg = msg[:2*acceptMaxText] + "..."
		}
		return &acceptViolation{msg: "invalid message: " + msg, err: err}
	}
	return &acceptReadError{err}
}

func acceptAbortError(m *protocol.Abort) error {
	msg, _ := m.Details["message"].(string)
	return &acceptClientAbort{reason: m.Reason, message: msg}
}

// acceptMessageName names a message for an error without showing its content.
func acceptMessageName(m protocol.Message) string {
	if m == nil {
		return "nil message"
	}
	return m.Code().String()
}

// acceptParseHello reads authid, authmethods and authextra from
// HELLO.Details, checking their types. Missing or empty authmethods mean
// ["anonymous"].
func acceptParseHello(details protocol.Dict) (authid string, methods []string, authextra protocol.Dict, err error) {
	if v, ok := details["authid"]; ok && v != nil {
		if authid, ok = v.(string); !ok {
			return "", nil, nil, &acceptViolation{msg: "HELLO.Details.authid must be a string"}
		}
	}
	switch v := details["authmethods"].(type) {
	case nil:
	case []string:
		methods = append(methods, v...)
	case protocol.List:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", nil, nil, &acceptViolation{msg: "HELLO.Details.authmethods must be a list of strings"}
			}
			methods = append(methods, s)
		}
	default:
		return "", nil, nil, &acceptViolation{msg: "HELLO.Details.authmethods must be a list of strings"}
	}
	if len(methods) == 0 {
		methods = []string{auth.MethodAnonymous}
	}
	if v, ok := details["authextra"]; ok && v != nil {
		if authextra, ok = v.(protocol.Dict); !ok {
			return "", nil, nil, &acceptViolation{msg: "HELLO.Details.authextra must be a dict"}
		}
	}
	return authid, methods, authextra, nil
}

// acceptQuoteList quotes client-supplied names, bounded in number and length.
func acceptQuoteList(names []string) string {
	const maxNames = 8
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names {
		if i == maxNames {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.*q", acceptMaxText/2, n)
	}
	b.WriteByte(']')
	return b.String()
}

// acceptRandomID returns a crypto-random id in [1, 2^53].
func acceptRandomID() protocol.ID {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])&(protocol.MaxID-1) + 1
}
