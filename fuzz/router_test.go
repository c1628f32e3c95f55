package fuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

const (
	fuzzRealm      = "fz"
	healthyProc    = "healthy.echo"
	healthyTopic   = "healthy.topic"
	fuzzSessions   = 3 // session i speaks serializers[i]
	roundTripLimit = 5 * time.Second
	endLimit       = 10 * time.Second
)

// healthy is the well-behaved side of FuzzRouterSessions: a callee and a
// subscriber, and a session that calls and publishes to them.
type healthy struct {
	r      *router.Router
	caller *session.Session
	events chan string
	seq    atomic.Int64
}

// healthyIDs are the sessions allowed to touch healthy.* URIs and the
// targets of the kill meta procedures: the fuzzed sessions may do anything
// else, but not unregister, kill or impersonate the healthy side, which
// would test the authorizer rather than the router.
var debugFrames = false

var healthyIDs sync.Map // protocol.ID -> true

func authorize(_ context.Context, s *router.SessionInfo, _ router.Action, uri string) error {
	if _, ok := healthyIDs.Load(s.ID); ok {
		return nil
	}
	if strings.HasPrefix(uri, "healthy.") || strings.HasPrefix(uri, "wamp.session.kill") ||
		uri == protocol.MetaRegistrationRemoveCallee || uri == protocol.MetaSubscriptionRemoveSubscriber {
		return errors.New("reserved for the healthy sessions")
	}
	return nil
}

func startHealthy(f *testing.F) *healthy {
	r, err := router.New(router.Config{
		Realms:            []router.RealmConfig{{Name: fuzzRealm, Authorizer: router.AuthorizerFunc(authorize)}},
		OutboundQueueSize: 64,
	})
	if err != nil {
		f.Fatal(err)
	}
	h := &healthy{r: r, events: make(chan string, 16)}
	ctx := context.Background()
	join := func(ser protocol.Serializer) *session.Session {
		c, s := transport.Pipe(ser)
		go r.ServePeer(ctx, s)
		jctx, cancel := context.WithTimeout(ctx, roundTripLimit)
		defer cancel()
		sess, err := session.Join(jctx, c, session.Config{Realm: fuzzRealm})
		if err != nil {
			f.Fatal(err)
		}
		healthyIDs.Store(sess.Info().Session, true)
		return sess
	}
	callee := join(protocol.CBOR)
	if _, err := callee.Register(ctx, healthyProc, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	}); err != nil {
		f.Fatal(err)
	}
	sub := join(protocol.MsgPack)
	if _, err := sub.Subscribe(ctx, healthyTopic, func(ev *session.Event) {
		if s, ok := ev.Arg(0).(string); ok {
			h.events <- s
		}
	}); err != nil {
		f.Fatal(err)
	}
	h.caller = join(protocol.JSON)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), endLimit)
		defer cancel()
		r.Close(ctx)
	})
	return h
}

// roundTrip is the health check: a call and an acknowledged publish whose
// event must arrive, each within roundTripLimit.
func (h *healthy) roundTrip() error {
	ctx, cancel := context.WithTimeout(context.Background(), roundTripLimit)
	defer cancel()
	token := fmt.Sprintf("t%d", h.seq.Add(1))
	res, err := h.caller.Call(ctx, healthyProc, protocol.List{token}, nil)
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	if res.Arg(0) != token {
		return fmt.Errorf("call returned %v, want %s", res.Args, token)
	}
	if err := h.caller.Publish(ctx, healthyTopic, protocol.List{token}, nil, session.Acknowledge(true)); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for {
		select {
		case got := <-h.events:
			if got == token {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("event %s not delivered: %w", token, ctx.Err())
		}
	}
}

// FuzzRouterSessions: see the package documentation. Record selectors pick
// the session (sel % 3); frames are in that session's serializer.
func FuzzRouterSessions(f *testing.F) {
	for _, seed := range routerSeeds() {
		f.Add(seed)
	}
	h := startHealthy(f)
	if err := h.roundTrip(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		leaktest.Guard(t)
		ctx, cancel := context.WithTimeout(context.Background(), endLimit)
		defer cancel()
		var peers [fuzzSessions]*wirePeer
		var served [fuzzSessions]chan struct{}
		for i := range peers {
			p := newWirePeer(serializers[i])
			peers[i], served[i] = p, make(chan struct{})
			go func() {
				defer close(served[i])
				h.r.ServePeer(ctx, p)
			}()
			go func() { // the client reads whatever the router sends
				for {
					b, ok := p.pull(ctx)
					if !ok {
						return
					}
					if debugFrames {
						m, err := p.ser.Unmarshal(b)
						t.Logf("session %d got %v %v", i, m, err)
					}
				}
			}()
			hello := frame(p.ser, &protocol.Hello{Realm: fuzzRealm, Details: protocol.Dict{"roles": protocol.ClientRoles()}})
			if !p.push(ctx, hello) {
				t.Fatalf("session %d: HELLO not read", i)
			}
		}
		for _, rec := range records(data) {
			peers[int(rec.sel)%fuzzSessions].push(ctx, rec.frame) // false once the router ended it
		}
		if err := h.roundTrip(); err != nil {
			t.Fatalf("healthy session broken after the input: %v", err)
		}
		for i, p := range peers {
			p.Close()
			select {
			case <-served[i]:
			case <-time.After(endLimit):
				t.Fatalf("session %d: the router still serves a closed connection", i)
			}
		}
	})
}

// routerSeeds are conversations a client could have, in each serializer,
// plus foreign quirks (nulls, tags, passthru) and violations.
func routerSeeds() [][]byte {
	var seeds [][]byte
	for i, s := range serializers {
		sel := byte(i)
		r := func(m protocol.Message) record { return record{sel: sel, frame: frame(s, m)} }
		seeds = append(seeds,
			encodeRecords(
				r(&protocol.Register{Request: 1, Procedure: "fz.p"}),
				r(&protocol.Call{Request: 2, Procedure: "fz.p", Args: protocol.List{int64(1)}}),
				r(&protocol.Yield{Request: 1, Args: protocol.List{int64(2)}}),
			),
			encodeRecords(
				r(&protocol.Subscribe{Request: 1, Options: protocol.Dict{"match": "prefix"}, Topic: "fz"}),
				r(&protocol.Publish{Request: 2, Options: protocol.Dict{"acknowledge": true, "exclude_me": false}, Topic: "fz.t", Args: protocol.List{"x"}}),
				r(&protocol.Unsubscribe{Request: 3, Subscription: 1}),
			),
			encodeRecords(
				r(&protocol.Call{Request: 1, Options: protocol.Dict{"receive_progress": true, "timeout": int64(1)}, Procedure: healthyProc, Args: protocol.List{"x"}}),
				r(&protocol.Cancel{Request: 1, Options: protocol.Dict{"mode": "kill"}}),
				r(&protocol.Call{Request: 2, Procedure: protocol.MetaSessionList}),
				r(&protocol.Call{Request: 3, Procedure: protocol.MetaSessionKill, Args: protocol.List{int64(1)}}),
			),
			encodeRecords(
				r(&protocol.Publish{Request: 1, Options: protocol.Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor"}, Topic: "fz.t", Args: protocol.List{[]byte{1}}}),
				r(&protocol.Publish{Request: 2, Options: protocol.Dict{"enc_algo": "cryptobox"}, Topic: "fz.t", Args: protocol.List{[]byte{2}}}),
				r(&protocol.Goodbye{Details: protocol.Dict{}, Reason: protocol.URICloseNormal}),
			),
		)
	}
	// Interleaved: session 0 registers, session 1 calls, session 2 subscribes
	// and session 0 leaves mid-call.
	seeds = append(seeds, encodeRecords(
		record{0, frame(protocol.JSON, &protocol.Register{Request: 1, Procedure: "fz.shared", Options: protocol.Dict{"invoke": "roundrobin"}})},
		record{2, frame(protocol.CBOR, &protocol.Subscribe{Request: 1, Topic: "fz.t"})},
		record{1, frame(protocol.MsgPack, &protocol.Call{Request: 1, Procedure: "fz.shared"})},
		record{1, frame(protocol.MsgPack, &protocol.Publish{Request: 2, Topic: "fz.t", Args: protocol.List{"x"}})},
		record{0, frame(protocol.JSON, &protocol.Goodbye{Details: protocol.Dict{}, Reason: protocol.URICloseNormal})},
	))
	// Foreign quirks and violations, as raw JSON.
	for _, raw := range []string{
		`[48,1,{},"healthy.echo",["x"],null]`,
		`[16,1,{"acknowledge":1},"fz.t"]`,
		`[16,1,{"acknowledge":true},"fz.t","\u0000AQI="]`,
		`[70,99,{},null,null]`,
		`[1,"fz",{}]`,
		`[64,1,{"match":"wildcard"},"fz..x"]`,
		`[8,68,1,{},"wamp.error.x",[],{}]`,
	} {
		seeds = append(seeds, encodeRecords(record{0, []byte(raw)}))
	}
	// CBOR tag 64 as autobahn-js sends it.
	seeds = append(seeds, encodeRecords(record{2, []byte("\x85\x10\x01\xa1\x6backnowledge\xf5\x64fz.t\x81\xd8\x40\x43\x01\x02\x03")}))
	return seeds
}
