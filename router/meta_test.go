package router_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// The registration, subscription and session-kill meta API, over real
// sockets (WebSocket and RawSocket, the three serializers).

// metaEvent is one meta event in a comparable form: topic and arguments
// with every id printed.
type metaEvent struct {
	Topic string
	Args  string
}

func metaEvents(evs []*session.Event) []metaEvent {
	out := make([]metaEvent, len(evs))
	for i, ev := range evs {
		args := ev.Args
		if len(args) == 2 {
			if d, ok := args[1].(protocol.Dict); ok {
				// RegistrationDetails / SubscriptionDetails: drop the
				// creation time, checked separately.
				c := protocol.Dict{}
				for k, v := range d {
					if k != "created" {
						c[k] = fmt.Sprint(v)
					}
				}
				args = protocol.List{args[0], c}
			}
		}
		out[i] = metaEvent{ev.Topic, fmt.Sprint(args)}
	}
	return out
}

func ids(l ...protocol.ID) string { return fmt.Sprint(l) }

func callArg(t *testing.T, s *session.Session, proc string, args ...any) any {
	t.Helper()
	res, err := s.Call(ctxT(t), proc, protocol.List(args), nil)
	if err != nil {
		t.Fatalf("%s%v: %v", proc, args, err)
	}
	return res.Arg(0)
}

func callErr(t *testing.T, s *session.Session, proc string, args ...any) string {
	t.Helper()
	_, err := s.Call(ctxT(t), proc, protocol.List(args), nil)
	var we *session.Error
	if !errors.As(err, &we) {
		t.Fatalf("%s%v: %v, want an ERROR", proc, args, err)
	}
	return we.URI
}

func TestRegistrationMetaAPI(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	watcher := dialJoin(t, ep.ws, protocol.JSON, 0)
	a := dialJoin(t, ep.tcp, protocol.MsgPack, 0)
	b := dialJoin(t, ep.unix, protocol.CBOR, 0)
	log := newEventLog()
	if _, err := watcher.Subscribe(ctx, "wamp.registration.", log.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	aID, bID := a.Info().Session, b.Info().Session
	ra, err := a.Register(ctx, "m.shared", echo, session.Invoke("roundrobin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(ctx, "m.shared", echo, session.Invoke("roundrobin")); err != nil {
		t.Fatal(err)
	}
	rp, err := b.Register(ctx, "m.pre.", echo, session.Match("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	id := ra.ID
	evs := settleMarked(t, log, watcher, "wamp.registration.zz", 5)
	want := []metaEvent{
		{"wamp.registration.on_create", fmt.Sprint(protocol.List{aID, protocol.Dict{"id": fmt.Sprint(id), "uri": "m.shared", "match": "exact", "invoke": "roundrobin"}})},
		{"wamp.registration.on_register", ids(aID, id)},
		{"wamp.registration.on_register", ids(bID, id)},
		{"wamp.registration.on_create", fmt.Sprint(protocol.List{bID, protocol.Dict{"id": fmt.Sprint(rp.ID), "uri": "m.pre.", "match": "prefix", "invoke": "single"}})},
		{"wamp.registration.on_register", ids(bID, rp.ID)},
	}
	if diff := cmp.Diff(want, metaEvents(evs)); diff != "" {
		t.Fatalf("meta events (-want +got):\n%s", diff)
	}

	list := callArg(t, watcher, "wamp.registration.list").(protocol.Dict)
	if fmt.Sprint(list["exact"]) != ids(id) || fmt.Sprint(list["prefix"]) != ids(rp.ID) || fmt.Sprint(list["wildcard"]) != "[]" {
		t.Fatalf("list %v (wamp.* procedures must be hidden)", list)
	}
	if got := callArg(t, watcher, "wamp.registration.list", bID).(protocol.Dict); fmt.Sprint(got["exact"]) != ids(id) || fmt.Sprint(got["prefix"]) != ids(rp.ID) {
		t.Fatalf("list for session b %v", got)
	}
	if uri := callErr(t, watcher, "wamp.registration.list", protocol.ID(12345)); uri != "wamp.error.no_such_session" {
		t.Fatalf("list for an unknown session: %s", uri)
	}
	for _, tc := range []struct {
		proc string
		args []any
		want any
	}{
		{"wamp.registration.lookup", []any{"m.shared"}, id},
		{"wamp.registration.lookup", []any{"m.pre.", protocol.Dict{"match": "prefix"}}, rp.ID},
		{"wamp.registration.lookup", []any{"m.pre."}, nil},
		{"wamp.registration.lookup", []any{"wamp.session.count"}, nil},
		{"wamp.registration.match", []any{"m.shared"}, id},
		{"wamp.registration.match", []any{"m.pre.x.y"}, rp.ID},
		{"wamp.registration.match", []any{"m.none"}, nil},
		{"wamp.registration.count_callees", []any{id}, 2},
	} {
		if got := callArg(t, watcher, tc.proc, tc.args...); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s%v = %v, want %v", tc.proc, tc.args, got, tc.want)
		}
	}
	if got := callArg(t, watcher, "wamp.registration.list_callees", id); fmt.Sprint(got) != fmt.Sprint(sortedIDs(aID, bID)) {
		t.Errorf("list_callees %v", got)
	}
	d := callArg(t, watcher, "wamp.registration.get", id).(protocol.Dict)
	created, _ := d["created"].(string)
	if ts, err := time.Parse(time.RFC3339Nano, created); err != nil || time.Since(ts) > time.Minute || d["uri"] != "m.shared" || d["invoke"] != "roundrobin" {
		t.Fatalf("get %v (created: %v)", d, err)
	}
	for _, tc := range []struct {
		proc string
		args []any
		uri  string
	}{
		{"wamp.registration.get", []any{protocol.ID(999)}, "wamp.error.no_such_registration"},
		{"wamp.registration.get", []any{"x"}, "wamp.error.invalid_argument"},
		{"wamp.registration.list_callees", nil, "wamp.error.invalid_argument"},
		{"wamp.registration.lookup", []any{"m.x", protocol.Dict{"match": "bogus"}}, "wamp.error.invalid_argument"},
	} {
		if got := callErr(t, watcher, tc.proc, tc.args...); got != tc.uri {
			t.Errorf("%s%v: %s, want %s", tc.proc, tc.args, got, tc.uri)
		}
	}

	// Unregister, then leave: on_unregister, and on_delete with the last callee.
	if err := b.Unregister(ctx, rp); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	evs = settleMarked(t, log, watcher, "wamp.registration.zz", 3)
	got := metaEvents(evs)
	// b's shared registration goes when b leaves.
	want = []metaEvent{
		{"wamp.registration.on_unregister", ids(bID, rp.ID)},
		{"wamp.registration.on_delete", ids(bID, rp.ID)},
		{"wamp.registration.on_unregister", ids(bID, id)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("meta events (-want +got):\n%s", diff)
	}
	a.Close(ctx)
	evs = settleMarked(t, log, watcher, "wamp.registration.zz", 2)
	want = []metaEvent{
		{"wamp.registration.on_unregister", ids(aID, id)},
		{"wamp.registration.on_delete", ids(aID, id)},
	}
	if diff := cmp.Diff(want, metaEvents(evs)); diff != "" {
		t.Fatalf("meta events (-want +got):\n%s", diff)
	}
	if uri := callErr(t, watcher, "wamp.registration.get", id); uri != "wamp.error.no_such_registration" {
		t.Fatalf("get after delete: %s", uri)
	}
}

func sortedIDs(l ...protocol.ID) []protocol.ID {
	if len(l) == 2 && l[0] > l[1] {
		l[0], l[1] = l[1], l[0]
	}
	return l
}

func TestSubscriptionMetaAPI(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	watcher := dialJoin(t, ep.ws, protocol.CBOR, 0)
	a := dialJoin(t, ep.ws, protocol.MsgPack, 0)
	b := dialJoin(t, ep.tcp, protocol.JSON, 0)
	log := newEventLog()
	if _, err := watcher.Subscribe(ctx, "wamp.subscription.", log.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	aID, bID := a.Info().Session, b.Info().Session
	nop := func(*session.Event) {}
	sa, err := a.Subscribe(ctx, "m.topic", nop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "m.topic", nop); err != nil {
		t.Fatal(err)
	}
	sw, err := b.Subscribe(ctx, "m..topic", nop, session.Match("wildcard"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := b.Subscribe(ctx, "m.", nop, session.Match("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	id := sa.ID
	want := []metaEvent{
		{"wamp.subscription.on_create", fmt.Sprint(protocol.List{aID, protocol.Dict{"id": fmt.Sprint(id), "uri": "m.topic", "match": "exact"}})},
		{"wamp.subscription.on_subscribe", ids(aID, id)},
		{"wamp.subscription.on_subscribe", ids(bID, id)},
		{"wamp.subscription.on_create", fmt.Sprint(protocol.List{bID, protocol.Dict{"id": fmt.Sprint(sw.ID), "uri": "m..topic", "match": "wildcard"}})},
		{"wamp.subscription.on_subscribe", ids(bID, sw.ID)},
		{"wamp.subscription.on_create", fmt.Sprint(protocol.List{bID, protocol.Dict{"id": fmt.Sprint(sp.ID), "uri": "m.", "match": "prefix"}})},
		{"wamp.subscription.on_subscribe", ids(bID, sp.ID)},
	}
	if diff := cmp.Diff(want, metaEvents(settleMarked(t, log, watcher, "wamp.subscription.zz", len(want)))); diff != "" {
		t.Fatalf("meta events (-want +got):\n%s", diff)
	}
	list := callArg(t, watcher, "wamp.subscription.list").(protocol.Dict)
	if fmt.Sprint(list["exact"]) != ids(id) || fmt.Sprint(list["prefix"]) != ids(sp.ID) || fmt.Sprint(list["wildcard"]) != ids(sw.ID) {
		t.Fatalf("list %v (the watcher's wamp.* subscription must be hidden)", list)
	}
	for _, tc := range []struct {
		proc string
		args []any
		want any
	}{
		{"wamp.subscription.lookup", []any{"m.topic"}, id},
		{"wamp.subscription.lookup", []any{"m..topic", protocol.Dict{"match": "wildcard"}}, sw.ID},
		{"wamp.subscription.lookup", []any{"m.nothing"}, nil},
		{"wamp.subscription.match", []any{"m.topic"}, fmt.Sprint(sortedN(id, sp.ID))},
		{"wamp.subscription.match", []any{"m.x.topic"}, fmt.Sprint(sortedN(sw.ID, sp.ID))},
		{"wamp.subscription.match", []any{"other"}, nil},
		{"wamp.subscription.count_subscribers", []any{id}, 2},
		{"wamp.subscription.list_subscribers", []any{id}, fmt.Sprint(sortedIDs(aID, bID))},
	} {
		if got := callArg(t, watcher, tc.proc, tc.args...); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s%v = %v, want %v", tc.proc, tc.args, got, tc.want)
		}
	}
	if d := callArg(t, watcher, "wamp.subscription.get", sw.ID).(protocol.Dict); d["uri"] != "m..topic" || d["match"] != "wildcard" || d["created"] == nil {
		t.Fatalf("get %v", d)
	}
	if uri := callErr(t, watcher, "wamp.subscription.get", protocol.ID(4242)); uri != "wamp.error.no_such_subscription" {
		t.Fatalf("get unknown: %s", uri)
	}
	if err := a.Unsubscribe(ctx, sa); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	got := metaEvents(settleMarked(t, log, watcher, "wamp.subscription.zz", 6))
	if got[0] != (metaEvent{"wamp.subscription.on_unsubscribe", ids(aID, id)}) {
		t.Fatalf("first event after unsubscribe %v", got[0])
	}
	deletes := 0
	for _, e := range got[1:] {
		if e.Topic == "wamp.subscription.on_delete" {
			deletes++
		}
	}
	if deletes != 3 {
		t.Fatalf("b leaving: %v, want three on_unsubscribe and three on_delete", got[1:])
	}
}

func sortedN(l ...protocol.ID) []protocol.ID {
	for i := range l {
		for j := i + 1; j < len(l); j++ {
			if l[j] < l[i] {
				l[i], l[j] = l[j], l[i]
			}
		}
	}
	return l
}

func TestRemoveSubscriberAndCalleeRevoke(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	admin := dialJoin(t, ep.ws, protocol.JSON, 0)
	unsubscribed := make(chan string, 1)
	unregistered := make(chan string, 1)
	victim := dialJoinCfg(t, ep.tcp, protocol.CBOR, 0, session.Config{
		OnUnsubscribed: func(sub *session.Subscription, reason string) { unsubscribed <- sub.Topic + " " + reason },
		OnUnregistered: func(reg *session.Registration, reason string) { unregistered <- reg.Procedure + " " + reason },
	})
	sub, err := victim.Subscribe(ctx, "r.topic", func(*session.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := victim.Register(ctx, "r.proc", echo)
	if err != nil {
		t.Fatal(err)
	}
	vid := victim.Info().Session
	callArg(t, admin, "wamp.subscription.remove_subscriber", sub.ID, vid, "app.removed")
	callArg(t, admin, "wamp.registration.remove_callee", reg.ID, vid)
	for _, c := range []struct {
		ch   chan string
		want string
	}{{unsubscribed, "r.topic app.removed"}, {unregistered, "r.proc "}} {
		select {
		case got := <-c.ch:
			if got != c.want {
				t.Errorf("revocation %q, want %q", got, c.want)
			}
		case <-ctx.Done():
			t.Fatalf("no revocation (want %q)", c.want)
		}
	}
	if uri := callErr(t, admin, "wamp.subscription.remove_subscriber", sub.ID, vid); uri != "wamp.error.no_such_subscription" {
		t.Fatalf("second remove: %s", uri)
	}
	if _, err := admin.Call(ctx, "r.proc", nil, nil); !errors.Is(err, session.ErrNoSuchProcedure) {
		t.Fatalf("call after remove_callee: %v", err)
	}
}

func TestSessionKill(t *testing.T) {
	_, ep := serveAll(t, router.Config{Realms: []router.RealmConfig{{Name: testRealm, Authenticators: []auth.Authenticator{anyTicket}}}})
	ctx := ctxT(t)
	admin := dialJoinCfg(t, ep.ws, protocol.JSON, 0, ticketCfg("admin", "backend"))
	// The router adds a session to the realm just after WELCOME: wait for
	// on_join (and on_leave below) rather than racing with it.
	joins, leaves := newEventLog(), newEventLog()
	if _, err := admin.Subscribe(ctx, "wamp.session.on_join", joins.handler); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Subscribe(ctx, "wamp.session.on_leave", leaves.handler); err != nil {
		t.Fatal(err)
	}
	v1 := dialJoinCfg(t, ep.tcp, protocol.MsgPack, 0, ticketCfg("alice", "frontend"))
	v2 := dialJoinCfg(t, ep.unix, protocol.CBOR, 0, ticketCfg("alice", "frontend"))
	v3 := dialJoinCfg(t, ep.ws, protocol.CBOR, 0, ticketCfg("bob", "frontend"))
	other := dialJoinCfg(t, ep.ws, protocol.MsgPack, 0, ticketCfg("carol", "backend"))
	joins.wait(t, 4)

	closedWith := func(s *session.Session, reason, message string) {
		t.Helper()
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("killed session still running")
		}
		var we *session.Error
		if !errors.Is(s.Err(), session.ErrSessionClosed) || !errors.As(s.Err(), &we) || we.URI != reason {
			t.Fatalf("session ended with %v, want GOODBYE %s", s.Err(), reason)
		}
		if message != "" && (len(we.Args) == 0 || we.Args[0] != message) {
			t.Fatalf("GOODBYE message %v, want %q", we.Args, message)
		}
	}

	if uri := callErr(t, admin, "wamp.session.kill", admin.Info().Session); uri != "wamp.error.no_such_session" {
		t.Fatalf("killing oneself: %s", uri)
	}
	if uri := callErr(t, admin, "wamp.session.kill", protocol.ID(77)); uri != "wamp.error.no_such_session" {
		t.Fatalf("killing an unknown session: %s", uri)
	}
	if _, err := admin.Call(ctx, "wamp.session.kill", protocol.List{v3.Info().Session}, protocol.Dict{"message": "bye bob"}); err != nil {
		t.Fatal(err)
	}
	closedWith(v3, "wamp.close.killed", "bye bob")

	got := callArg(t, admin, "wamp.session.kill_by_authid", "alice", "app.kicked", "maintenance")
	if fmt.Sprint(got) != fmt.Sprint(sortedIDs(v1.Info().Session, v2.Info().Session)) {
		t.Fatalf("kill_by_authid returned %v", got)
	}
	closedWith(v1, "app.kicked", "maintenance")
	closedWith(v2, "app.kicked", "maintenance")

	// kill_by_authrole spares the caller.
	got = callArg(t, admin, "wamp.session.kill_by_authrole", "backend")
	if fmt.Sprint(got) != fmt.Sprint([]protocol.ID{other.Info().Session}) {
		t.Fatalf("kill_by_authrole returned %v", got)
	}
	closedWith(other, "wamp.close.killed", "")
	leaves.wait(t, 4)
	if n := callArg(t, admin, "wamp.session.count"); fmt.Sprint(n) != "1" {
		t.Fatalf("sessions left: %v", n)
	}
	if uri := callErr(t, admin, "wamp.session.kill_by_authid", "x", "not a uri"); uri != "wamp.error.invalid_uri" {
		t.Fatalf("bad reason: %s", uri)
	}
}

// settleMarked is eventLog.settle for sessions on real sockets (outside a
// synctest bubble): it waits for n events, then has s publish a marker to
// topic, which the logged subscription must match, and waits for it. Events
// the router queued before the marker are in the log by then, so an
// unexpected extra one is seen. It returns the events before the marker.
func settleMarked(t *testing.T, l *eventLog, s *session.Session, topic string, n int) []*session.Event {
	t.Helper()
	l.wait(t, n)
	if err := s.Publish(ctxT(t), topic, nil, protocol.Dict{"settle-marker": true}, session.ExcludeMe(false), session.Acknowledge(true)); err != nil {
		t.Fatalf("marker: %v", err)
	}
	for want := n + 1; ; want++ {
		l.wait(t, want)
		l.mu.Lock()
		last := l.ev[len(l.ev)-1]
		l.mu.Unlock()
		if last.Kwargs["settle-marker"] == true {
			evs := l.take()
			return evs[:len(evs)-1]
		}
	}
}
