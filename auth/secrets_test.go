package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// The secrets below must never appear in String/GoString/fmt output, slog
// records, JSON, or any error the package returns.
const (
	leakTicket = "TICKET-sup3r-s3cret"
	leakCRA    = "CRA-sup3r-s3cret"
	leakKey    = "KEY-sup3r-s3cret"
	leakChal   = `{"nonce":"CHALLENGE-n0nce"}`
)

func leakedIn(s string, secrets ...string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			return sec
		}
	}
	return ""
}

func TestSecretsNotFormatted(t *testing.T) {
	priv := testKey(9)
	privHex := hex.EncodeToString(priv.Seed())
	values := []struct {
		name    string
		v       any
		secrets []string
	}{
		{"ticket", Ticket(leakTicket), []string{leakTicket}},
		{"wampcra", WAMPCRA(leakCRA), []string{leakCRA}},
		{"cryptosign", Cryptosign(priv), []string{privHex, string(priv.Seed())}},
		{"crauser", CRAUser{Secret: leakCRA, Key: leakKey, Identity: Identity{AuthID: "u"}}, []string{leakCRA, leakKey}},
		{"crauser ptr", &CRAUser{Secret: leakCRA, Key: leakKey, Salt: "s"}, []string{leakCRA, leakKey}},
		{"in a slice", []ClientMethod{Ticket(leakTicket), WAMPCRA(leakCRA)}, []string{leakTicket, leakCRA}},
		{"in a struct", struct{ M ClientMethod }{WAMPCRA(leakCRA)}, []string{leakCRA}},
		{"in a map", map[string]any{"m": Ticket(leakTicket)}, []string{leakTicket}},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p", "%100.3v", "%-8s", "%#x", "%t", "%g", "%U", "%c", "%o", "%b", "%e"}
	for _, tt := range values {
		for _, verb := range verbs {
			if verb == "%p" && reflect.ValueOf(tt.v).Kind() != reflect.Pointer {
				// fmt prints a non-pointer given to %p field by field
				// without calling any method; go vet rejects that call.
				continue
			}
			if s := fmt.Sprintf(verb, tt.v); leakedIn(s, tt.secrets...) != "" {
				t.Errorf("%s: fmt %s shows a secret: %s", tt.name, verb, s)
			}
		}
		if s := fmt.Sprint(tt.v) + fmt.Sprintln(tt.v); leakedIn(s, tt.secrets...) != "" {
			t.Errorf("%s: Sprint shows a secret: %s", tt.name, s)
		}
		if b, _ := json.Marshal(tt.v); leakedIn(string(b), tt.secrets...) != "" {
			t.Errorf("%s: JSON shows a secret: %s", tt.name, b)
		}
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
			slog.New(h).Info("msg", "v", tt.v, slog.Any("any", tt.v), slog.Group("g", "v", tt.v))
		}
		if leakedIn(buf.String(), tt.secrets...) != "" {
			t.Errorf("%s: slog shows a secret: %s", tt.name, buf.String())
		}
	}
	// The redacted forms still say what they are.
	if s := fmt.Sprint(WAMPCRA(leakCRA)); !strings.Contains(s, "WAMPCRA") {
		t.Errorf("String = %q", s)
	}
	if s := fmt.Sprint(Cryptosign(priv)); !strings.Contains(s, hex.EncodeToString(priv.Public().(ed25519.PublicKey))) {
		// the public key is not a secret and helps debugging
		t.Errorf("String = %q, want the public key", s)
	}
}

// Every client error, whatever the challenge, keeps the secret and the
// challenge out of its text.
func TestSecretsNotInClientErrors(t *testing.T) {
	methods := []ClientMethod{Ticket(leakTicket), WAMPCRA(leakCRA), Cryptosign(testKey(3)), Cryptosign(testKey(3)[:7]), Anonymous()}
	extras := []protocol.Dict{
		nil,
		{},
		{"challenge": leakChal},
		{"challenge": leakChal, "salt": leakChal},
		{"challenge": leakChal, "salt": 1},
		{"challenge": leakChal, "salt": "s", "iterations": leakChal},
		{"challenge": leakChal, "salt": "s", "iterations": -5},
		{"challenge": leakChal, "salt": "s", "keylen": 1 << 30},
		{"challenge": leakChal, "salt": "s", "iterations": 1 << 25},
		{"challenge": 42},
		{"challenge": []byte(leakChal)},
		{"challenge": strings.Repeat("g", 64)},
		{"challenge": strings.Repeat("a", 62)},
		{"challenge": strings.Repeat("a", 64), "channel_binding": leakChal},
	}
	names := []string{"ticket", "wampcra", "cryptosign", "anonymous", leakChal, ""}
	ctx := context.Background()
	n := 0
	for _, m := range methods {
		for _, name := range names {
			for _, extra := range extras {
				_, err := m.Respond(ctx, &protocol.Challenge{AuthMethod: name, Extra: extra})
				if err == nil {
					continue
				}
				n++
				if sec := leakedIn(err.Error()+fmt.Sprintf("%#v", err), leakTicket, leakCRA, leakChal, "CHALLENGE-n0nce"); sec != "" {
					t.Errorf("%v on %q %v: error shows %q: %v", m, name, extra, sec, err)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d errors exercised", n)
	}
}

// Authenticator denials never show the router-side secret, the client's
// answer, or a failing lookup's error text.
func TestSecretsNotInDenials(t *testing.T) {
	lookupErr := fmt.Errorf("db error for secret %s", leakCRA)
	ctx := context.Background()
	answer := func(sig string) Challenger {
		return func(context.Context, protocol.Dict) (*protocol.Authenticate, error) {
			return &protocol.Authenticate{Signature: sig}, nil
		}
	}
	cases := []struct {
		a   Authenticator
		req *Request
	}{
		{TicketAuthenticator(func(context.Context, *Request, string) (*Identity, error) { return nil, nil }), &Request{AuthID: "u"}},
		{TicketAuthenticator(func(context.Context, *Request, string) (*Identity, error) { return nil, lookupErr }), &Request{AuthID: "u"}},
		{CRAAuthenticator(func(context.Context, *Request) (*CRAUser, error) { return &CRAUser{Secret: leakCRA}, nil }), &Request{AuthID: "u"}},
		{CRAAuthenticator(func(context.Context, *Request) (*CRAUser, error) {
			return &CRAUser{Secret: leakCRA, Salt: "s", Iterations: 1 << 30}, nil
		}), &Request{AuthID: "u"}},
		{CRAAuthenticator(func(context.Context, *Request) (*CRAUser, error) { return &CRAUser{Key: leakKey}, nil }), &Request{AuthID: "u"}},
		{CRAAuthenticator(func(context.Context, *Request) (*CRAUser, error) { return nil, lookupErr }), &Request{AuthID: "u"}},
	}
	for i, c := range cases {
		_, err := c.a.Authenticate(ctx, c.req, answer(leakTicket))
		if err == nil {
			t.Fatalf("case %d: accepted", i)
		}
		if sec := leakedIn(err.Error()+fmt.Sprintf("%+v", err), leakTicket, leakCRA, leakKey); sec != "" {
			t.Errorf("case %d (%s): denial shows %q: %v", i, c.a.Method(), sec, err)
		}
	}
}
