package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/logsafe"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Shared registration policies (REGISTER.Options.invoke).
const (
	invokeSingle     = "single"
	invokeRoundRobin = "roundrobin"
	invokeRandom     = "random"
	invokeFirst      = "first"
	invokeLast       = "last"
)

// Cancel modes (CANCEL.Options.mode, INTERRUPT.Options.mode).
const (
	cancelSkip       = "skip"
	cancelKill       = "kill"
	cancelKillNoWait = "killnowait"
)

// ErrProcedureExists is returned by RegisterInternal when the procedure is
// already registered.
var ErrProcedureExists = errors.New("router: procedure already exists")

// registration is one registered procedure URI with its callees, in
// registration order. Guarded by Realm.mu.
type registration struct {
	id      protocol.ID
	uri     string
	match   string
	invoke  string
	created string           // ISO 8601, for the meta API
	wild    *wildcardPattern // match == wildcard only
	callees []*callee
	next    int // roundrobin position
}

// meta reports whether changes to reg are published as meta events: not
// for internal procedures nor for wamp.* URIs (as crossbar).
func (r *registration) meta() bool {
	return !r.hasInternal() && !strings.HasPrefix(r.uri, protocol.ReservedPrefix)
}

// callee is one callee of a registration: a session or an internal handler.
type callee struct {
	s              *sess        // nil for an internal procedure
	fn             internalFunc // internal procedures only
	discloseCaller bool
	// checkEach: the Authorizer allowed the pattern only URI by URI, so
	// each call is checked before it reaches this callee (see authz.go).
	checkEach bool
}

// invocation is one call in flight. Guarded by Realm.mu.
type invocation struct {
	caller          *sess
	callID          protocol.ID // CALL.Request
	reg             *registration
	callee          *callee
	invID           protocol.ID // INVOCATION.Request (session callees)
	receiveProgress bool
	timeout         time.Duration
	timer           *time.Timer
	timerGen        int
	killed          bool               // CANCEL kill sent, awaiting the callee's answer
	streaming       bool               // progressive call invocation: the caller sends more input
	details         protocol.Dict      // INVOCATION.Details of a progressive call invocation's chunks
	cancelInternal  context.CancelFunc // internal callees
	done            bool
}

// dealer holds a realm's registrations. Guarded by Realm.mu.
type dealer struct {
	exact    map[string]*registration
	prefix   map[string]*registration
	wildcard map[string]*registration
	byID     map[protocol.ID]*registration
}

func newDealer() dealer {
	return dealer{
		exact:    make(map[string]*registration),
		prefix:   make(map[string]*registration),
		wildcard: make(map[string]*registration),
		byID:     make(map[protocol.ID]*registration),
	}
}

func (d *dealer) table(match string) map[string]*registration {
	switch match {
	case matchPrefix:
		return d.prefix
	case matchWildcard:
		return d.wildcard
	}
	return d.exact
}

// lookup finds the registration a call to uri goes to: exact, else the
// longest matching prefix, else the most specific matching wildcard.
func (d *dealer) lookup(uri string) *registration {
	if r := d.exact[uri]; r != nil {
		return r
	}
	var best *registration
	for p, r := range d.prefix {
		if strings.HasPrefix(uri, p) && (best == nil || len(p) > len(best.uri) || (len(p) == len(best.uri) && p < best.uri)) {
			best = r
		}
	}
	if best != nil || len(d.wildcard) == 0 {
		return best
	}
	parts := strings.Split(uri, ".")
	for _, r := range d.wildcard {
		if r.wild.matches(parts) && (best == nil || r.wild.moreSpecific(best.wild)) {
			best = r
		}
	}
	return best
}

// route finds the registration and callee a call to uri goes to: exact,
// else the longest matching prefix, else the most specific matching
// wildcard, passing over registrations none of whose callees may take the
// call. A callee with checkEach may take it only when verdicts says the
// Authorizer allows it to register uri; callees with no verdict yet are
// returned in ask and nothing is picked, unless final, when they count as
// refused. rl.mu must be held.
func (d *dealer) route(uri string, verdicts map[*sess]bool, final bool) (reg *registration, c *callee, ask []*sess) {
	if r := d.exact[uri]; r != nil {
		return r, r.pickWhere(nil), nil // exact callees were authorized for uri itself
	}
	var cands []*registration
	for p, r := range d.prefix {
		if strings.HasPrefix(uri, p) {
			cands = append(cands, r)
		}
	}
	slices.SortFunc(cands, func(a, b *registration) int {
		if len(a.uri) != len(b.uri) {
			return len(b.uri) - len(a.uri)
		}
		return strings.Compare(a.uri, b.uri)
	})
	if len(d.wildcard) > 0 {
		parts := strings.Split(uri, ".")
		n := len(cands)
		for _, r := range d.wildcard {
			if r.wild.matches(parts) {
				cands = append(cands, r)
			}
		}
		slices.SortFunc(cands[n:], func(a, b *registration) int {
			if a.wild.moreSpecific(b.wild) {
				return -1
			}
			return 1
		})
	}
	for _, r := range cands {
		allowed := func(c *callee) bool { return !c.checkEach || verdicts[c.s] }
		for _, c := range r.callees {
			if _, known := verdicts[c.s]; c.checkEach && !known && !final {
				ask = append(ask, c.s)
			}
		}
		if ask != nil {
			return nil, nil, ask
		}
		if c := r.pickWhere(allowed); c != nil {
			return r, c, nil
		}
	}
	return nil, nil, nil
}

func (d *dealer) add(r *registration) {
	r.id = newID()
	for d.byID[r.id] != nil {
		r.id = newID()
	}
	if r.match == matchWildcard {
		r.wild = newWildcardPattern(r.uri)
	}
	r.created = createdNow()
	d.table(r.match)[r.uri] = r
	d.byID[r.id] = r
}

func (d *dealer) remove(r *registration) {
	delete(d.table(r.match), r.uri)
	delete(d.byID, r.id)
}

// pickWhere chooses the callee for one call according to the policy,
// among the callees ok accepts (all when ok is nil); nil if none.
func (r *registration) pickWhere(ok func(*callee) bool) *callee {
	n := len(r.callees)
	if ok == nil {
		ok = func(*callee) bool { return true }
	}
	switch r.invoke {
	case invokeLast:
		for i := n - 1; i >= 0; i-- {
			if ok(r.callees[i]) {
				return r.callees[i]
			}
		}
		return nil
	case invokeRoundRobin:
		for k := range n {
			i := (r.next + k) % n
			if c := r.callees[i]; ok(c) {
				r.next = (i + 1) % n
				return c
			}
		}
		return nil
	case invokeRandom:
		eligible := 0
		for _, c := range r.callees {
			if ok(c) {
				eligible++
			}
		}
		if eligible == 0 {
			return nil
		}
		k := rand.IntN(eligible)
		for _, c := range r.callees {
			if ok(c) {
				if k == 0 {
					return c
				}
				k--
			}
		}
	}
	for _, c := range r.callees {
		if ok(c) {
			return c
		}
	}
	return nil
}

func (r *registration) calleeIndex(s *sess) int {
	for i, c := range r.callees {
		if c.s == s {
			return i
		}
	}
	return -1
}

func (r *registration) hasInternal() bool {
	for _, c := range r.callees {
		if c.s == nil {
			return true
		}
	}
	return false
}

// errorMsg builds an ERROR reply.
func errorMsg(req protocol.Code, id protocol.ID, uri string, args ...any) *protocol.Error {
	e := &protocol.Error{RequestType: req, Request: id, Details: protocol.Dict{}, URI: uri}
	if len(args) > 0 {
		e.Args = protocol.List(args)
	}
	return e
}

func optString(opts protocol.Dict, key, def string) (string, bool) {
	v, ok := opts[key]
	if !ok || v == nil {
		return def, true
	}
	s, ok := v.(string)
	return s, ok
}

func optBool(opts protocol.Dict, key string) bool {
	v, _ := opts[key].(bool)
	return v
}

// optInt reads a non-negative integer option; ok is false for a value of
// the wrong type.
func optInt(opts protocol.Dict, key string) (int64, bool) {
	switch v := opts[key].(type) {
	case nil:
		return 0, true
	case int64:
		return v, v >= 0
	case uint64:
		if v > 1<<62 {
			return 1 << 62, true
		}
		return int64(v), true
	case int:
		return int64(v), v >= 0
	case float64:
		if v < 0 || v != float64(int64(v)) {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

func (rl *Realm) handleCall(s *sess, m *protocol.Call) error {
	progress := optBool(m.Options, "progress")
	if handled, err := rl.callContinuation(s, m, progress); handled {
		return err
	}
	if progress && s.feat&featCallerProgressiveInvocations == 0 {
		return violation("CALL with progress=true from a caller that did not announce progressive_call_invocations")
	}
	if progress {
		defer rl.endRefusedStream(s, m.Request)
	}
	ppt := hasPPT(m.Options)
	if ppt && s.feat&featCallerPassthru == 0 {
		return violation("CALL with ppt_scheme from a caller that did not announce payload_passthru_mode")
	}
	if !rl.validURI(m.Procedure, matchExact) {
		s.reply(errorMsg(protocol.CodeCall, m.Request, protocol.URIInvalidURI,
			fmt.Sprintf("invalid procedure URI %q", m.Procedure)))
		return nil
	}
	timeoutMS, ok := optInt(m.Options, "timeout")
	if !ok {
		s.reply(errorMsg(protocol.CodeCall, m.Request, protocol.URIInvalidArgument, "CALL.Options.timeout must be a non-negative integer (milliseconds)"))
		return nil
	}
	if e := rl.authorize(s, ActionCall, m.Procedure); e != nil {
		s.reply(e.message(protocol.CodeCall, m.Request))
		return nil
	}

	reg, c := rl.lockRoute(m.Procedure)
	defer rl.mu.Unlock()
	if s.left {
		return nil
	}
	if _, dup := s.calls[m.Request]; dup {
		return violation("CALL request id %d is already in use by a pending call", m.Request)
	}
	if reg == nil {
		s.reply(errorMsg(protocol.CodeCall, m.Request, protocol.URINoSuchProcedure,
			"no callee registered for procedure "+m.Procedure))
		return nil
	}
	if progress && (c.s == nil || c.s.feat&featCalleeProgressiveInvocations == 0 || c.s.feat&featCalleeCanceling == 0) {
		s.reply(errorMsg(protocol.CodeCall, m.Request, protocol.URIFeatureNotSupported,
			"the callee of "+m.Procedure+" does not support progressive call invocations"))
		return nil
	}
	if ppt && (c.s == nil || c.s.feat&featCalleePassthru == 0) {
		s.reply(errorMsg(protocol.CodeCall, m.Request, protocol.URIFeatureNotSupported,
			"the callee of "+m.Procedure+" does not support payload passthru mode"))
		return nil
	}
	inv := &invocation{caller: s, callID: m.Request, reg: reg, callee: c, streaming: progress}
	// Details stay nil (written as {}) unless something goes in them: most
	// calls forward none, and the empty map would be an allocation per call.
	details := protocol.CopyPassthru(nil, m.Options)
	if reg.match != matchExact {
		details = ensureDict(details)
		details["procedure"] = m.Procedure
	}
	if optBool(m.Options, "disclose_me") || c.discloseCaller || rl.cfg.Disclose {
		details = ensureDict(details)
		details["caller"] = s.info.ID
		details["caller_authid"] = s.info.AuthID
		details["caller_authrole"] = s.info.AuthRole
	}
	if s.calls == nil {
		s.calls = make(map[protocol.ID]*invocation)
	}
	s.calls[m.Request] = inv
	if timeoutMS > 0 {
		inv.timeout = time.Duration(timeoutMS) * time.Millisecond
		rl.armTimer(inv)
	}
	if c.s == nil {
		rl.startInternal(inv, m.Procedure, m.Args, m.Kwargs, details)
		return nil
	}
	if optBool(m.Options, "receive_progress") && c.s.feat&featCalleeProgress != 0 {
		details = ensureDict(details)
		details["receive_progress"] = true
		inv.receiveProgress = true
	}
	cs := c.s
	cs.lastInv++
	if cs.lastInv > protocol.MaxID {
		cs.lastInv = 1
	}
	inv.invID = cs.lastInv
	if cs.invocations == nil {
		cs.invocations = make(map[protocol.ID]*invocation)
	}
	cs.invocations[inv.invID] = inv
	if progress {
		inv.details = details
		details = withProgress(details)
	}
	s.routed.send(cs, &protocol.Invocation{Request: inv.invID, Registration: reg.id, Details: details, Args: m.Args, Kwargs: m.Kwargs})
	return nil
}

// endRefusedStream runs after the first CALL of a progressive call
// invocation: if the dealer answered it with an ERROR at once (no callee,
// a callee without the feature, not authorized...), no invocation started,
// and the chunks the caller sent before it saw the ERROR are late chunks of
// an ended call, dropped like those of a call that ended later (not
// out-of-sequence request ids).
func (rl *Realm) endRefusedStream(s *sess, id protocol.ID) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if _, started := s.calls[id]; !started && !s.endedStreams.Has(id) {
		s.endedStreams.Add(id)
	}
}

// hasPPT reports whether Options announce payload passthru mode in the
// specification's spelling (ppt_scheme). autobahn's enc_* spelling (payload
// transparency) is forwarded untouched without feature checks, as crossbar
// does.
func hasPPT(opts protocol.Dict) bool {
	s, _ := opts[protocol.OptPPTScheme].(string)
	return s != ""
}

// withProgress returns a copy of details with progress=true.
// ensureDict returns d, or a new Dict when d is nil.
func ensureDict(d protocol.Dict) protocol.Dict {
	if d == nil {
		return protocol.Dict{}
	}
	return d
}

func withProgress(details protocol.Dict) protocol.Dict {
	d := make(protocol.Dict, len(details)+1)
	for k, v := range details {
		d[k] = v
	}
	d["progress"] = true
	return d
}

// callContinuation handles a CALL that continues a progressive call
// invocation (spec A/rpc_progressive_call_invocations.md): the same request
// id as a call in flight. It forwards the chunk to the callee chosen by the
// first CALL, as an INVOCATION with the same request id and the details of
// the first one (options are frozen by the first CALL, only progress
// counts). A continuation of a call that has ended meanwhile (answered,
// cancelled, timed out) is dropped. handled is false for a new call.
func (rl *Realm) callContinuation(s *sess, m *protocol.Call, progress bool) (handled bool, err error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if s.left {
		return true, nil
	}
	inv := s.calls[m.Request]
	if inv == nil {
		if s.endedStreams.Has(m.Request) {
			return true, nil // late chunk of a progressive call that is over
		}
		return false, nil
	}
	if !inv.streaming {
		return true, violation("CALL request id %d is already in use by a pending call", m.Request)
	}
	if inv.killed {
		return true, nil // being cancelled: the callee gets no more input
	}
	inv.streaming = progress
	if inv.timeout > 0 {
		rl.armTimer(inv)
	}
	details := inv.details
	if progress {
		details = withProgress(details)
	}
	s.routed.send(inv.callee.s, &protocol.Invocation{Request: inv.invID, Registration: inv.reg.id, Details: details, Args: m.Args, Kwargs: m.Kwargs})
	return true, nil
}

// armTimer (re)starts the call timeout of inv. rl.mu must be held.
func (rl *Realm) armTimer(inv *invocation) {
	inv.timerGen++
	gen := inv.timerGen
	if inv.timer != nil {
		inv.timer.Stop()
	}
	inv.timer = time.AfterFunc(inv.timeout, func() { rl.callTimeout(inv, gen) })
}

func (rl *Realm) callTimeout(inv *invocation, gen int) {
	var b batch
	defer b.flush()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if inv.done || gen != inv.timerGen {
		return
	}
	rl.interrupt(&b, inv, cancelKillNoWait, protocol.URITimeout)
	rl.endInvocation(inv)
	b.send(inv.caller, errorMsg(protocol.CodeCall, inv.callID, protocol.URITimeout,
		fmt.Sprintf("call timed out after %d ms", inv.timeout.Milliseconds())))
}

// interrupt tells the callee to stop working on inv, if it can be told.
// rl.mu must be held.
func (rl *Realm) interrupt(b *batch, inv *invocation, mode, reason string) {
	c := inv.callee
	if c.s == nil {
		if inv.cancelInternal != nil {
			inv.cancelInternal()
		}
		return
	}
	if c.s.feat&featCalleeCanceling == 0 || c.s.left {
		return
	}
	b.send(c.s, &protocol.Interrupt{Request: inv.invID, Options: protocol.Dict{"mode": mode, "reason": reason}})
}

// endInvocation forgets inv on both sides. rl.mu must be held.
func (rl *Realm) endInvocation(inv *invocation) {
	inv.done = true
	if inv.streaming {
		inv.caller.endedStreams.Add(inv.callID)
	}
	if inv.timer != nil {
		inv.timer.Stop()
	}
	if inv.caller.calls[inv.callID] == inv {
		delete(inv.caller.calls, inv.callID)
	}
	if cs := inv.callee.s; cs != nil && cs.invocations[inv.invID] == inv {
		delete(cs.invocations, inv.invID)
	}
	if inv.cancelInternal != nil {
		inv.cancelInternal()
	}
}

// calleeInvocation finds the invocation a YIELD or ERROR from s answers. A
// reply to an invocation the router never sent is a protocol violation; a
// late reply to a cancelled or timed-out one is ignored.
func (s *sess) calleeInvocation(req protocol.ID) (*invocation, error) {
	if inv := s.invocations[req]; inv != nil {
		return inv, nil
	}
	if req == 0 || req > s.lastInv {
		return nil, violation("reply to unknown INVOCATION request %d", req)
	}
	return nil, nil
}

func (rl *Realm) handleYield(s *sess, m *protocol.Yield) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	inv, err := s.calleeInvocation(m.Request)
	if inv == nil {
		return err
	}
	if hasPPT(m.Options) {
		if s.feat&featCalleePassthru == 0 {
			return violation("YIELD with ppt_scheme from a callee that did not announce payload_passthru_mode")
		}
		if inv.caller.feat&featCallerPassthru == 0 {
			// The spec wants ERROR feature_not_supported for the YIELD,
			// which WAMP cannot express (ERROR answers requests, and YIELD
			// is none): the call fails instead, and the payload is dropped.
			rl.endInvocation(inv)
			s.routed.send(inv.caller, errorMsg(protocol.CodeCall, inv.callID, protocol.URIFeatureNotSupported,
				"the callee answered in payload passthru mode, which this caller does not support"))
			return nil
		}
	}
	details := protocol.CopyPassthru(nil, m.Options) // nil is written as {}
	if optBool(m.Options, "progress") {
		if inv.receiveProgress && !inv.killed {
			if inv.timeout > 0 {
				rl.armTimer(inv)
			}
			details = ensureDict(details)
			details["progress"] = true
			s.routed.send(inv.caller, &protocol.Result{Request: inv.callID, Details: details, Args: m.Args, Kwargs: m.Kwargs})
		}
		return nil
	}
	rl.endInvocation(inv)
	s.routed.send(inv.caller, &protocol.Result{Request: inv.callID, Details: details, Args: m.Args, Kwargs: m.Kwargs})
	return nil
}

func (rl *Realm) handleInvocationError(s *sess, m *protocol.Error) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	inv, err := s.calleeInvocation(m.Request)
	if inv == nil {
		return err
	}
	uri := m.URI
	switch {
	case inv.killed:
		// CANCEL mode kill: the caller asked to stop the call and gets
		// wamp.error.canceled whatever the callee's own URI (crossbar does
		// the same); the callee's payload is kept.
		uri = protocol.URICanceled
	case !sendableURI(uri):
		uri = protocol.URIRuntimeError
	}
	rl.endInvocation(inv)
	s.routed.send(inv.caller, &protocol.Error{RequestType: protocol.CodeCall, Request: inv.callID, Details: protocol.CopyPassthru(protocol.Dict{}, m.Details), URI: uri, Args: m.Args, Kwargs: m.Kwargs})
	return nil
}

func (rl *Realm) handleCancel(s *sess, m *protocol.Cancel) error {
	mode, ok := optString(m.Options, "mode", cancelKillNoWait)
	if !ok || (mode != cancelSkip && mode != cancelKill && mode != cancelKillNoWait) {
		rl.log.Debug("CANCEL with an invalid mode ignored", "session", s.info.ID, "mode", logsafe.Any(m.Options["mode"]))
		return nil
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	inv := s.calls[m.Request]
	if inv == nil || inv.killed {
		return nil // finished, unknown or already being killed: no reply
	}
	if c := inv.callee.s; c != nil && c.feat&featCalleeCanceling == 0 {
		mode = cancelSkip
	}
	switch mode {
	case cancelKill:
		inv.killed = true
		rl.interrupt(&s.routed, inv, cancelKill, protocol.URICanceled)
		return nil
	case cancelKillNoWait:
		rl.interrupt(&s.routed, inv, cancelKillNoWait, protocol.URICanceled)
	}
	rl.endInvocation(inv)
	s.reply(errorMsg(protocol.CodeCall, inv.callID, protocol.URICanceled, "call canceled by the caller"))
	return nil
}

func (rl *Realm) handleRegister(s *sess, m *protocol.Register) error {
	fail := func(uri string, args ...any) error {
		s.reply(errorMsg(protocol.CodeRegister, m.Request, uri, args...))
		return nil
	}
	match, ok := optString(m.Options, "match", matchExact)
	if !ok || (match != matchExact && match != matchPrefix && match != matchWildcard) {
		return fail(protocol.URIInvalidArgument, fmt.Sprintf("invalid match policy %v", m.Options["match"]))
	}
	invoke, ok := optString(m.Options, "invoke", invokeSingle)
	switch {
	case !ok:
		return fail(protocol.URIInvalidArgument, fmt.Sprintf("invalid invocation policy %v", m.Options["invoke"]))
	case invoke == invokeSingle, invoke == invokeRoundRobin, invoke == invokeRandom, invoke == invokeFirst, invoke == invokeLast:
	default:
		return fail(protocol.URIInvalidArgument, fmt.Sprintf("invalid invocation policy %q", invoke))
	}
	if !rl.validURI(m.Procedure, match) {
		return fail(protocol.URIInvalidURI, fmt.Sprintf("invalid procedure URI %q for match %q", m.Procedure, match))
	}
	// "wamp" as first component is the protocol's (basic/building_blocks.md
	// URIs): clients do not register there, except the "trusted" role, as
	// in crossbar.
	if strings.HasPrefix(m.Procedure, "wamp.") && s.info.AuthRole != "trusted" {
		return fail(protocol.URIInvalidURI, fmt.Sprintf("procedure URI %q is in the reserved wamp namespace", m.Procedure))
	}
	each, e := rl.authorizePattern(s, ActionRegister, m.Procedure, match)
	if e != nil {
		s.reply(e.message(protocol.CodeRegister, m.Request))
		return nil
	}

	rl.mu.Lock()
	defer rl.mu.Unlock()
	if s.left {
		return nil
	}
	c := &callee{s: s, discloseCaller: optBool(m.Options, "disclose_caller"), checkEach: each}
	reg := rl.dealer.table(match)[m.Procedure]
	if reg != nil {
		switch {
		case optBool(m.Options, "force_reregister") && !reg.hasInternal():
			rl.revokeRegistration(&s.routed, reg)
			reg = nil
		case reg.invoke == invokeSingle || (invoke == reg.invoke && reg.calleeIndex(s) >= 0):
			return fail(protocol.URIProcedureAlreadyExists,
				fmt.Sprintf("procedure %q is already registered", m.Procedure))
		case invoke != reg.invoke:
			return fail(protocol.URIProcedureExistsWithDifferentInvocationPolicy,
				fmt.Sprintf("procedure %q is registered with invocation policy %q", m.Procedure, reg.invoke))
		}
	}
	created := reg == nil
	if created {
		reg = &registration{uri: m.Procedure, match: match, invoke: invoke}
		rl.dealer.add(reg)
	}
	reg.callees = append(reg.callees, c)
	if s.regs == nil {
		s.regs = make(map[protocol.ID]*registration)
	}
	s.regs[reg.id] = reg
	s.reply(&protocol.Registered{Request: m.Request, Registration: reg.id})
	if reg.meta() {
		rl.publishRegistered(&s.routed, s, reg, created)
	}
	return nil
}

// revokeRegistration removes reg from the realm and tells its callees
// (those that announced registration_revocation) with UNREGISTERED. Calls
// in flight are not affected. rl.mu must be held.
func (rl *Realm) revokeRegistration(b *batch, reg *registration) {
	for len(reg.callees) > 0 {
		c := reg.callees[len(reg.callees)-1]
		rl.removeCallee(b, reg, c.s)
		if c.s.feat&featCalleeRevocation != 0 {
			b.send(c.s, &protocol.Unregistered{Request: 0, Details: protocol.Dict{"registration": reg.id, "reason": protocol.URIUnregistered}})
		}
	}
}

func (rl *Realm) handleUnregister(s *sess, m *protocol.Unregister) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	reg := s.regs[m.Registration]
	if reg == nil || reg.calleeIndex(s) < 0 {
		s.reply(errorMsg(protocol.CodeUnregister, m.Request, protocol.URINoSuchRegistration,
			fmt.Sprintf("no registration %d for this session", m.Registration)))
		return nil
	}
	rl.removeCallee(&s.routed, reg, s)
	s.reply(&protocol.Unregistered{Request: m.Request})
	return nil
}

// removeCallee takes s off reg, deleting reg when no callee is left, and
// publishes the meta events. rl.mu must be held.
func (rl *Realm) removeCallee(out *batch, reg *registration, s *sess) {
	delete(s.regs, reg.id)
	i := reg.calleeIndex(s)
	if i < 0 {
		return
	}
	reg.callees = append(reg.callees[:i], reg.callees[i+1:]...)
	if reg.next > i {
		reg.next--
	}
	deleted := len(reg.callees) == 0
	if deleted {
		rl.dealer.remove(reg)
	}
	if reg.meta() {
		rl.publishUnregistered(out, s, reg, deleted)
	}
}

// removeSession drops everything s had in the dealer. rl.mu must be held.
func (d *dealer) removeSession(b *batch, rl *Realm, s *sess) {
	for _, reg := range s.regs {
		rl.removeCallee(b, reg, s)
	}
	for _, inv := range s.invocations {
		rl.endInvocation(inv)
		if inv.caller != s {
			b.send(inv.caller, errorMsg(protocol.CodeCall, inv.callID, protocol.URICanceled, "callee left before answering"))
		}
	}
	for _, inv := range s.calls {
		if inv.callee.s != s {
			rl.interrupt(b, inv, cancelKillNoWait, protocol.URICanceled)
		}
		rl.endInvocation(inv)
	}
}

// registerInternal registers a router-side procedure (exact match).
func (rl *Realm) registerInternal(procedure string, fn internalFunc) error {
	if !sendableURI(procedure) {
		return fmt.Errorf("router: invalid procedure URI %q", procedure)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.dealer.exact[procedure] != nil {
		return fmt.Errorf("%w: %s", ErrProcedureExists, procedure)
	}
	reg := &registration{uri: procedure, match: matchExact, invoke: invokeSingle, callees: []*callee{{fn: fn}}}
	rl.dealer.add(reg)
	return nil
}
