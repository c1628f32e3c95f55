package router

import (
	"context"
	"fmt"
	"slices"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// installMeta registers the session meta API procedures
// (wamp-protocol-notes §5.16). The on_join / on_leave events are published
// by join and leave.
func (rl *Realm) installMeta() {
	must := func(err error) {
		if err != nil {
			panic(err) // fresh realm: cannot happen
		}
	}
	must(rl.registerInternal(protocol.MetaSessionCount, rl.metaCount))
	must(rl.registerInternal(protocol.MetaSessionList, rl.metaList))
	must(rl.registerInternal(protocol.MetaSessionGet, rl.metaGet))
	must(rl.installObservationMeta())
	must(rl.installTestaments())
}

// roleFilter parses the optional [filter_authroles] argument.
func roleFilter(args protocol.List) (map[string]bool, error) {
	if len(args) == 0 || args[0] == nil {
		return nil, nil
	}
	l, ok := args[0].(protocol.List)
	if !ok {
		return nil, &callError{URI: protocol.URIInvalidArgument, Args: protocol.List{"filter_authroles must be a list of strings"}}
	}
	set := make(map[string]bool, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, &callError{URI: protocol.URIInvalidArgument, Args: protocol.List{"filter_authroles must be a list of strings"}}
		}
		set[s] = true
	}
	return set, nil
}

func (rl *Realm) sessionIDs(roles map[string]bool) []protocol.ID {
	rl.mu.Lock()
	ids := make([]protocol.ID, 0, len(rl.sessions))
	for id, s := range rl.sessions {
		if roles == nil || roles[s.info.AuthRole] {
			ids = append(ids, id)
		}
	}
	rl.mu.Unlock()
	slices.Sort(ids)
	return ids
}

func (rl *Realm) metaCount(_ context.Context, _ *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	roles, err := roleFilter(c.args)
	if err != nil {
		return nil, nil, err
	}
	return protocol.List{int64(len(rl.sessionIDs(roles)))}, nil, nil
}

func (rl *Realm) metaList(_ context.Context, _ *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	roles, err := roleFilter(c.args)
	if err != nil {
		return nil, nil, err
	}
	ids := rl.sessionIDs(roles)
	l := make(protocol.List, len(ids))
	for i, id := range ids {
		l[i] = id
	}
	return protocol.List{l}, nil, nil
}

func (rl *Realm) metaGet(_ context.Context, _ *SessionInfo, c *internalCall) (protocol.List, protocol.Dict, error) {
	var id protocol.ID
	if len(c.args) > 0 {
		switch v := c.args[0].(type) {
		case int64:
			id = protocol.ID(v)
		case uint64:
			id = v
		case int:
			id = protocol.ID(v)
		case float64:
			id = protocol.ID(v)
		}
	}
	if id == 0 {
		return nil, nil, &callError{URI: protocol.URIInvalidArgument, Args: protocol.List{"wamp.session.get takes a session id"}}
	}
	rl.mu.Lock()
	s := rl.sessions[id]
	rl.mu.Unlock()
	if s == nil {
		return nil, nil, &callError{URI: protocol.URINoSuchSession, Args: protocol.List{fmt.Sprintf("no session %d", id)}}
	}
	return protocol.List{s.details()}, nil, nil
}

// sendTooBig handles a message the transport refused as too big for s's
// connection: a RESULT becomes ERROR wamp.error.payload_size_exceeded for
// that call, an INVOCATION fails the call back to its caller, anything
// else is dropped (and logged).
func (rl *Realm) sendTooBig(s *sess, m protocol.Message) {
	rl.log.Warn("message too big for the client; not sent", "session", s.info.ID, "type", m.Code().String())
	const uri = protocol.URIPayloadSizeExceeded
	var b batch
	switch m := m.(type) {
	case *protocol.Result:
		b.send(s, errorMsg(protocol.CodeCall, m.Request, uri, "result exceeds the message size limit"))
	case *protocol.Invocation:
		rl.mu.Lock()
		if inv := s.invocations[m.Request]; inv != nil {
			rl.endInvocation(inv)
			b.send(inv.caller, errorMsg(protocol.CodeCall, inv.callID, uri, "call exceeds the callee's message size limit"))
		}
		rl.mu.Unlock()
	}
	b.flush()
}
