package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

var (
	fuzzOnce   sync.Once
	fuzzRouter *Router
)

// FuzzSessionMessages feeds arbitrary sequences of decoded messages (one
// JSON message per line) from an established session into a shared router,
// next to a well-behaved callee and subscriber: whatever a client sends,
// the router must neither panic nor hang, and must keep serving others.
func FuzzSessionMessages(f *testing.F) {
	seeds := []string{
		`[48, 1, {}, "fz.echo", [1]]`,
		`[64, 1, {"match": "prefix"}, "fz"]` + "\n" + `[48, 2, {"receive_progress": true, "timeout": 5}, "fz.x"]`,
		`[32, 1, {"match": "wildcard"}, "fz..t"]` + "\n" + `[16, 2, {"acknowledge": true, "exclude_me": false, "eligible": [1, 2]}, "fz.a.t", ["x"]]`,
		`[48, 1, {}, "fz.echo"]` + "\n" + `[49, 1, {"mode": "kill"}]` + "\n" + `[49, 1, {"mode": "skip"}]`,
		`[70, 7, {}]`,
		`[8, 68, 1, {}, "x.y"]`,
		`[66, 1, 123]` + "\n" + `[34, 2, 456]`,
		`[6, {}, "wamp.close.close_realm"]`,
		`[1, "realm1", {"roles": {}}]`,
		`[48, 1, {"timeout": -1}, "wamp.session.get", ["x"]]`,
		`[48, 1, {}, "wamp.session.count", [[1, 2]]]`,
		// progressive call invocations (to itself and to fz.echo)
		`[64, 1, {}, "fz.s"]` + "\n" + `[48, 2, {"progress": true}, "fz.s", [1]]` + "\n" + `[48, 2, {"progress": true}, "fz.s", [2]]` + "\n" + `[48, 2, {}, "fz.s"]`,
		`[48, 1, {"progress": true}, "fz.echo", [1]]` + "\n" + `[48, 1, {}, "fz.echo", [2]]`,
		`[64, 1, {}, "fz.s"]` + "\n" + `[48, 2, {"progress": true}, "fz.s"]` + "\n" + `[49, 2, {"mode": "kill"}]` + "\n" + `[48, 2, {"progress": true}, "fz.s"]`,
		// meta API, testaments, retention, passthru
		`[48, 1, {}, "wamp.registration.list", []]` + "\n" + `[48, 2, {}, "wamp.registration.lookup", ["fz.echo", {"match": 3}]]` + "\n" + `[48, 3, {}, "wamp.subscription.match", [null]]`,
		`[48, 1, {}, "wamp.registration.get", [1.5]]` + "\n" + `[48, 2, {}, "wamp.subscription.list", [-1]]` + "\n" + `[48, 3, {}, "wamp.registration.count_callees", []]`,
		`[48, 1, {}, "wamp.session.add_testament", ["fz.will", [1], {}, {"eligible": ["x"]}, "detached"]]` + "\n" + `[48, 2, {}, "wamp.session.flush_testaments", [7]]`,
		`[16, 1, {"retain": true}, "fz.r", [1]]` + "\n" + `[32, 2, {"get_retained": true, "match": "prefix"}, "fz"]`,
		`[48, 1, {"ppt_scheme": "x_fz"}, "fz.echo", ["\u0000AAE="]]` + "\n" + `[16, 2, {"ppt_scheme": "mqtt", "acknowledge": true}, "fz.t", ["\u0000AAE="]]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOnce.Do(func() {
			// The fuzzed session may do anything but the meta procedures
			// that end or strip other sessions: the check needs fz.echo.
			deny := AuthorizerFunc(func(_ context.Context, _ *SessionInfo, _ Action, uri string) error {
				if strings.HasPrefix(uri, "wamp.session.kill") || uri == protocol.MetaRegistrationRemoveCallee {
					return errors.New("reserved")
				}
				return nil
			})
			r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", Authorizer: deny}}, OutboundQueueSize: 64})
			if err != nil {
				panic(err)
			}
			fuzzRouter = r
			callee, _ := fuzzJoin(r)
			ctx := context.Background()
			// The procedure must be registered before the first input
			// runs: its check calls it.
			callee.Send(ctx, &protocol.Register{Request: 1, Procedure: "fz.echo"})
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := callee.Recv(rctx)
			cancel()
			if _, ok := m.(*protocol.Registered); !ok {
				panic(fmt.Sprintf("fuzz callee: got %T %v, want REGISTERED", m, err))
			}
			go func() {
				for {
					m, err := callee.Recv(ctx)
					if err != nil {
						return
					}
					if inv, ok := m.(*protocol.Invocation); ok {
						callee.Send(ctx, &protocol.Yield{Request: inv.Request, Args: inv.Args})
					}
				}
			}()
		})
		r := fuzzRouter
		c, done := fuzzJoin(r)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go func() { // drain whatever the router answers
			for {
				if _, err := c.Recv(ctx); err != nil {
					return
				}
			}
		}()
		for _, line := range bytes.Split(data, []byte("\n")) {
			m, err := protocol.JSON.Unmarshal(line)
			if err != nil {
				continue
			}
			if c.Send(ctx, m) != nil {
				break
			}
		}
		c.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end after its connection closed")
		}
		// the router still serves others
		p, pdone := fuzzJoin(r)
		defer func() { p.Close(); <-pdone }()
		p.Send(ctx, &protocol.Call{Request: 1, Procedure: "fz.echo", Args: protocol.List{"ping"}})
		m, err := p.Recv(ctx)
		if err != nil {
			t.Fatalf("router stopped serving: %v", err)
		}
		if res, ok := m.(*protocol.Result); !ok || len(res.Args) != 1 || res.Args[0] != "ping" {
			t.Fatalf("router answered %T %+v", m, m)
		}
	})
}

// fuzzJoin starts a session without the handshake; done closes when the
// router has finished with it.
func fuzzJoin(r *Router) (transport.Peer, chan struct{}) {
	a, b := transport.Pipe(nil)
	done := make(chan struct{})
	if !r.enter() {
		panic("router closed")
	}
	go func() {
		defer close(done)
		defer r.wg.Done()
		r.serveJoined(context.Background(), b, joinInfo{id: newID(), realm: "realm1", identity: auth.Identity{AuthID: "fz", AuthRole: "anonymous"}, hello: protocol.Dict{"roles": protocol.ClientRoles()}, transport: "pipe"})
	}()
	return a, done
}
