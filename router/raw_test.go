package router

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Tests in this file drive the router with hand-written protocol messages
// over transport.Pipe, skipping the HELLO/WELCOME handshake.

var allFeatures = protocol.Dict{
	"roles": protocol.Dict{
		"caller": protocol.Dict{"features": protocol.Dict{"call_canceling": true, "progressive_call_results": true}},
		"callee": protocol.Dict{"features": protocol.Dict{"call_canceling": true, "progressive_call_results": true,
			"registration_revocation": true, "caller_identification": true}},
		"publisher":  protocol.Dict{},
		"subscriber": protocol.Dict{},
	},
}

type rawClient struct {
	t    testing.TB
	p    transport.Peer
	id   protocol.ID
	info SessionInfo
	done chan struct{}
	req  protocol.ID
}

func newTestRouter(t testing.TB, cfg Config) *Router {
	t.Helper()
	if len(cfg.Realms) == 0 {
		cfg.Realms = []RealmConfig{{Name: "realm1"}}
	}
	leaktest.Guard(t)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Raw clients never answer GOODBYE; their cleanups (which ran
		// first) closed the pipes, so every session is gone already.
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

type rawOpt struct {
	authid, role string
	hello        protocol.Dict
	ser          protocol.Serializer
}

func joinRaw(t testing.TB, r *Router, o rawOpt) *rawClient {
	t.Helper()
	if o.hello == nil {
		o.hello = allFeatures
	}
	if o.role == "" {
		o.role = "anonymous"
	}
	a, b := transport.Pipe(o.ser)
	c := &rawClient{t: t, p: a, id: newID(), done: make(chan struct{})}
	joined := make(chan struct{})
	r.Realm("realm1").OnJoin(func(si *SessionInfo) {
		if si.ID == c.id {
			close(joined)
		}
	})
	if !r.enter() {
		t.Fatal("router closed")
	}
	ji := joinInfo{id: c.id, realm: "realm1", identity: auth.Identity{AuthID: o.authid, AuthRole: o.role, AuthMethod: "anonymous", AuthProvider: "static"}, hello: o.hello, transport: "pipe"}
	go func() {
		defer close(c.done)
		defer r.wg.Done()
		r.serveJoined(context.Background(), b, ji)
	}()
	t.Cleanup(func() { a.Close(); <-c.done })
	select {
	case <-joined:
	case <-c.done:
		t.Fatal("session ended before it joined")
	case <-time.After(10 * time.Second):
		t.Fatal("session did not join")
	}
	return c
}

func (rl *Realm) session(id protocol.ID) *sess {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.sessions[id]
}

func (c *rawClient) nextReq() protocol.ID { c.req++; return c.req }

func (c *rawClient) send(m protocol.Message) {
	c.t.Helper()
	if err := c.p.Send(context.Background(), m); err != nil {
		c.t.Fatalf("send %s: %v", m.Code(), err)
	}
}

func (c *rawClient) recv() protocol.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := c.p.Recv(ctx)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

// noMessage asserts nothing arrives within d.
func (c *rawClient) noMessage(d time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := c.p.Recv(ctx)
	if err == nil {
		c.t.Fatalf("unexpected message %T %+v", m, m)
	}
}

func expect[T protocol.Message](c *rawClient) T {
	c.t.Helper()
	m := c.recv()
	v, ok := m.(T)
	if !ok {
		var zero T
		c.t.Fatalf("got %T %+v, want %T", m, m, zero)
	}
	return v
}

func (c *rawClient) register(uri string, opts protocol.Dict) protocol.ID {
	c.t.Helper()
	req := c.nextReq()
	c.send(&protocol.Register{Request: req, Options: opts, Procedure: uri})
	r := expect[*protocol.Registered](c)
	if r.Request != req {
		c.t.Fatalf("REGISTERED for %d, want %d", r.Request, req)
	}
	return r.Registration
}

func (c *rawClient) subscribe(uri string, opts protocol.Dict) protocol.ID {
	c.t.Helper()
	req := c.nextReq()
	c.send(&protocol.Subscribe{Request: req, Options: opts, Topic: uri})
	r := expect[*protocol.Subscribed](c)
	if r.Request != req {
		c.t.Fatalf("SUBSCRIBED for %d, want %d", r.Request, req)
	}
	return r.Subscription
}

func (c *rawClient) call(uri string, opts protocol.Dict, args ...any) protocol.ID {
	req := c.nextReq()
	c.send(&protocol.Call{Request: req, Options: opts, Procedure: uri, Args: args})
	return req
}

func TestRawCallPatternsAndPrecedence(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinRaw(t, r, rawOpt{})
	caller := joinRaw(t, r, rawOpt{})
	regs := map[string]protocol.ID{}
	for _, rg := range []struct{ uri, match string }{
		{"com.a.b.c", "exact"},
		{"com.a", "prefix"},
		{"com.a.b", "prefix"},
		{"com..b.c", "wildcard"},
		{"com.x..c", "wildcard"},
		{"com...c", "wildcard"},
	} {
		regs[rg.uri+"/"+rg.match] = callee.register(rg.uri, protocol.Dict{"match": rg.match})
	}
	tests := []struct {
		call    string
		want    string
		pattern bool
	}{
		{"com.a.b.c", "com.a.b.c/exact", false},
		{"com.a.b.d", "com.a.b/prefix", true},
		{"com.a.bx", "com.a.b/prefix", true},
		{"com.a.z", "com.a/prefix", true},
		{"com.q.b.c", "com..b.c/wildcard", true},
		{"com.x.b.c", "com.x..c/wildcard", true},
		{"com.y.z.c", "com...c/wildcard", true},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			req := caller.call(tt.call, nil, 1)
			inv := expect[*protocol.Invocation](callee)
			if inv.Registration != regs[tt.want] {
				t.Fatalf("went to registration %d, want %s (%d)", inv.Registration, tt.want, regs[tt.want])
			}
			if got, _ := inv.Details["procedure"].(string); tt.pattern && got != tt.call {
				t.Fatalf("Details.procedure = %q, want %q", got, tt.call)
			} else if !tt.pattern && got != "" {
				t.Fatalf("exact match got Details.procedure %q", got)
			}
			callee.send(&protocol.Yield{Request: inv.Request, Args: protocol.List{tt.call}})
			res := expect[*protocol.Result](caller)
			if res.Request != req || res.Args[0] != tt.call {
				t.Fatalf("RESULT %+v", res)
			}
		})
	}
	req := caller.call("org.none", nil)
	e := expect[*protocol.Error](caller)
	if e.Request != req || e.URI != "wamp.error.no_such_procedure" || e.Args[0] != "no callee registered for procedure org.none" {
		t.Fatalf("ERROR %+v", e)
	}
	caller.call("bad..uri", nil)
	if e := expect[*protocol.Error](caller); e.URI != "wamp.error.invalid_uri" {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestRawInvocationIDsPerCallee(t *testing.T) {
	r := newTestRouter(t, Config{})
	c1 := joinRaw(t, r, rawOpt{})
	c2 := joinRaw(t, r, rawOpt{})
	caller := joinRaw(t, r, rawOpt{})
	c1.register("p.one", nil)
	c2.register("p.two", nil)
	for i := 1; i <= 3; i++ {
		caller.call("p.one", nil)
		caller.call("p.two", nil)
		if inv := expect[*protocol.Invocation](c1); inv.Request != protocol.ID(i) {
			t.Fatalf("callee 1 got INVOCATION %d, want %d", inv.Request, i)
		}
		if inv := expect[*protocol.Invocation](c2); inv.Request != protocol.ID(i) {
			t.Fatalf("callee 2 got INVOCATION %d, want %d", inv.Request, i)
		}
	}
}

func TestRawProtocolViolationAbortsOnlyThatSession(t *testing.T) {
	r := newTestRouter(t, Config{})
	good := joinRaw(t, r, rawOpt{})
	good.register("p.ok", nil)
	for _, bad := range []protocol.Message{
		&protocol.Hello{Realm: "realm1", Details: protocol.Dict{}},
		&protocol.Welcome{Session: 1, Details: protocol.Dict{}},
		&protocol.Result{Request: 1},
		&protocol.Yield{Request: 99},
		&protocol.Error{RequestType: protocol.CodeCall, Request: 1, URI: "a.b"},
	} {
		t.Run(bad.Code().String(), func(t *testing.T) {
			c := joinRaw(t, r, rawOpt{})
			c.send(bad)
			a := expect[*protocol.Abort](c)
			if a.Reason != "wamp.error.protocol_violation" {
				t.Fatalf("ABORT %+v", a)
			}
			select {
			case <-c.done:
			case <-time.After(3 * time.Second):
				t.Fatal("session not ended after violation")
			}
		})
	}
	caller := joinRaw(t, r, rawOpt{})
	caller.call("p.ok", nil)
	inv := expect[*protocol.Invocation](good)
	good.send(&protocol.Yield{Request: inv.Request})
	expect[*protocol.Result](caller)
}

// In a synctest bubble, a callee's 50 ms wait for an INVOCATION ends only
// once the router has nothing left to do, so "no callee got it" is exact.
func TestRawSharedRegistration(t *testing.T) { synctest.Test(t, testRawSharedRegistration) }

func testRawSharedRegistration(t *testing.T) {
	r := newTestRouter(t, Config{})
	callees := []*rawClient{joinRaw(t, r, rawOpt{}), joinRaw(t, r, rawOpt{}), joinRaw(t, r, rawOpt{})}
	caller := joinRaw(t, r, rawOpt{})
	for _, policy := range []string{"roundrobin", "first", "last", "random"} {
		uri := "shared." + policy
		for _, c := range callees {
			c.register(uri, protocol.Dict{"invoke": policy})
		}
		counts := make([]int, len(callees))
		order := []int{}
		for i := 0; i < 9; i++ {
			caller.call(uri, nil)
			// exactly one callee gets it
			got := -1
			for j, c := range callees {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				m, err := c.p.Recv(ctx)
				cancel()
				if err == nil {
					inv := m.(*protocol.Invocation)
					if got >= 0 {
						t.Fatalf("%s: two callees invoked", policy)
					}
					got = j
					c.send(&protocol.Yield{Request: inv.Request})
				}
			}
			if got < 0 {
				t.Fatalf("%s: no callee invoked", policy)
			}
			counts[got]++
			order = append(order, got)
			expect[*protocol.Result](caller)
		}
		switch policy {
		case "roundrobin":
			for i, g := range order {
				if g != i%3 {
					t.Fatalf("roundrobin order %v", order)
				}
			}
		case "first":
			if counts[0] != 9 {
				t.Fatalf("first: %v", counts)
			}
		case "last":
			if counts[2] != 9 {
				t.Fatalf("last: %v", counts)
			}
		}
	}
	// conflicts
	callees[0].register("single.p", nil)
	for _, tc := range []struct {
		uri  string
		opts protocol.Dict
		want string
	}{
		{"single.p", nil, "wamp.error.procedure_already_exists"},
		{"single.p", protocol.Dict{"invoke": "roundrobin"}, "wamp.error.procedure_already_exists"},
		{"shared.first", protocol.Dict{"invoke": "last"}, "wamp.error.procedure_exists_with_different_invocation_policy"},
		{"shared.first", nil, "wamp.error.procedure_exists_with_different_invocation_policy"},
	} {
		c := callees[1]
		c.send(&protocol.Register{Request: c.nextReq(), Options: tc.opts, Procedure: tc.uri})
		if e := expect[*protocol.Error](c); e.URI != tc.want {
			t.Fatalf("%s %v: %s, want %s", tc.uri, tc.opts, e.URI, tc.want)
		}
	}
}

func TestRawForceReregister(t *testing.T) { synctest.Test(t, testRawForceReregister) }

func testRawForceReregister(t *testing.T) {
	r := newTestRouter(t, Config{})
	old := joinRaw(t, r, rawOpt{})
	noRevoke := joinRaw(t, r, rawOpt{hello: protocol.Dict{"roles": protocol.Dict{"callee": protocol.Dict{}}}})
	nw := joinRaw(t, r, rawOpt{})
	oldID := old.register("p.force", nil)
	nrID := noRevoke.register("p.force2", nil)
	newID := nw.register("p.force", protocol.Dict{"force_reregister": true})
	u := expect[*protocol.Unregistered](old)
	if u.Request != 0 || u.Details["registration"] != oldID || u.Details["reason"] != "wamp.error.unregistered" {
		t.Fatalf("UNREGISTERED %+v", u)
	}
	nw.register("p.force2", protocol.Dict{"force_reregister": true})
	noRevoke.noMessage(100 * time.Millisecond) // did not announce registration_revocation
	_ = nrID
	caller := joinRaw(t, r, rawOpt{})
	caller.call("p.force", nil)
	if inv := expect[*protocol.Invocation](nw); inv.Registration != newID {
		t.Fatalf("INVOCATION %+v", inv)
	}
	// the old callee can no longer unregister it
	old.send(&protocol.Unregister{Request: old.nextReq(), Registration: oldID})
	if e := expect[*protocol.Error](old); e.URI != "wamp.error.no_such_registration" {
		t.Fatalf("ERROR %+v", e)
	}
}

// In a synctest bubble the waits for a message that must not come end only
// when the router has nothing left to do, and the 80 ms timeout is exact.
func TestRawProgressCancelTimeout(t *testing.T) { synctest.Test(t, testRawProgressCancelTimeout) }

func testRawProgressCancelTimeout(t *testing.T) {
	step := func(name string, f func(t *testing.T)) { // no subtests in a bubble
		t.Logf("step %s", name)
		f(t)
	}
	r := newTestRouter(t, Config{})
	callee := joinRaw(t, r, rawOpt{})
	plain := joinRaw(t, r, rawOpt{hello: protocol.Dict{"roles": protocol.Dict{"callee": protocol.Dict{}}}})
	caller := joinRaw(t, r, rawOpt{})
	callee.register("p.slow", nil)
	plain.register("p.plain", nil)

	step("progress", func(t *testing.T) {
		req := caller.call("p.slow", protocol.Dict{"receive_progress": true})
		inv := expect[*protocol.Invocation](callee)
		if inv.Details["receive_progress"] != true {
			t.Fatalf("receive_progress not forwarded: %+v", inv.Details)
		}
		for i := 0; i < 3; i++ {
			callee.send(&protocol.Yield{Request: inv.Request, Options: protocol.Dict{"progress": true}, Args: protocol.List{i}})
			res := expect[*protocol.Result](caller)
			if res.Request != req || res.Details["progress"] != true || res.Args[0] != i {
				t.Fatalf("progress RESULT %+v", res)
			}
		}
		callee.send(&protocol.Yield{Request: inv.Request, Args: protocol.List{"done"}})
		res := expect[*protocol.Result](caller)
		if res.Details["progress"] == true || res.Args[0] != "done" {
			t.Fatalf("final RESULT %+v", res)
		}
	})
	for _, mode := range []string{"skip", "kill", "killnowait"} {
		step("cancel-"+mode, func(t *testing.T) {
			req := caller.call("p.slow", nil)
			inv := expect[*protocol.Invocation](callee)
			caller.send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": mode}})
			switch mode {
			case "skip":
				if e := expect[*protocol.Error](caller); e.URI != "wamp.error.canceled" || e.Request != req {
					t.Fatalf("ERROR %+v", e)
				}
				callee.noMessage(50 * time.Millisecond)
				callee.send(&protocol.Yield{Request: inv.Request}) // late, discarded
				caller.noMessage(50 * time.Millisecond)
			case "killnowait":
				if e := expect[*protocol.Error](caller); e.URI != "wamp.error.canceled" {
					t.Fatalf("ERROR %+v", e)
				}
				in := expect[*protocol.Interrupt](callee)
				if in.Request != inv.Request || in.Options["mode"] != "killnowait" {
					t.Fatalf("INTERRUPT %+v", in)
				}
				callee.send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, URI: "wamp.error.canceled"})
				caller.noMessage(50 * time.Millisecond)
			case "kill":
				in := expect[*protocol.Interrupt](callee)
				if in.Options["mode"] != "kill" {
					t.Fatalf("INTERRUPT %+v", in)
				}
				caller.noMessage(50 * time.Millisecond)
				callee.send(&protocol.Error{RequestType: protocol.CodeInvocation, Request: inv.Request, URI: "wamp.error.canceled", Args: protocol.List{"stopped"}})
				if e := expect[*protocol.Error](caller); e.URI != "wamp.error.canceled" || e.Args[0] != "stopped" {
					t.Fatalf("ERROR %+v", e)
				}
			}
		})
	}
	step("cancel-callee-without-canceling-is-skip", func(t *testing.T) {
		req := caller.call("p.plain", nil)
		expect[*protocol.Invocation](plain)
		caller.send(&protocol.Cancel{Request: req, Options: protocol.Dict{"mode": "kill"}})
		if e := expect[*protocol.Error](caller); e.URI != "wamp.error.canceled" {
			t.Fatalf("ERROR %+v", e)
		}
		plain.noMessage(50 * time.Millisecond)
	})
	step("timeout-ms", func(t *testing.T) {
		start := time.Now()
		req := caller.call("p.slow", protocol.Dict{"timeout": int64(80)})
		inv := expect[*protocol.Invocation](callee)
		e := expect[*protocol.Error](caller)
		if e.URI != "wamp.error.timeout" || e.Request != req {
			t.Fatalf("ERROR %+v", e)
		}
		if el := time.Since(start); el < 80*time.Millisecond {
			t.Fatalf("timed out after %v, before 80ms", el)
		}
		in := expect[*protocol.Interrupt](callee)
		if in.Request != inv.Request || in.Options["mode"] != "killnowait" {
			t.Fatalf("INTERRUPT %+v", in)
		}
	})
}

func TestRawLeavingMidCall(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinRaw(t, r, rawOpt{})
	caller := joinRaw(t, r, rawOpt{})
	callee.register("p.x", nil)
	caller2 := joinRaw(t, r, rawOpt{})
	// caller leaves: callee gets INTERRUPT killnowait
	caller2.call("p.x", nil)
	inv := expect[*protocol.Invocation](callee)
	caller2.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.close_realm"})
	if g := expect[*protocol.Goodbye](caller2); g.Reason != "wamp.close.goodbye_and_out" {
		t.Fatalf("GOODBYE %+v", g)
	}
	in := expect[*protocol.Interrupt](callee)
	if in.Request != inv.Request || in.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v", in)
	}
	// callee leaves: caller gets canceled
	req := caller.call("p.x", nil)
	expect[*protocol.Invocation](callee)
	callee.p.Close()
	e := expect[*protocol.Error](caller)
	if e.URI != "wamp.error.canceled" || e.Request != req {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestRawPubSub(t *testing.T) { synctest.Test(t, testRawPubSub) }

func testRawPubSub(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub := joinRaw(t, r, rawOpt{authid: "pub", role: "backend"})
	a := joinRaw(t, r, rawOpt{authid: "alice", role: "frontend"})
	b := joinRaw(t, r, rawOpt{authid: "bob", role: "backend"})
	subA := a.subscribe("t.x.y", nil)
	subB := b.subscribe("t.x.y", nil)
	if subA != subB {
		t.Fatalf("same topic got different subscription ids %d %d", subA, subB)
	}
	prefB := b.subscribe("t.x", protocol.Dict{"match": "prefix"})
	wildA := a.subscribe("t..y", protocol.Dict{"match": "wildcard"})
	pubSub := pub.subscribe("t.x.y", nil)

	req := pub.nextReq()
	pub.send(&protocol.Publish{Request: req, Options: protocol.Dict{"acknowledge": true, "disclose_me": true}, Topic: "t.x.y", Args: protocol.List{"hi"}})
	p := expect[*protocol.Published](pub)
	if p.Request != req || p.Publication == 0 {
		t.Fatalf("PUBLISHED %+v", p)
	}
	gotSubs := func(c *rawClient, n int) map[protocol.ID]*protocol.Event {
		m := map[protocol.ID]*protocol.Event{}
		for i := 0; i < n; i++ {
			ev := expect[*protocol.Event](c)
			if ev.Publication != p.Publication || ev.Args[0] != "hi" {
				t.Fatalf("EVENT %+v", ev)
			}
			if ev.Details["publisher"] != pub.id || ev.Details["publisher_authid"] != "pub" || ev.Details["publisher_authrole"] != "backend" {
				t.Fatalf("EVENT without disclosure: %+v", ev.Details)
			}
			m[ev.Subscription] = ev
		}
		c.noMessage(30 * time.Millisecond)
		return m
	}
	ea := gotSubs(a, 2)
	if ea[subA] == nil || ea[wildA] == nil || ea[wildA].Details["topic"] != "t.x.y" || ea[subA].Details["topic"] != nil {
		t.Fatalf("alice events %+v", ea)
	}
	eb := gotSubs(b, 2)
	if eb[subB] == nil || eb[prefB] == nil || eb[prefB].Details["topic"] != "t.x.y" {
		t.Fatalf("bob events %+v", eb)
	}
	pub.noMessage(30 * time.Millisecond) // exclude_me default

	// exclude_me false
	pub.send(&protocol.Publish{Request: pub.nextReq(), Options: protocol.Dict{"exclude_me": false}, Topic: "t.x.y"})
	if ev := expect[*protocol.Event](pub); ev.Subscription != pubSub {
		t.Fatalf("EVENT %+v", ev)
	}
	for _, c := range []*rawClient{a, a, b, b} {
		expect[*protocol.Event](c)
	}

	// black/white lists
	cases := []struct {
		opts       protocol.Dict
		alice, bob bool
	}{
		{protocol.Dict{"eligible": protocol.List{a.id}}, true, false},
		{protocol.Dict{"exclude": protocol.List{a.id}}, false, true},
		{protocol.Dict{"eligible_authid": protocol.List{"bob"}}, false, true},
		{protocol.Dict{"exclude_authid": protocol.List{"bob"}}, true, false},
		{protocol.Dict{"eligible_authrole": protocol.List{"frontend"}}, true, false},
		{protocol.Dict{"exclude_authrole": protocol.List{"frontend"}}, false, true},
		{protocol.Dict{"eligible": protocol.List{a.id, b.id}, "exclude_authid": protocol.List{"alice"}}, false, true},
	}
	for i, tc := range cases {
		pub.send(&protocol.Publish{Request: pub.nextReq(), Options: tc.opts, Topic: "t.q.y"}) // only wildcard sub of alice matches
		pub.send(&protocol.Publish{Request: pub.nextReq(), Options: tc.opts, Topic: "t.x.z"}) // only prefix sub of bob matches
		for _, x := range []struct {
			c    *rawClient
			want bool
		}{{a, tc.alice}, {b, tc.bob}} {
			if x.want {
				expect[*protocol.Event](x.c)
			}
			x.c.noMessage(30 * time.Millisecond)
		}
		_ = i
	}
	// bad filter with ack
	pub.send(&protocol.Publish{Request: pub.nextReq(), Options: protocol.Dict{"acknowledge": true, "eligible": "x"}, Topic: "t.x.y"})
	if e := expect[*protocol.Error](pub); e.URI != "wamp.error.invalid_argument" {
		t.Fatalf("ERROR %+v", e)
	}
	// unsubscribe
	b.send(&protocol.Unsubscribe{Request: b.nextReq(), Subscription: prefB})
	expect[*protocol.Unsubscribed](b)
	b.send(&protocol.Unsubscribe{Request: b.nextReq(), Subscription: prefB})
	if e := expect[*protocol.Error](b); e.URI != "wamp.error.no_such_subscription" {
		t.Fatalf("ERROR %+v", e)
	}
	pub.send(&protocol.Publish{Request: pub.nextReq(), Topic: "t.x.z"})
	b.noMessage(30 * time.Millisecond)
}

// TestRawSlowSubscriberDropped: a subscriber that never reads is dropped
// once the router's writes to it make no progress for WriteStallTimeout; a
// subscriber that reads gets everything meanwhile.
func TestRawSlowSubscriberDropped(t *testing.T) {
	r := newTestRouter(t, Config{WriteStallTimeout: 300 * time.Millisecond})
	slow := joinRaw(t, r, rawOpt{})
	fast := joinRaw(t, r, rawOpt{})
	pub := joinRaw(t, r, rawOpt{})
	slow.subscribe("t.flood", nil)
	fast.subscribe("t.flood", nil)
	const n = 1000
	progress := make(chan int, n)
	go func() {
		defer close(progress)
		for count := 1; count <= n; count++ {
			if _, err := fast.p.Recv(context.Background()); err != nil {
				return
			}
			progress <- count
		}
	}()
	// Publish in steps of 50, waiting for the fast subscriber each time: it
	// never has more than 50 events queued, the slow one (never reading)
	// accumulates all of them.
	received := 0
	for i := 0; i < n; i++ {
		pub.send(&protocol.Publish{Request: pub.nextReq(), Topic: "t.flood", Args: protocol.List{i}})
		if (i+1)%50 == 0 {
			for received < i+1 {
				c, ok := <-progress
				if !ok {
					t.Fatalf("fast subscriber lost after %d events", received)
				}
				received = c
			}
		}
	}
	select {
	case <-slow.done:
	case <-time.After(3 * time.Second):
		t.Fatal("slow subscriber was not dropped")
	}
	if r.Realm("realm1").session(slow.id) != nil {
		t.Fatal("slow session still in realm")
	}
}

func TestRawCloseSendsGoodbye(t *testing.T) { synctest.Test(t, testRawCloseSendsGoodbye) }

func testRawCloseSendsGoodbye(t *testing.T) {
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	clients := []*rawClient{joinRaw(t, r, rawOpt{}), joinRaw(t, r, rawOpt{})}
	errc := make(chan error)
	go func() { errc <- r.Close(context.Background()) }()
	for _, c := range clients {
		g := expect[*protocol.Goodbye](c)
		if g.Reason != "wamp.close.system_shutdown" {
			t.Fatalf("GOODBYE %+v", g)
		}
		c.send(&protocol.Goodbye{Details: protocol.Dict{}, Reason: "wamp.close.goodbye_and_out"})
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// a client that never answers: Close is bounded by ctx
	r2, _ := New(Config{Realms: []RealmConfig{{Name: "realm1"}}})
	c := joinRaw(t, r2, rawOpt{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r2.Close(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Close = %v, want deadline exceeded", err)
	}
	expect[*protocol.Goodbye](c)

}

func TestRawInvalidRequests(t *testing.T) { synctest.Test(t, testRawInvalidRequests) }

func testRawInvalidRequests(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := joinRaw(t, r, rawOpt{})
	tests := []struct {
		name string
		msg  func(req protocol.ID) protocol.Message
		code protocol.Code
		uri  string
	}{
		{"register bad uri", func(q protocol.ID) protocol.Message {
			return &protocol.Register{Request: q, Procedure: "a..b"}
		}, protocol.CodeRegister, "wamp.error.invalid_uri"},
		{"register prefix with empty middle", func(q protocol.ID) protocol.Message {
			return &protocol.Register{Request: q, Options: protocol.Dict{"match": "prefix"}, Procedure: "a..b"}
		}, protocol.CodeRegister, "wamp.error.invalid_uri"},
		{"register bad match", func(q protocol.ID) protocol.Message {
			return &protocol.Register{Request: q, Options: protocol.Dict{"match": "regex"}, Procedure: "a.b"}
		}, protocol.CodeRegister, "wamp.error.invalid_argument"},
		{"register bad invoke", func(q protocol.ID) protocol.Message {
			return &protocol.Register{Request: q, Options: protocol.Dict{"invoke": "sometimes"}, Procedure: "a.b"}
		}, protocol.CodeRegister, "wamp.error.invalid_argument"},
		{"subscribe bad uri", func(q protocol.ID) protocol.Message {
			return &protocol.Subscribe{Request: q, Topic: "a b"}
		}, protocol.CodeSubscribe, "wamp.error.invalid_uri"},
		{"publish bad uri acknowledged", func(q protocol.ID) protocol.Message {
			return &protocol.Publish{Request: q, Options: protocol.Dict{"acknowledge": true}, Topic: "a.#"}
		}, protocol.CodePublish, "wamp.error.invalid_uri"},
		{"call bad timeout", func(q protocol.ID) protocol.Message {
			return &protocol.Call{Request: q, Options: protocol.Dict{"timeout": "soon"}, Procedure: "wamp.session.count"}
		}, protocol.CodeCall, "wamp.error.invalid_argument"},
		{"unregister unknown", func(q protocol.ID) protocol.Message {
			return &protocol.Unregister{Request: q, Registration: 12345}
		}, protocol.CodeUnregister, "wamp.error.no_such_registration"},
		{"unsubscribe unknown", func(q protocol.ID) protocol.Message {
			return &protocol.Unsubscribe{Request: q, Subscription: 12345}
		}, protocol.CodeUnsubscribe, "wamp.error.no_such_subscription"},
		{"session get unknown", func(q protocol.ID) protocol.Message {
			return &protocol.Call{Request: q, Procedure: "wamp.session.get", Args: protocol.List{int64(1)}}
		}, protocol.CodeCall, "wamp.error.no_such_session"},
	}
	for _, tt := range tests { // no subtests in a bubble
		req := c.nextReq()
		c.send(tt.msg(req))
		e := expect[*protocol.Error](c)
		if e.RequestType != tt.code || e.Request != req || e.URI != tt.uri {
			t.Fatalf("%s: ERROR %+v, want %s for %s", tt.name, e, tt.uri, tt.code)
		}
	}
	// an unacknowledged invalid publish gets no reply at all
	c.send(&protocol.Publish{Request: c.nextReq(), Topic: "a.#"})
	c.noMessage(50 * time.Millisecond)
	// a CALL reusing the id of a pending call is a protocol violation
	callee := joinRaw(t, r, rawOpt{})
	callee.register("p.hold", nil)
	req := c.call("p.hold", nil)
	expect[*protocol.Invocation](callee)
	c.send(&protocol.Call{Request: req, Procedure: "p.hold"})
	if a := expect[*protocol.Abort](c); a.Reason != "wamp.error.protocol_violation" {
		t.Fatalf("ABORT %+v", a)
	}
	// ... and the callee is told to stop the orphaned invocation
	if in := expect[*protocol.Interrupt](callee); in.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v", in)
	}
}

func TestRawRoundRobinSurvivesUnregister(t *testing.T) {
	r := newTestRouter(t, Config{})
	a, b, c := joinRaw(t, r, rawOpt{}), joinRaw(t, r, rawOpt{}), joinRaw(t, r, rawOpt{})
	caller := joinRaw(t, r, rawOpt{})
	var regID protocol.ID
	for _, x := range []*rawClient{a, b, c} {
		regID = x.register("rr.p", protocol.Dict{"invoke": "roundrobin"})
	}
	serve := func(x *rawClient) {
		inv := expect[*protocol.Invocation](x)
		x.send(&protocol.Yield{Request: inv.Request})
		expect[*protocol.Result](caller)
	}
	caller.call("rr.p", nil)
	serve(a)
	caller.call("rr.p", nil)
	serve(b)
	b.send(&protocol.Unregister{Request: b.nextReq(), Registration: regID})
	expect[*protocol.Unregistered](b)
	caller.call("rr.p", nil)
	serve(c)
	caller.call("rr.p", nil)
	serve(a)
}

func TestRawRealmDisclose(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{{Name: "realm1", Disclose: true}}})
	callee := joinRaw(t, r, rawOpt{authid: "svc", role: "backend"})
	caller := joinRaw(t, r, rawOpt{authid: "joe", role: "frontend"})
	callee.register("p.x", nil)
	callee.subscribe("t.x", nil)
	caller.call("p.x", nil)
	inv := expect[*protocol.Invocation](callee)
	if inv.Details["caller"] != caller.id || inv.Details["caller_authid"] != "joe" || inv.Details["caller_authrole"] != "frontend" {
		t.Fatalf("INVOCATION details %v", inv.Details)
	}
	caller.send(&protocol.Publish{Request: caller.nextReq(), Topic: "t.x"})
	ev := expect[*protocol.Event](callee)
	if ev.Details["publisher"] != caller.id || ev.Details["publisher_authid"] != "joe" {
		t.Fatalf("EVENT details %v", ev.Details)
	}
}

func TestRawProgressWithoutCanceling(t *testing.T) {
	r := newTestRouter(t, Config{})
	// autobahn-js announces progressive_call_results but not call_canceling
	callee := joinRaw(t, r, rawOpt{hello: protocol.Dict{"roles": protocol.Dict{"callee": protocol.Dict{"features": protocol.Dict{"progressive_call_results": true}}}}})
	plain := joinRaw(t, r, rawOpt{hello: protocol.Dict{"roles": protocol.Dict{"callee": protocol.Dict{}}}})
	caller := joinRaw(t, r, rawOpt{})
	callee.register("p.prog", nil)
	plain.register("p.plain", nil)
	caller.call("p.prog", protocol.Dict{"receive_progress": true})
	if inv := expect[*protocol.Invocation](callee); inv.Details["receive_progress"] != true {
		t.Fatalf("receive_progress not forwarded: %v", inv.Details)
	}
	caller.call("p.plain", protocol.Dict{"receive_progress": true})
	if inv := expect[*protocol.Invocation](plain); inv.Details["receive_progress"] != nil {
		t.Fatalf("receive_progress forwarded to a callee without the feature: %v", inv.Details)
	}
}

// In a synctest bubble: the 3 s wait for the drop is fake time, which
// passes only once the router has nothing left to do (under load, the 200
// publishes took longer than 3 s of real time).
func TestRawSlowSubscriberDroppedByBytes(t *testing.T) {
	synctest.Test(t, testRawSlowSubscriberDroppedByBytes)
}

func testRawSlowSubscriberDroppedByBytes(t *testing.T) {
	// Only ~200 KB may wait for a client that does not read: 10 KB events
	// overflow it after about 20 events, long before WriteStallTimeout.
	r := newTestRouter(t, Config{OutboundQueueBytes: 200 << 10})
	slow := joinRaw(t, r, rawOpt{})
	pub := joinRaw(t, r, rawOpt{})
	slow.subscribe("t.big", nil)
	payload := protocol.List{strings.Repeat("x", 10<<10)}
	// The pipe itself buffers 64 messages, so publish well past that.
	for i := 0; i < 200; i++ {
		pub.send(&protocol.Publish{Request: pub.nextReq(), Topic: "t.big", Args: payload})
	}
	select {
	case <-slow.done:
	case <-time.After(3 * time.Second):
		t.Fatal("slow subscriber was not dropped by the byte limit")
	}
	// the publisher is unaffected
	req := pub.nextReq()
	pub.send(&protocol.Publish{Request: req, Options: protocol.Dict{"acknowledge": true}, Topic: "t.big"})
	if p := expect[*protocol.Published](pub); p.Request != req {
		t.Fatalf("PUBLISHED %+v", p)
	}
}

// A subscriber over the byte limit is dropped once it has made no
// progress for flowWait, also when nothing more is sent to it: with
// backpressure out of the way, the publisher is never held back, every event
// is queued at once, and the check must come from a timer, not from the
// next event. In a synctest bubble.
func TestRawSlowSubscriberOverLimitDroppedWithoutMoreEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestRouter(t, Config{OutboundQueueBytes: 200 << 10, BackpressureBytes: 64 << 20})
		slow := joinRaw(t, r, rawOpt{})
		pub := joinRaw(t, r, rawOpt{})
		slow.subscribe("t.big", nil)
		payload := protocol.List{strings.Repeat("x", 10<<10)}
		for i := 0; i < 100; i++ {
			pub.send(&protocol.Publish{Request: pub.nextReq(), Topic: "t.big", Args: payload})
		}
		start := time.Now()
		select {
		case <-slow.done:
		case <-time.After(3 * time.Second):
			t.Fatal("slow subscriber over the byte limit was not dropped")
		}
		if d := time.Since(start); d > flowWait {
			t.Errorf("dropped after %v, want within flowWait (%v)", d, flowWait)
		}
	})
}

func TestMessageSizeEstimate(t *testing.T) {
	small := messageSize(&protocol.Event{Args: protocol.List{"a"}})
	big := messageSize(&protocol.Event{Args: protocol.List{strings.Repeat("a", 1000)}, Kwargs: protocol.Dict{"k": []byte("0123456789")}})
	if big-small < 1000 || messageSize(&protocol.Subscribed{}) <= 0 {
		t.Fatalf("estimates: small %d, big %d", small, big)
	}
	// a cyclic in-process payload with fan-out does not take forever
	l := protocol.List{nil, nil}
	l[0], l[1] = l, l
	if n := messageSize(&protocol.Result{Args: l}); n <= 0 {
		t.Fatalf("cyclic estimate %d", n)
	}
}
