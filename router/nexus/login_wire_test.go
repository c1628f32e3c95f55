package nexus_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/transport"
)

const craUsers = `
users:
  - {login: craig, password: craig-pw, role: backend, wampcra_secret: craig-cra, wampcra_salt: craig-salt, wampcra_iterations: 100}
  - {login: salty, password: salty-pw, role: trust, wampcra_secret: salty-cra, wampcra_salt: other-salt, wampcra_iterations: 100}
  - {login: alice, password: alice-pw, role: frontend}
  - {login: dave, password: dave-pw, disabled: true, wampcra_secret: dave-cra, wampcra_salt: dave-salt, wampcra_iterations: 100}
`

// craExchange sends a WAMP-CRA HELLO for authid over a real socket,
// answers the CHALLENGE (if one comes) by signing it with secret, and
// returns the CHALLENGE's extra (nil if none) and the final message.
func craExchange(t *testing.T, sr *sockRig, authid, secret string) (protocol.Dict, protocol.Message) {
	t.Helper()
	p, err := transport.Dial(sr.ctx, sr.ws, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hello := &protocol.Hello{Realm: "izaber", Details: protocol.Dict{
		"roles": protocol.ClientRoles(), "authid": authid, "authmethods": protocol.List{"wampcra"}}}
	if err := p.Send(sr.ctx, hello); err != nil {
		t.Fatal(err)
	}
	m, err := p.Recv(sr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := m.(*protocol.Challenge)
	if !ok {
		return nil, m
	}
	a, err := auth.WAMPCRA(secret).Respond(sr.ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(sr.ctx, a); err != nil {
		t.Fatal(err)
	}
	m, err = p.Recv(sr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Extra, m
}

// shape is what a WAMP-CRA challenge shows of its principal: the extra
// keys and the challenge object without its per-attempt members.
func shape(t *testing.T, extra protocol.Dict) (keys []string, obj map[string]any) {
	t.Helper()
	keys = slices.Sorted(maps.Keys(extra))
	if err := json.Unmarshal([]byte(extra["challenge"].(string)), &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nonce", "timestamp", "session", "authid"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("challenge lacks %s", k)
		}
		delete(obj, k)
	}
	return keys, obj
}

// A WAMP-CRA HELLO for a login that does not exist, is disabled or has no
// WAMP-CRA secret gets a CHALLENGE like a real user's (same members, no
// role, salted like the file's users, stable per login across attempts)
// and, after the answer, the refusal a wrong secret gets.
func TestFakeCRAChallenge(t *testing.T) {
	sr := newSockRig(t, craUsers, func(c *nexus.Config) { c.Throttle = auth.ThrottleConfig{Free: 1 << 30} })
	realExtra, final := craExchange(t, sr, "craig", "wrong-secret")
	if realExtra == nil {
		t.Fatalf("craig got %v, want a CHALLENGE", final)
	}
	wrongAbort, ok := final.(*protocol.Abort)
	if !ok {
		t.Fatalf("wrong secret: %v, want ABORT", final)
	}
	realKeys, realObj := shape(t, realExtra)
	if realObj["authrole"] != "" {
		t.Errorf("the challenge reveals the role: %v", realObj["authrole"])
	}
	if _, m := craExchange(t, sr, "craig", "craig-cra"); m.Code() != protocol.CodeWelcome {
		t.Fatalf("right secret: %v", m)
	}
	for _, authid := range []string{"nobody", "alice", "dave", "Nobody-Else"} {
		extra, final := craExchange(t, sr, authid, "wrong-secret")
		if extra == nil {
			t.Errorf("%s got %v, want a CHALLENGE", authid, final)
			continue
		}
		keys, obj := shape(t, extra)
		if !slices.Equal(keys, realKeys) {
			t.Errorf("%s: challenge extra keys %v, a real user's %v", authid, keys, realKeys)
		}
		if d := cmp.Diff(realObj, obj); d != "" {
			t.Errorf("%s: challenge differs from a real user's (-real +fake):\n%s", authid, d)
		}
		if extra["iterations"] != realExtra["iterations"] || extra["keylen"] != realExtra["keylen"] {
			t.Errorf("%s: iterations %v keylen %v, the file's users have %v %v", authid,
				extra["iterations"], extra["keylen"], realExtra["iterations"], realExtra["keylen"])
		}
		again, _ := craExchange(t, sr, authid, "other-guess")
		if again["salt"] != extra["salt"] || again["iterations"] != extra["iterations"] {
			t.Errorf("%s: salt %v then %v: not stable", authid, extra["salt"], again["salt"])
		}
		ab, ok := final.(*protocol.Abort)
		if !ok || ab.Reason != wrongAbort.Reason || ab.Details["message"] != wrongAbort.Details["message"] {
			t.Errorf("%s: %v, want the refusal of a wrong secret %v", authid, final, wrongAbort)
		}
	}
}
