package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

func startJoin(t *testing.T, cfg session.Config) (<-chan result[*session.Session], *fakeRouter) {
	t.Helper()
	a, b := transport.Pipe(nil)
	t.Cleanup(func() { b.Close() })
	r := &fakeRouter{t: t, p: b}
	ch := async(func() (*session.Session, error) {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		return session.Join(ctx, a, cfg)
	})
	return ch, r
}

func TestJoinHelloAndWelcome(t *testing.T) {
	checkLeaks(t)
	ch, r := startJoin(t, session.Config{Realm: "realm1", AuthID: "alice", AuthExtra: protocol.Dict{"k": "v"}})
	h := expect[*protocol.Hello](r)
	if h.Realm != "realm1" {
		t.Errorf("realm %q", h.Realm)
	}
	want := protocol.Dict{
		"agent":       "izaber-wamp-go",
		"authid":      "alice",
		"authmethods": protocol.List{"anonymous"},
		"authextra":   protocol.Dict{"k": "v"},
		"roles": protocol.Dict{
			"caller": protocol.Dict{"features": protocol.Dict{
				"progressive_call_results": true, "call_canceling": true, "caller_identification": true,
				"progressive_call_invocations": true, "payload_passthru_mode": true}},
			"callee": protocol.Dict{"features": protocol.Dict{
				"progressive_call_results": true, "call_canceling": true, "pattern_based_registration": true,
				"shared_registration": true, "caller_identification": true, "registration_revocation": true,
				"progressive_call_invocations": true, "payload_passthru_mode": true}},
			"publisher": protocol.Dict{"features": protocol.Dict{
				"publisher_exclusion": true, "publisher_identification": true, "subscriber_blackwhite_listing": true,
				"payload_passthru_mode": true}},
			"subscriber": protocol.Dict{"features": protocol.Dict{
				"pattern_based_subscription": true, "publisher_identification": true, "subscription_revocation": true,
				"payload_passthru_mode": true}},
		},
	}
	if d := cmp.Diff(want, h.Details); d != "" {
		t.Errorf("HELLO.Details (-want +got):\n%s", d)
	}
	r.send(welcome(77))
	s, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	info := s.Info()
	if info.Session != 77 || info.Realm != "realm1" || info.AuthID != "alice" || info.AuthRole != "user" ||
		info.AuthMethod != "anonymous" || info.AuthProvider != "static" || info.AuthExtra["x_cb_node"] != "n1" {
		t.Errorf("Info = %+v", info)
	}
	closeWithGoodbye(t, s, r, "wamp.close.goodbye_and_out")
	if !errors.Is(s.Err(), session.ErrSessionClosed) {
		t.Errorf("Err() = %v", s.Err())
	}
	r.recvClosed()
}

// multiRound is a fakeMethod that declares one round per answer.
type multiRound struct{ *fakeMethod }

func (m multiRound) Rounds() int { return len(m.answers) }

func TestJoinAuthMultiRound(t *testing.T) {
	checkLeaks(t)
	ticket := &fakeMethod{name: "ticket", answers: []string{"secret-ticket"}}
	otp := &fakeMethod{name: "x-otp", extra: protocol.Dict{"pubkey": "abcd"}, answers: []string{"111", "222"}}
	ch, r := startJoin(t, session.Config{Realm: "realm1", AuthID: "bob", Auth: []auth.ClientMethod{ticket, multiRound{otp}},
		AuthExtra: protocol.Dict{"pubkey": "overridden", "a": int64(1)}})
	h := expect[*protocol.Hello](r)
	if d := cmp.Diff(protocol.List{"ticket", "x-otp"}, h.Details["authmethods"]); d != "" {
		t.Errorf("authmethods: %s", d)
	}
	if d := cmp.Diff(protocol.Dict{"pubkey": "abcd", "a": int64(1)}, h.Details["authextra"]); d != "" {
		t.Errorf("authextra: %s", d)
	}
	r.send(&protocol.Challenge{AuthMethod: "x-otp", Extra: protocol.Dict{}})
	if a := expect[*protocol.Authenticate](r); a.Signature != "111" {
		t.Errorf("round 1 signature %q", a.Signature)
	}
	r.send(&protocol.Challenge{AuthMethod: "x-otp", Extra: protocol.Dict{}})
	if a := expect[*protocol.Authenticate](r); a.Signature != "222" {
		t.Errorf("round 2 signature %q", a.Signature)
	}
	r.send(welcome(5))
	s, err := wait(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	closeWithGoodbye(t, s, r, "wamp.close.normal")
}

// A router that challenges again gets ABORT at once and no second answer:
// a second CHALLENGE for a single-round method, one beyond a multi-round
// method's rounds, or one for another method after an answer (which would
// make the client hand over a second secret).
func TestJoinSecondChallengeFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		methods []auth.ClientMethod
		order   []string // methods challenged, in order; the last must be refused
	}{
		{"ticket twice", []auth.ClientMethod{&fakeMethod{name: "ticket", answers: []string{"t1", "t2"}}}, []string{"ticket", "ticket"}},
		{"beyond its rounds", []auth.ClientMethod{multiRound{&fakeMethod{name: "x-otp", answers: []string{"1", "2"}}}}, []string{"x-otp", "x-otp", "x-otp"}},
		{"another method", []auth.ClientMethod{
			&fakeMethod{name: "wampcra", answers: []string{"sig"}},
			&fakeMethod{name: "ticket", answers: []string{"secret-ticket"}},
		}, []string{"wampcra", "ticket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			ch, r := startJoin(t, session.Config{Realm: "realm1", AuthID: "bob", Auth: tc.methods})
			expect[*protocol.Hello](r)
			for _, m := range tc.order[:len(tc.order)-1] {
				r.send(&protocol.Challenge{AuthMethod: m, Extra: protocol.Dict{}})
				expect[*protocol.Authenticate](r)
			}
			last := tc.order[len(tc.order)-1]
			r.send(&protocol.Challenge{AuthMethod: last, Extra: protocol.Dict{}})
			msgs := r.recvClosed()
			if len(msgs) != 1 {
				t.Fatalf("after the extra CHALLENGE got %d messages, want one ABORT: %v", len(msgs), msgs)
			}
			if ab, ok := msgs[0].(*protocol.Abort); !ok || ab.Reason != "wamp.error.protocol_violation" {
				t.Fatalf("got %+v, want ABORT protocol_violation", msgs[0])
			}
			_, err := wait(t, ch)
			if !errors.Is(err, session.ErrProtocolViolation) || !strings.Contains(err.Error(), "CHALLENGE") ||
				strings.Contains(err.Error(), "secret-ticket") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestJoinChallengeForMethodNotOffered(t *testing.T) {
	checkLeaks(t)
	ticket := &fakeMethod{name: "ticket", answers: []string{"secret-ticket"}}
	ch, r := startJoin(t, session.Config{Realm: "realm1", AuthID: "bob", Auth: []auth.ClientMethod{ticket}})
	expect[*protocol.Hello](r)
	r.send(&protocol.Challenge{AuthMethod: "wampcra", Extra: protocol.Dict{"challenge": "x"}})
	msgs := r.recvClosed()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want one ABORT: %v", len(msgs), msgs)
	}
	ab, ok := msgs[0].(*protocol.Abort)
	if !ok || ab.Reason != session.URICannotAuthenticate {
		t.Fatalf("got %+v, want ABORT cannot_authenticate", msgs[0])
	}
	if ticket.calls != 0 {
		t.Error("the ticket method was asked to answer a wampcra challenge")
	}
	_, err := wait(t, ch)
	if err == nil || strings.Contains(err.Error(), "secret-ticket") || !strings.Contains(err.Error(), "wampcra") {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinChallengeAnswerFails(t *testing.T) {
	checkLeaks(t)
	m := &fakeMethod{name: "ticket"} // no answers: Respond fails
	ch, r := startJoin(t, session.Config{Realm: "realm1", Auth: []auth.ClientMethod{m}})
	expect[*protocol.Hello](r)
	r.send(&protocol.Challenge{AuthMethod: "ticket", Extra: protocol.Dict{}})
	msgs := r.recvClosed()
	if len(msgs) != 1 || msgs[0].(*protocol.Abort).Reason != session.URICannotAuthenticate {
		t.Fatalf("got %v", msgs)
	}
	if _, err := wait(t, ch); err == nil || !strings.Contains(err.Error(), "fake: no answer") {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinAbort(t *testing.T) {
	tests := []struct {
		name        string
		abort       *protocol.Abort
		wantMessage string
		is          error
	}{
		{"with message", &protocol.Abort{Details: protocol.Dict{"message": "no principal with authid \"x\" exists"}, Reason: "wamp.error.not_authorized"},
			"no principal with authid \"x\" exists", session.ErrNotAuthorized},
		{"crossbar without arguments", &protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.error.no_such_realm"}, "", session.ErrNoSuchRealm},
		{"spec form with arguments", &protocol.Abort{Details: protocol.Dict{}, Reason: "wamp.error.no_auth_method", Args: protocol.List{"nope"}}, "nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			ch, r := startJoin(t, session.Config{Realm: "realm1"})
			expect[*protocol.Hello](r)
			r.send(tt.abort)
			if msgs := r.recvClosed(); len(msgs) != 0 {
				t.Errorf("client answered ABORT with %v", msgs)
			}
			_, err := wait(t, ch)
			var ae *session.AbortError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *AbortError", err)
			}
			if ae.Reason != tt.abort.Reason || ae.Message != tt.wantMessage {
				t.Errorf("AbortError = %+v", ae)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestJoinProtocolViolation(t *testing.T) {
	checkLeaks(t)
	ch, r := startJoin(t, session.Config{Realm: "realm1"})
	expect[*protocol.Hello](r)
	r.send(&protocol.Result{Request: 1, Details: protocol.Dict{}})
	msgs := r.recvClosed()
	if len(msgs) != 1 || msgs[0].(*protocol.Abort).Reason != session.URIProtocolViolation {
		t.Fatalf("got %v", msgs)
	}
	if _, err := wait(t, ch); !errors.Is(err, session.ErrProtocolViolation) {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinInvalidWelcome(t *testing.T) {
	checkLeaks(t)
	ch, r := startJoin(t, session.Config{Realm: "realm1"})
	expect[*protocol.Hello](r)
	r.send(&protocol.Welcome{Session: protocol.MaxID + 1, Details: protocol.Dict{}})
	r.recvClosed()
	if _, err := wait(t, ch); !errors.Is(err, session.ErrProtocolViolation) {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinContextExpires(t *testing.T) {
	checkLeaks(t)
	a, b := transport.Pipe(nil)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := session.Join(ctx, a, session.Config{Realm: "realm1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinBadConfig(t *testing.T) {
	checkLeaks(t)
	a, b := transport.Pipe(nil)
	defer b.Close()
	if _, err := session.Join(context.Background(), a, session.Config{}); err == nil {
		t.Fatal("Join without realm succeeded")
	}
	if _, err := session.Join(context.Background(), nil, session.Config{Realm: "r"}); err == nil {
		t.Fatal("Join with nil peer succeeded")
	}
}
