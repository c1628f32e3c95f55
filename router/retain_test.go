package router_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Event retention and testaments, over real sockets.

func TestEventRetention(t *testing.T) {
	_, ep := serveAll(t, router.Config{Realms: []router.RealmConfig{{Name: testRealm, Authenticators: []auth.Authenticator{anyTicket}}}})
	ctx := ctxT(t)
	pub := dialJoinCfg(t, ep.ws, protocol.CBOR, 0, ticketCfg("pub", "backend"))
	for i := range 3 {
		if err := pub.Publish(ctx, "ret.a", protocol.List{i}, nil, session.Acknowledge(true), session.WithOption("retain", true)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, "ret.b", protocol.List{"b"}, protocol.Dict{"k": "v"}, session.Acknowledge(true), session.WithOption("retain", true), session.DiscloseMe()); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "ret.c", protocol.List{"not retained"}, nil, session.Acknowledge(true)); err != nil {
		t.Fatal(err)
	}

	sub := dialJoinCfg(t, ep.tcp, protocol.JSON, 0, ticketCfg("alice", "frontend"))
	subID := sub.Info().Session
	t.Run("exact", func(t *testing.T) {
		log := newEventLog()
		if _, err := sub.Subscribe(ctx, "ret.a", log.handler, session.WithOption("get_retained", true)); err != nil {
			t.Fatal(err)
		}
		evs := settleMarked(t, log, sub, "ret.a", 1)
		if len(evs) != 1 || fmt.Sprint(evs[0].Args) != "[2]" || evs[0].Details["retained"] != true {
			t.Fatalf("retained events %v", evs)
		}
		// a live event is not flagged
		if err := pub.Publish(ctx, "ret.a", protocol.List{3}, nil, session.Acknowledge(true)); err != nil {
			t.Fatal(err)
		}
		evs = settleMarked(t, log, sub, "ret.a", 1)
		if _, flagged := evs[0].Details["retained"]; flagged || fmt.Sprint(evs[0].Args) != "[3]" {
			t.Fatalf("live event %+v", evs[0])
		}
	})
	t.Run("without-get_retained", func(t *testing.T) {
		log := newEventLog()
		if _, err := sub.Subscribe(ctx, "ret.b", log.handler); err != nil {
			t.Fatal(err)
		}
		if err := sub.Publish(ctx, "ret.sync", nil, nil, session.Acknowledge(true)); err != nil {
			t.Fatal(err)
		}
		if evs := log.take(); len(evs) != 0 {
			t.Fatalf("retained event sent without get_retained: %v", evs)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		log := newEventLog()
		if _, err := sub.Subscribe(ctx, "ret.", log.handler, session.Match("prefix"), session.WithOption("get_retained", true)); err != nil {
			t.Fatal(err)
		}
		got := map[string]*session.Event{}
		for _, ev := range settleMarked(t, log, sub, "ret.zz", 2) {
			got[ev.Topic] = ev
		}
		b := got["ret.b"]
		if len(got) != 2 || got["ret.a"] == nil || b == nil || b.Details["retained"] != true ||
			fmt.Sprint(b.Details["publisher"]) != fmt.Sprint(pub.Info().Session) || b.Kwargs["k"] != "v" {
			t.Fatalf("retained events for the prefix: %v", got)
		}
	})
	t.Run("eligibility", func(t *testing.T) {
		// A restricted event does not replace the event for everybody:
		// each subscriber gets the latest one meant for it.
		if err := pub.Publish(ctx, "ret.e", protocol.List{"all"}, nil, session.Acknowledge(true), session.WithOption("retain", true)); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, "ret.e", protocol.List{"alice only"}, nil, session.Acknowledge(true), session.WithOption("retain", true), session.Eligible(subID)); err != nil {
			t.Fatal(err)
		}
		other := dialJoinCfg(t, ep.unix, protocol.MsgPack, 0, ticketCfg("bob", "frontend"))
		for _, c := range []struct {
			s    *session.Session
			want string
		}{{sub, "[alice only]"}, {other, "[all]"}} {
			log := newEventLog()
			if _, err := c.s.Subscribe(ctx, "ret.e", log.handler, session.WithOption("get_retained", true)); err != nil {
				t.Fatal(err)
			}
			if evs := settleMarked(t, log, c.s, "ret.e", 1); len(evs) != 1 || fmt.Sprint(evs[0].Args) != c.want {
				t.Fatalf("%s got %v, want %s", c.s.Info().AuthID, evs, c.want)
			}
		}
	})
}

// dialJoinPeer is dialJoinCfg that also returns the transport, so that a
// test can drop the connection without GOODBYE.
func dialJoinPeer(t *testing.T, url string, ser protocol.Serializer, cfg session.Config) (*session.Session, transport.Peer) {
	t.Helper()
	ctx := ctxT(t)
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}})
	if err != nil {
		t.Fatal(err)
	}
	return joinPeer(t, ctx, p, url, cfg), p
}

func TestTestaments(t *testing.T) {
	_, ep := serveAll(t, router.Config{})
	ctx := ctxT(t)
	watcher := dialJoin(t, ep.ws, protocol.JSON, 0)
	log := newEventLog()
	if _, err := watcher.Subscribe(ctx, "will.", log.handler, session.Match("prefix")); err != nil {
		t.Fatal(err)
	}
	add := func(s *session.Session, topic string, args protocol.List, kw protocol.Dict) {
		t.Helper()
		if _, err := s.Call(ctx, "wamp.session.add_testament", protocol.List{topic, args, protocol.Dict{}}, kw); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		end  func(s *session.Session, p transport.Peer)
	}{
		{"goodbye", func(s *session.Session, _ transport.Peer) { s.Close(ctx) }},
		{"transport-lost", func(_ *session.Session, p transport.Peer) { p.Close() }},
	} {
		for _, url := range []string{ep.ws, ep.tcp} {
			t.Run(tc.name, func(t *testing.T) {
				s, p := dialJoinPeer(t, url, protocol.CBOR, session.Config{})
				add(s, "will.destroyed", protocol.List{"d1"}, nil)
				add(s, "will.detached", protocol.List{"x1"}, protocol.Dict{"scope": "detached"})
				add(s, "will.destroyed", protocol.List{"d2"}, protocol.Dict{"publish_options": protocol.Dict{"exclude_me": true, "acknowledge": true}})
				add(s, "will.flushed", protocol.List{"f"}, protocol.Dict{"scope": "detached"})
				if res, err := s.Call(ctx, "wamp.session.add_testament", protocol.List{"will.flushed", nil, nil}, protocol.Dict{"scope": "nope"}); err == nil {
					t.Fatalf("bad scope accepted: %v", res)
				}
				// flush the detached ones, add one back
				res, err := s.Call(ctx, "wamp.session.flush_testaments", protocol.List{"detached"}, nil)
				if err != nil || fmt.Sprint(res.Arg(0)) != "2" {
					t.Fatalf("flush: %v %v", res, err)
				}
				add(s, "will.detached", protocol.List{"x2"}, protocol.Dict{"scope": "detached"})
				tc.end(s, p)
				var got []string
				for _, ev := range settleMarked(t, log, watcher, "will.zz", 3) {
					got = append(got, ev.Topic+fmt.Sprint(ev.Args))
				}
				if want := "[will.detached[x2] will.destroyed[d1] will.destroyed[d2]]"; fmt.Sprint(got) != want {
					t.Fatalf("testaments %v, want %s", got, want)
				}
			})
		}
	}
	t.Run("limits", func(t *testing.T) {
		s := dialJoin(t, ep.unix, protocol.MsgPack, 0)
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			_, err = s.Call(ctx, "wamp.session.add_testament", protocol.List{"will.many", protocol.List{i}, nil}, nil)
		}
		var we *session.Error
		if !errors.As(err, &we) || we.URI != "wamp.error.testament_error" {
			t.Fatalf("after many testaments: %v", err)
		}
		if _, err := s.Call(ctx, "wamp.session.flush_testaments", nil, nil); err != nil {
			t.Fatal(err)
		}
	})
}
