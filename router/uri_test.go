package router_test

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
)

// writeRaw sends one JSON message as written, unchecked (it may break any
// rule).
func (r *rsConn) writeRaw(json string) {
	r.t.Helper()
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(json)))
	if _, err := r.c.Write(append(h[:], json...)); err != nil {
		r.t.Fatal(err)
	}
}

// expectMsg reads the next message (within 10 s) and checks its code.
func (r *rsConn) expectMsg(code protocol.Code) protocol.Message {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer r.c.SetReadDeadline(time.Time{})
	m, err := r.read()
	if err != nil {
		r.t.Fatalf("waiting for %v: %v", code, err)
	}
	if m.Code() != code {
		r.t.Fatalf("got %v %v, want %v", m.Code(), protocol.ToList(m), code)
	}
	return m
}

func (r *rsConn) expectError(typ protocol.Code, req protocol.ID, uri string) {
	r.t.Helper()
	e := r.expectMsg(protocol.CodeError).(*protocol.Error)
	if e.RequestType != typ || e.Request != req || e.URI != uri {
		r.t.Fatalf("got ERROR %v, want %v for %v %d", protocol.ToList(e), uri, typ, req)
	}
}

// A request whose URI breaks the rule gets ERROR wamp.error.invalid_uri and
// the session goes on; HELLO's realm gets ABORT wamp.error.invalid_uri (spec
// basic/uri_reference.md). Before, the decoder refused such messages and
// the router aborted the session with wamp.error.protocol_violation.
func TestInvalidURIsAnsweredInvalidURI(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	c := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	c.join()
	c.writeRaw(`[48, 1, {}, "conformance..empty"]`)
	c.expectError(protocol.CodeCall, 1, protocol.URIInvalidURI)
	c.writeRaw(`[48, 2, {}, ""]`)
	c.expectError(protocol.CodeCall, 2, protocol.URIInvalidURI)
	c.writeRaw(`[64, 3, {}, "white space"]`)
	c.expectError(protocol.CodeRegister, 3, protocol.URIInvalidURI)
	c.writeRaw(`[64, 4, {"match": "prefix"}, "a..b."]`)
	c.expectError(protocol.CodeRegister, 4, protocol.URIInvalidURI)
	c.writeRaw(`[32, 5, {}, "a.#"]`)
	c.expectError(protocol.CodeSubscribe, 5, protocol.URIInvalidURI)
	c.writeRaw(`[16, 6, {"acknowledge": true}, "a..b", ["x"]]`)
	c.expectError(protocol.CodePublish, 6, protocol.URIInvalidURI)
	c.writeRaw(`[16, 7, {}, "a..b"]`) // unacknowledged: no reply
	// The session is alive, and the loose rule (the default) accepts
	// upper case and '-'.
	c.writeRaw(`[48, 8, {}, "Loose-URI.grüße"]`)
	c.expectError(protocol.CodeCall, 8, protocol.URINoSuchProcedure)
	// Other faults are still protocol violations.
	c.writeRaw(`[48, 9, {"timeout": "soon"}, "a..b"]`)
	if a := c.expectMsg(protocol.CodeAbort).(*protocol.Abort); a.Reason != protocol.URIProtocolViolation {
		t.Fatalf("ABORT %v, want protocol_violation", protocol.ToList(a))
	}

	h := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	h.writeRaw(`[1, "realm1..x", {"roles": {"caller": {}}}]`)
	if a := h.expectMsg(protocol.CodeAbort).(*protocol.Abort); a.Reason != protocol.URIInvalidURI {
		t.Fatalf("HELLO with an invalid realm: ABORT %v, want invalid_uri", protocol.ToList(a))
	}
}

// Config.URIs = protocol.StrictURIs refuses what the loose rule allows.
func TestStrictURIs(t *testing.T) {
	if _, err := router.New(router.Config{URIs: protocol.StrictURIs, Realms: []router.RealmConfig{{Name: "Realm-1"}}}); err == nil {
		t.Error("a realm name that breaks the strict rule was accepted")
	}
	_, ep := serveAll(t, router.Config{URIs: protocol.StrictURIs})
	c := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	c.join()
	c.writeRaw(`[48, 1, {}, "Loose-URI.x"]`)
	c.expectError(protocol.CodeCall, 1, protocol.URIInvalidURI)
	c.writeRaw(`[64, 2, {}, "loose-uri"]`)
	c.expectError(protocol.CodeRegister, 2, protocol.URIInvalidURI)
	c.writeRaw(`[32, 3, {"match": "wildcard"}, "a..B"]`)
	c.expectError(protocol.CodeSubscribe, 3, protocol.URIInvalidURI)
	c.writeRaw(`[16, 4, {"acknowledge": true}, "a.B"]`)
	c.expectError(protocol.CodePublish, 4, protocol.URIInvalidURI)
	c.writeRaw(`[64, 5, {"match": "wildcard"}, "strict..ok"]`)
	c.expectMsg(protocol.CodeRegistered)

	h := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	h.writeRaw(`[1, "Realm1", {"roles": {"caller": {}}}]`)
	if a := h.expectMsg(protocol.CodeAbort).(*protocol.Abort); a.Reason != protocol.URIInvalidURI {
		t.Fatalf("HELLO with a realm that is not strict: ABORT %v, want invalid_uri", protocol.ToList(a))
	}
}

// A callee's ERROR with an invalid error URI reaches the caller as
// wamp.error.runtime_error (the router never forwards an invalid URI), and
// the callee's session goes on.
func TestCalleeInvalidErrorURI(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	callee := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	callee.join()
	caller := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
	caller.join()
	callee.writeRaw(`[64, 1, {}, "p.fails"]`)
	callee.expectMsg(protocol.CodeRegistered)
	caller.writeRaw(`[48, 1, {}, "p.fails"]`)
	inv := callee.expectMsg(protocol.CodeInvocation).(*protocol.Invocation)
	callee.writeRaw(`[8, 68, ` + strconv.FormatUint(inv.Request, 10) + `, {}, "bad uri", ["why"]]`)
	e := caller.expectMsg(protocol.CodeError).(*protocol.Error)
	if e.Request != 1 || e.URI != protocol.URIRuntimeError || len(e.Args) != 1 || e.Args[0] != "why" {
		t.Fatalf("caller got %v, want ERROR wamp.error.runtime_error with the callee's arguments", protocol.ToList(e))
	}
	callee.writeRaw(`[48, 2, {}, "wamp.session.count"]`)
	callee.expectMsg(protocol.CodeResult)
}

// The ABORT for a protocol violation is written before the connection
// closes, even when another goroutine (here an internal procedure's
// RESULT) is flushing the session at that moment. The router used to
// wait only for what its connection held, not for what that other flush
// was about to hand over, and closed the connection without the ABORT
// (every few dozen connections under -race).
func TestViolationAbortNotLost(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	for i := range 200 {
		c := dialRS(t, strings.TrimPrefix(ep.tcp, "tcp://"), 0)
		c.join()
		c.writeRaw(`[48, 1, {}, "wamp.session.count"]`)
		c.expectMsg(protocol.CodeResult)
		c.writeRaw(`[255]`)
		c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := c.read()
		if err != nil || m.Code() != protocol.CodeAbort {
			t.Fatalf("run %d: got %v, %v; want ABORT", i, m, err)
		}
		c.c.Close()
	}
}
