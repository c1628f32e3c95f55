package nexus

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// runAuth drives an authenticator with a client method answering its challenges.
func runAuth(a auth.Authenticator, req *auth.Request, m auth.ClientMethod) (*auth.Identity, error) {
	return a.Authenticate(context.Background(), req, func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
		return m.Respond(ctx, &protocol.Challenge{AuthMethod: a.Method(), Extra: extra})
	})
}

func authByMethod(t *testing.T, s *Service, method string) auth.Authenticator {
	t.Helper()
	for _, a := range s.Authenticators() {
		if a.Method() == method {
			return a
		}
	}
	t.Fatalf("no %s authenticator", method)
	return nil
}

func TestAuthenticators(t *testing.T) {
	s, _ := newTestService(t, "")
	var methods []string
	for _, a := range s.Authenticators() {
		methods = append(methods, a.Method())
	}
	if len(methods) != 4 || methods[0] != "ticket" || methods[1] != "wampcra" || methods[2] != "cryptosign" || methods[3] != "anonymous" {
		t.Errorf("methods = %v", methods)
	}

	id, err := runAuth(authByMethod(t, s, "ticket"), &auth.Request{AuthID: "ALICE"}, auth.Ticket("alice-pw"))
	if err != nil || id.AuthID != "alice" || id.AuthRole != "frontend" || id.AuthMethod != "ticket" || id.AuthProvider != "nexus" {
		t.Fatalf("ticket: %+v, %v", id, err)
	}
	_, err = runAuth(authByMethod(t, s, "ticket"), &auth.Request{AuthID: "alice"}, auth.Ticket("nope"))
	denied(t, err)

	cra := authByMethod(t, s, "wampcra")
	id, err = runAuth(cra, &auth.Request{AuthID: "Carol", Session: 7}, auth.WAMPCRA("carol-cra"))
	if err != nil || id.AuthID != "carol" || id.AuthRole != "trust" || id.AuthMethod != "wampcra" || id.AuthProvider != "nexus" {
		t.Fatalf("wampcra: %+v, %v", id, err)
	}
	if cid, _ := id.AuthExtra["cache_id"].(string); cid == "" {
		t.Errorf("wampcra authextra = %v", id.AuthExtra)
	}
	before := len(s.cookies)
	_, err = runAuth(cra, &auth.Request{AuthID: "carol", Session: 7}, auth.WAMPCRA("wrong"))
	denied(t, err)
	if len(s.cookies) != before {
		t.Error("failed CRA attempt left a cookie")
	}
	_, err = runAuth(cra, &auth.Request{AuthID: "alice", Session: 7}, auth.WAMPCRA("alice-pw"))
	denied(t, err)

	// Cryptosign: erin's registered key is 32 zero bytes, whose private key
	// we do not have; register a real one by building a users file.
	pub, priv, _ := ed25519.GenerateKey(nil)
	s2, err := New(Config{UsersFile: writeUsers(t, "users:\n  - login: Frank\n    role: backend\n    cryptosign_pubkeys: ["+hex.EncodeToString(pub)+"]\n")})
	if err != nil {
		t.Fatal(err)
	}
	cs := authByMethod(t, s2, "cryptosign")
	m := auth.Cryptosign(priv)
	id, err = runAuth(cs, &auth.Request{AuthID: "frank", AuthExtra: m.HelloExtra()}, m)
	if err != nil || id.AuthID != "frank" || id.AuthRole != "backend" || id.AuthMethod != "cryptosign" {
		t.Fatalf("cryptosign: %+v, %v", id, err)
	}
	id, err = runAuth(cs, &auth.Request{AuthExtra: m.HelloExtra()}, m)
	if err != nil || id.AuthID != "frank" {
		t.Fatalf("cryptosign without authid: %+v, %v", id, err)
	}
	_, err = runAuth(cs, &auth.Request{AuthID: "alice", AuthExtra: m.HelloExtra()}, m)
	denied(t, err)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	om := auth.Cryptosign(otherPriv)
	_, err = runAuth(cs, &auth.Request{AuthID: "frank", AuthExtra: om.HelloExtra()}, om)
	denied(t, err)
	// A valid key with a wrong signature is refused the same way.
	_, err = cs.Authenticate(context.Background(), &auth.Request{AuthID: "frank", AuthExtra: m.HelloExtra()},
		func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
			return om.Respond(ctx, &protocol.Challenge{AuthMethod: "cryptosign", Extra: extra})
		})
	denied(t, err)
	if got := len(s2.Authenticators()); got != 2 {
		t.Errorf("service without CRA users and anonymous has %d authenticators, want 2", got)
	}
}
