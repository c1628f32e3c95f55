package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Config configures [Join]. The zero value of every field is a documented
// default; Join copies the Config and never modifies it.
type Config struct {
	// Realm to join; required.
	Realm string
	// AuthID is sent as HELLO.Details.authid when not empty.
	AuthID string
	// Auth lists the authentication methods offered, in order of
	// preference. Empty means anonymous only (authmethods ["anonymous"]).
	Auth []auth.ClientMethod
	// AuthExtra is sent as HELLO.Details.authextra, merged with each
	// method's HelloExtra (the method's entries win).
	AuthExtra protocol.Dict
	// Agent is HELLO.Details.agent; default "izaber-wamp-go".
	Agent string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// InvocationConcurrency is the maximum number of handlers running at
	// once (default 64). Invocations beyond it wait in a queue of
	// 8*InvocationConcurrency; when that is full they are answered with
	// ERROR ErrorURI ("callee overloaded").
	InvocationConcurrency int
	// EventQueueSize is the number of events buffered per subscription
	// (default 1024). When a subscription's queue is full, new events for it
	// are dropped, logged and counted by Subscription.Dropped. It also
	// bounds the input chunks of a streamed invocation waiting for
	// Invocation.Recv; past it the invocation fails with ERROR ErrorURI.
	EventQueueSize int
	// ErrorURI is the ERROR URI used when a handler fails with an error that
	// is not an *Error, or panics (default "wamp.error.runtime_error").
	ErrorURI string
	// OnUnregistered is called (on its own goroutine) when the router
	// revokes a registration; reason may be empty.
	OnUnregistered func(reg *Registration, reason string)
	// OnUnsubscribed is called (on its own goroutine) when the router
	// revokes a subscription; reason may be empty.
	OnUnsubscribed func(sub *Subscription, reason string)
}

// DefaultAgent is the HELLO agent string used when Config.Agent is empty.
const DefaultAgent = "izaber-wamp-go"

func (c Config) withDefaults() Config {
	if c.Agent == "" {
		c.Agent = DefaultAgent
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.InvocationConcurrency <= 0 {
		c.InvocationConcurrency = 64
	}
	if c.EventQueueSize <= 0 {
		c.EventQueueSize = 1024
	}
	if c.ErrorURI == "" {
		c.ErrorURI = URIRuntimeError
	}
	return c
}

// Info describes a joined session, from the router's WELCOME.
type Info struct {
	Session      protocol.ID
	Realm        string
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	AuthExtra    protocol.Dict
	// Details is the whole WELCOME.Details (router roles, agent, ...).
	Details protocol.Dict
}

// Result is the outcome of a call (or one progressive result), and what a
// [Handler] returns to answer an invocation.
type Result struct {
	Args    protocol.List
	Kwargs  protocol.Dict
	Details protocol.Dict
}

// Arg returns the i-th positional argument, or nil if there is none.
func (r *Result) Arg(i int) any {
	if r == nil || i < 0 || i >= len(r.Args) {
		return nil
	}
	return r.Args[i]
}

// Decode stores the first positional argument in the value pointed to by v,
// converting it with a JSON round trip (encoding/json rules: structs by
// field name or json tag, numbers into any numeric type that can hold them,
// []byte as base64). It fails when there is no argument or the value does
// not fit v.
func (r *Result) Decode(v any) error {
	if r == nil || len(r.Args) == 0 {
		return errors.New("session: decode: result has no arguments")
	}
	return decodeValue(r.Args[0], v)
}

// cloneDict returns a shallow copy of d (nil stays nil).
func cloneDict(d protocol.Dict) protocol.Dict {
	if d == nil {
		return nil
	}
	return maps.Clone(d)
}

func decodeValue(src any, v any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("session: decode: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("session: decode: %w", err)
	}
	return nil
}

// Handler answers an invocation of a registered procedure. Its ctx is
// cancelled when the router interrupts the call (the caller cancelled it)
// and when the session ends. Return a *Result (nil = no arguments) to send
// YIELD, an *Error to send ERROR with its URI, or any other error to send
// ERROR Config.ErrorURI with the error's text as argument. A panic is
// recovered, logged and answered with ERROR Config.ErrorURI.
type Handler func(ctx context.Context, inv *Invocation) (*Result, error)

// Invocation is one call of a registered procedure, as seen by the callee.
type Invocation struct {
	// Procedure is the called URI: Details.procedure for pattern
	// registrations, otherwise the registered URI.
	Procedure    string
	Args         protocol.List
	Kwargs       protocol.Dict
	Details      protocol.Dict
	Registration protocol.ID
	Request      protocol.ID

	inv *invocation // nil for an Invocation not built by a Session
}

// Arg returns the i-th positional argument, or nil if there is none.
func (inv *Invocation) Arg(i int) any {
	if inv == nil || i < 0 || i >= len(inv.Args) {
		return nil
	}
	return inv.Args[i]
}

// Progress sends a progressive result (YIELD with progress=true). It fails
// when the caller did not ask for progressive results, after the handler
// returned, after an interrupt, or when the session has ended.
func (inv *Invocation) Progress(ctx context.Context, args protocol.List, kwargs protocol.Dict) error {
	if inv.inv == nil {
		return errors.New("session: progress: invocation does not support progressive results")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return inv.inv.progress(args, kwargs)
}

// EventHandler receives the events of a subscription, one at a time and in
// order, on the subscription's own goroutine.
type EventHandler func(ev *Event)

// Event is one event delivered to a subscription.
type Event struct {
	// Topic is the publication topic: Details.topic for pattern
	// subscriptions, otherwise the subscribed topic.
	Topic        string
	Args         protocol.List
	Kwargs       protocol.Dict
	Details      protocol.Dict
	Subscription protocol.ID
	Publication  protocol.ID
}

// Arg returns the i-th positional argument, or nil if there is none.
func (ev *Event) Arg(i int) any {
	if ev == nil || i < 0 || i >= len(ev.Args) {
		return nil
	}
	return ev.Args[i]
}

// Registration is a procedure registered by this session.
type Registration struct {
	ID        protocol.ID
	Procedure string
	Options   protocol.Dict

	handler Handler
}

// Subscription is one local subscription of this session. Several local
// subscriptions may share one router subscription ID.
type Subscription struct {
	ID      protocol.ID
	Topic   string
	Options protocol.Dict

	handler EventHandler
	queue   chan *Event   // written by the reader under Session.mu, read by run
	stop    chan struct{} // closed (under Session.mu) when the subscription ends
	stopped bool          // guarded by Session.mu
	dropped atomic.Uint64
}

// Dropped returns the number of events dropped because this subscription's
// queue (Config.EventQueueSize) was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Passthru returns the payload of a result sent in payload passthru mode
// (see the Passthru option), and whether it was.
func (r *Result) Passthru() (protocol.Passthru, bool) {
	if r == nil {
		return protocol.Passthru{}, false
	}
	return protocol.PassthruOf(r.Details, r.Args)
}

// Passthru returns the payload of an invocation sent in payload passthru
// mode, and whether it was.
func (inv *Invocation) Passthru() (protocol.Passthru, bool) {
	return protocol.PassthruOf(inv.Details, inv.Args)
}

// Passthru returns the payload of an event published in payload passthru
// mode, and whether it was.
func (ev *Event) Passthru() (protocol.Passthru, bool) {
	return protocol.PassthruOf(ev.Details, ev.Args)
}

// PassthruResult is what a Handler returns to answer in payload passthru
// mode: p.Payload as the only argument, p's attributes in the YIELD
// Options (the only Details of a returned Result that are sent).
func PassthruResult(p protocol.Passthru) *Result {
	details, args := p.Apply(nil)
	return &Result{Args: args, Details: details}
}
