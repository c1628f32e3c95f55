package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// loop returns a Challenger that answers with the client method, recording
// every challenge it sent.
func loop(m ClientMethod, sent *[]protocol.Dict) Challenger {
	return func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
		if sent != nil {
			*sent = append(*sent, extra)
		}
		return m.Respond(ctx, &protocol.Challenge{AuthMethod: m.Method(), Extra: extra})
	}
}

func request(authid string, m ClientMethod) *Request {
	return &Request{Realm: "realm1", AuthID: authid, AuthMethods: []string{m.Method()}, AuthExtra: m.HelloExtra(), Session: 4242}
}

var errDB = errors.New("db down")

// nexusDenied is what the Nexus authenticator answers to any failed login.
var nexusDenied = &Denied{Reason: "com.izaber.wamp.error.permissiondenied", Message: "Permission Denied"}

func ticketCheck(ctx context.Context, req *Request, ticket string) (*Identity, error) {
	switch {
	case req.AuthID == "nexus":
		return nil, nexusDenied
	case req.AuthID == "broken":
		return nil, errDB
	case req.AuthID == "alice" && ticket == "t1cket":
		return &Identity{AuthRole: "user", AuthExtra: protocol.Dict{"cache_id": "c1"}}, nil
	}
	return nil, nil
}

var craUsers = map[string]*CRAUser{
	"plain":   {Secret: "pw-plain", Identity: Identity{AuthRole: "user"}},
	"salted":  {Secret: "pw-salted", Salt: "NaCl", Iterations: 100, KeyLen: 16, Identity: Identity{AuthRole: "admin", AuthProvider: "userdb"}},
	"default": {Secret: "pw-default", Salt: "pepper", Identity: Identity{AuthRole: "user"}},
	"stored":  {Key: DeriveCRAKey("pw-stored", "s4lt", 0, 0), Salt: "s4lt", Identity: Identity{AuthRole: "user", AuthID: "renamed"}},
	"keyonly": {Key: "pw-keyonly", Identity: Identity{AuthRole: "user"}},
}

func craLookup(ctx context.Context, req *Request) (*CRAUser, error) {
	switch req.AuthID {
	case "nexus":
		return nil, nexusDenied
	case "broken":
		return nil, errDB
	}
	return craUsers[req.AuthID], nil
}

func TestAuthenticatorPairs(t *testing.T) {
	good, other := testKey(1), testKey(2)
	goodHex := hex.EncodeToString(good.Public().(ed25519.PublicKey))
	csLookup := func(ctx context.Context, req *Request, pubkeyHex string) (*Identity, error) {
		if req.AuthID == "nexus" {
			return nil, nexusDenied
		}
		if req.AuthID == "broken" {
			return nil, errDB
		}
		if pubkeyHex == goodHex {
			return &Identity{AuthRole: "device"}, nil
		}
		return nil, nil
	}
	// claimGood offers good's public key but signs with other's key.
	impostor := &pubOverride{ClientMethod: Cryptosign(other), pub: goodHex}

	tests := []struct {
		name     string
		a        Authenticator
		m        ClientMethod
		authid   string
		want     *Identity // nil: denied
		reason   string
		rounds   int
		causeIs  error
		noSecret string
	}{
		{"anonymous", AnonymousAuthenticator(""), Anonymous(), "", &Identity{AuthRole: "anonymous", AuthMethod: "anonymous", AuthProvider: "static"}, "", 0, nil, ""},
		{"anonymous role", AnonymousAuthenticator("public"), Anonymous(), "admin", &Identity{AuthRole: "public", AuthMethod: "anonymous", AuthProvider: "static"}, "", 0, nil, ""},
		{"ticket ok", TicketAuthenticator(ticketCheck), Ticket("t1cket"), "alice",
			&Identity{AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "static", AuthExtra: protocol.Dict{"cache_id": "c1"}}, "", 1, nil, ""},
		{"ticket wrong", TicketAuthenticator(ticketCheck), Ticket("wrong-t1cket"), "alice", nil, ReasonNotAuthorized, 1, nil, "wrong-t1cket"},
		{"ticket no authid", TicketAuthenticator(ticketCheck), Ticket("t1cket"), "", nil, ReasonNotAuthorized, 0, nil, "t1cket"},
		{"ticket nexus denied", TicketAuthenticator(ticketCheck), Ticket("t1cket"), "nexus", nil, "com.izaber.wamp.error.permissiondenied", 1, nil, "t1cket"},
		{"ticket lookup error", TicketAuthenticator(ticketCheck), Ticket("t1cket"), "broken", nil, ReasonAuthenticationFailed, 1, errDB, "t1cket"},
		{"cra plain", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "plain",
			&Identity{AuthID: "plain", AuthRole: "user", AuthMethod: "wampcra", AuthProvider: "static"}, "", 1, nil, ""},
		{"cra plain wrong", CRAAuthenticator(craLookup), WAMPCRA("pw-wrong"), "plain", nil, ReasonNotAuthorized, 1, nil, "pw-plain"},
		{"cra salted", CRAAuthenticator(craLookup), WAMPCRA("pw-salted"), "salted",
			&Identity{AuthID: "salted", AuthRole: "admin", AuthMethod: "wampcra", AuthProvider: "userdb"}, "", 1, nil, ""},
		{"cra salted wrong", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "salted", nil, ReasonNotAuthorized, 1, nil, "pw-salted"},
		{"cra salted defaults", CRAAuthenticator(craLookup), WAMPCRA("pw-default"), "default",
			&Identity{AuthID: "default", AuthRole: "user", AuthMethod: "wampcra", AuthProvider: "static"}, "", 1, nil, ""},
		{"cra stored key", CRAAuthenticator(craLookup), WAMPCRA("pw-stored"), "stored",
			&Identity{AuthID: "renamed", AuthRole: "user", AuthMethod: "wampcra", AuthProvider: "static"}, "", 1, nil, ""},
		{"cra stored key wrong", CRAAuthenticator(craLookup), WAMPCRA("pw-st0red"), "stored", nil, ReasonNotAuthorized, 1, nil, "pw-stored"},
		{"cra plain key", CRAAuthenticator(craLookup), WAMPCRA("pw-keyonly"), "keyonly",
			&Identity{AuthID: "keyonly", AuthRole: "user", AuthMethod: "wampcra", AuthProvider: "static"}, "", 1, nil, ""},
		{"cra unknown", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "mallory", nil, ReasonNotAuthorized, 1, nil, "pw-plain"},
		{"cra no authid", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "", nil, ReasonNotAuthorized, 0, nil, "pw-plain"},
		{"cra nexus denied", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "nexus", nil, "com.izaber.wamp.error.permissiondenied", 0, nil, ""},
		{"cra lookup error", CRAAuthenticator(craLookup), WAMPCRA("pw-plain"), "broken", nil, ReasonAuthenticationFailed, 0, errDB, ""},
		{"cryptosign", CryptosignAuthenticator(csLookup), Cryptosign(good), "dev1",
			&Identity{AuthID: "dev1", AuthRole: "device", AuthMethod: "cryptosign", AuthProvider: "static"}, "", 1, nil, ""},
		{"cryptosign no authid", CryptosignAuthenticator(csLookup), Cryptosign(good), "",
			&Identity{AuthID: goodHex, AuthRole: "device", AuthMethod: "cryptosign", AuthProvider: "static"}, "", 1, nil, ""},
		{"cryptosign unknown key", CryptosignAuthenticator(csLookup), Cryptosign(other), "dev1", nil, ReasonNotAuthorized, 1, nil, ""},
		{"cryptosign impostor", CryptosignAuthenticator(csLookup), impostor, "dev1", nil, ReasonNotAuthorized, 1, nil, ""},
		{"cryptosign no pubkey", CryptosignAuthenticator(csLookup), Cryptosign(good[:3]), "dev1", nil, ReasonNotAuthorized, 0, nil, ""},
		{"cryptosign nexus denied", CryptosignAuthenticator(csLookup), Cryptosign(good), "nexus", nil, "com.izaber.wamp.error.permissiondenied", 0, nil, ""},
		{"cryptosign lookup error", CryptosignAuthenticator(csLookup), Cryptosign(good), "broken", nil, ReasonAuthenticationFailed, 0, errDB, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a.Method() != tt.m.Method() && tt.m != impostor {
				t.Fatalf("pair mismatch %s/%s", tt.a.Method(), tt.m.Method())
			}
			var sent []protocol.Dict
			id, err := tt.a.Authenticate(context.Background(), request(tt.authid, tt.m), loop(tt.m, &sent))
			if len(sent) != tt.rounds {
				t.Errorf("%d challenges sent, want %d", len(sent), tt.rounds)
			}
			if tt.want == nil {
				var d *Denied
				if !errors.As(err, &d) {
					t.Fatalf("err = %v (identity %+v), want *Denied", err, id)
				}
				if id != nil {
					t.Errorf("identity %+v with an error", id)
				}
				if d.Reason != tt.reason || d.Message == "" {
					t.Errorf("denied %q %q, want reason %q and a message", d.Reason, d.Message, tt.reason)
				}
				if tt.reason == nexusDenied.Reason && d != nexusDenied {
					t.Errorf("lookup's *Denied was not passed through unchanged: %#v", d)
				}
				if tt.causeIs != nil && !errors.Is(err, tt.causeIs) {
					t.Errorf("err = %v does not wrap %v", err, tt.causeIs)
				}
				if tt.causeIs != nil && strings.Contains(d.Message+err.Error(), tt.causeIs.Error()) {
					t.Errorf("internal error text reaches the client: %q", d.Message)
				}
				if tt.noSecret != "" && strings.Contains(err.Error(), tt.noSecret) {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.AuthID == "" {
				// random authid for anonymous
				if len(id.AuthID) != 14 || id.AuthID == "admin" {
					t.Errorf("anonymous authid = %q", id.AuthID)
				}
				id2, _ := tt.a.Authenticate(context.Background(), request(tt.authid, tt.m), nil)
				if id2.AuthID == id.AuthID {
					t.Errorf("two anonymous sessions got the same authid %q", id.AuthID)
				}
				id.AuthID = ""
			}
			if diff := cmp.Diff(tt.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

// pubOverride offers another public key than the one it signs with.
type pubOverride struct {
	ClientMethod
	pub string
}

func (p *pubOverride) HelloExtra() protocol.Dict { return protocol.Dict{"pubkey": p.pub} }

func TestCRAChallengeContents(t *testing.T) {
	a := CRAAuthenticator(craLookup)
	var sent []protocol.Dict
	for range 2 {
		if _, err := a.Authenticate(context.Background(), request("salted", WAMPCRA("pw-salted")), loop(WAMPCRA("pw-salted"), &sent)); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != 2 {
		t.Fatalf("%d challenges", len(sent))
	}
	var c [2]map[string]any
	for i, extra := range sent {
		if extra["salt"] != "NaCl" || extra["iterations"] != 100 || extra["keylen"] != 16 {
			t.Errorf("salt params = %v %v %v", extra["salt"], extra["iterations"], extra["keylen"])
		}
		s, _ := extra["challenge"].(string)
		if err := json.Unmarshal([]byte(s), &c[i]); err != nil {
			t.Fatalf("challenge %q is not JSON: %v", s, err)
		}
	}
	got := c[0]
	// The principal's role (admin) is not revealed: authrole is what HELLO
	// asked for, here nothing.
	for k, want := range map[string]any{"authid": "salted", "authrole": "", "authmethod": "wampcra", "authprovider": "userdb", "session": float64(4242)} {
		if got[k] != want {
			t.Errorf("challenge %s = %v, want %v", k, got[k], want)
		}
	}
	nonce, err := base64.StdEncoding.DecodeString(got["nonce"].(string))
	if err != nil || len(nonce) < 16 {
		t.Errorf("nonce %v: %v", got["nonce"], err)
	}
	if c[0]["nonce"] == c[1]["nonce"] {
		t.Error("two attempts share a nonce")
	}
	ts, err := time.Parse(time.RFC3339, got["timestamp"].(string))
	if err != nil || ts.Location() != time.UTC || time.Since(ts) > time.Minute {
		t.Errorf("timestamp %v: %v", got["timestamp"], err)
	}

	// A plain principal gets no salt parameters.
	sent = nil
	if _, err := a.Authenticate(context.Background(), request("plain", WAMPCRA("pw-plain")), loop(WAMPCRA("pw-plain"), &sent)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"salt", "iterations", "keylen"} {
		if _, ok := sent[0][k]; ok {
			t.Errorf("plain challenge has %s", k)
		}
	}
}

// A signature answered for one challenge must not open another session.
func TestCRAReplayRefused(t *testing.T) {
	a := CRAAuthenticator(craLookup)
	var first *protocol.Authenticate
	_, err := a.Authenticate(context.Background(), request("plain", WAMPCRA("pw-plain")), func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
		r, err := WAMPCRA("pw-plain").Respond(ctx, &protocol.Challenge{AuthMethod: "wampcra", Extra: extra})
		first = r
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), request("plain", WAMPCRA("pw-plain")), func(context.Context, protocol.Dict) (*protocol.Authenticate, error) {
		return first, nil
	})
	var d *Denied
	if !errors.As(err, &d) || d.Reason != ReasonNotAuthorized {
		t.Fatalf("replayed signature: err = %v", err)
	}
}

func TestCryptosignVerify(t *testing.T) {
	priv := testKey(3)
	pub := priv.Public().(ed25519.PublicKey)
	challenge := make([]byte, 32)
	challenge[5] = 9
	sig := ed25519.Sign(priv, challenge)
	good := hex.EncodeToString(append(append([]byte{}, sig...), challenge...))
	other := append([]byte{}, challenge...)
	other[0] = 1
	flipped := append([]byte{}, sig...)
	flipped[10] ^= 1
	tests := []struct {
		name  string
		reply string
		ok    bool
	}{
		{"good", good, true},
		{"upper case", strings.ToUpper(good), true},
		{"empty", "", false},
		{"signature only", hex.EncodeToString(sig), false},
		{"truncated", good[:190], false},
		{"extra byte", good + "00", false},
		{"not hex", good[:190] + "zz", false},
		{"other challenge echoed", hex.EncodeToString(append(append([]byte{}, sig...), other...)), false},
		{"bad signature", hex.EncodeToString(append(flipped, challenge...)), false},
	}
	for _, tt := range tests {
		if got := verifyCryptosign(pub, challenge, tt.reply); got != tt.ok {
			t.Errorf("%s: verify = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestCryptosignChannelBindingRefused(t *testing.T) {
	priv := testKey(4)
	a := CryptosignAuthenticator(func(context.Context, *Request, string) (*Identity, error) { return &Identity{AuthRole: "x"}, nil })
	req := &Request{AuthExtra: protocol.Dict{"pubkey": hex.EncodeToString(priv.Public().(ed25519.PublicKey)), "channel_binding": "tls-unique"}}
	_, err := a.Authenticate(context.Background(), req, loop(Cryptosign(priv), nil))
	var d *Denied
	if !errors.As(err, &d) || d.Reason != ReasonAuthenticationFailed {
		t.Fatalf("err = %v", err)
	}
}

func TestChallengerErrorPropagates(t *testing.T) {
	errGone := errors.New("client went away")
	fail := func(context.Context, protocol.Dict) (*protocol.Authenticate, error) { return nil, errGone }
	priv := testKey(5)
	for _, tt := range []struct {
		a   Authenticator
		req *Request
	}{
		{TicketAuthenticator(ticketCheck), request("alice", Ticket("x"))},
		{CRAAuthenticator(craLookup), request("plain", WAMPCRA("x"))},
		{CryptosignAuthenticator(func(context.Context, *Request, string) (*Identity, error) { return &Identity{}, nil }), request("d", Cryptosign(priv))},
	} {
		_, err := tt.a.Authenticate(context.Background(), tt.req, fail)
		if !errors.Is(err, errGone) {
			t.Errorf("%s: err = %v, want the challenger's error", tt.a.Method(), err)
		}
		var d *Denied
		if errors.As(err, &d) {
			t.Errorf("%s: a challenger failure became a denial %v", tt.a.Method(), d)
		}
	}
}

func TestAnonymousAuthenticatorCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := AnonymousAuthenticator("").Authenticate(ctx, &Request{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// An unknown principal gets a challenge of the same shape and, whatever it
// answers, the refusal a wrong answer gets: the client cannot tell it
// does not exist. Decoys can take the shape of salted principals.
func TestUnknownPrincipalsAreChallengedAlike(t *testing.T) {
	refusal := func(a Authenticator, authid string, m ClientMethod) (protocol.Dict, *Denied) {
		t.Helper()
		var sent []protocol.Dict
		req := request(authid, m)
		req.Details = protocol.Dict{"authrole": "asked"}
		_, err := a.Authenticate(context.Background(), req, loop(m, &sent))
		var d *Denied
		if !errors.As(err, &d) || len(sent) != 1 {
			t.Fatalf("%s %s: %v after %d challenges, want a refusal after one", m.Method(), authid, err, len(sent))
		}
		return sent[0], d
	}
	challengeKeys := func(extra protocol.Dict) map[string]any {
		t.Helper()
		var c map[string]any
		if err := json.Unmarshal([]byte(extra["challenge"].(string)), &c); err != nil {
			t.Fatal(err)
		}
		delete(c, "nonce")
		delete(c, "timestamp")
		delete(c, "authid")
		return c
	}

	cra := CRAAuthenticator(craLookup)
	realExtra, wrong := refusal(cra, "plain", WAMPCRA("not-the-secret"))
	fakeExtra, unknown := refusal(cra, "mallory", WAMPCRA("not-the-secret"))
	if *wrong != *unknown {
		t.Errorf("wrong secret: %v; unknown principal: %v", wrong, unknown)
	}
	if d := cmp.Diff(challengeKeys(realExtra), challengeKeys(fakeExtra)); d != "" {
		t.Errorf("challenge of an unknown principal differs from a real one (-real +unknown):\n%s", d)
	}
	if c := challengeKeys(realExtra); c["authrole"] != "asked" {
		t.Errorf("challenge authrole %v, want the one HELLO asked for", c["authrole"])
	}

	// A decoy shaped like a salted principal, even answered with a secret
	// that would match its (replaced) Secret, is refused.
	decoy := CRAAuthenticator(func(ctx context.Context, req *Request) (*CRAUser, error) {
		return &CRAUser{Decoy: true, Secret: "guessable", Salt: "stable-salt", Iterations: 100, KeyLen: 16,
			Identity: Identity{AuthProvider: "userdb"}}, nil
	})
	realExtra, wrong = refusal(cra, "salted", WAMPCRA("not-the-secret"))
	fakeExtra, unknown = refusal(decoy, "mallory", WAMPCRA("guessable"))
	if *wrong != *unknown {
		t.Errorf("wrong secret: %v; decoy: %v", wrong, unknown)
	}
	for _, k := range []string{"iterations", "keylen"} {
		if realExtra[k] != fakeExtra[k] {
			t.Errorf("decoy %s = %v, real %v", k, fakeExtra[k], realExtra[k])
		}
	}
	if fakeExtra["salt"] != "stable-salt" {
		t.Errorf("decoy salt %v", fakeExtra["salt"])
	}

	// Cryptosign: an unknown key, even signing correctly with its own
	// private key, is refused like a wrong signature, after a challenge.
	good, other := testKey(1), testKey(2)
	goodHex := hex.EncodeToString(good.Public().(ed25519.PublicKey))
	cs := CryptosignAuthenticator(func(ctx context.Context, req *Request, pubkeyHex string) (*Identity, error) {
		if pubkeyHex == goodHex {
			return &Identity{AuthRole: "device"}, nil
		}
		return nil, nil
	})
	_, wrong = refusal(cs, "dev1", &pubOverride{ClientMethod: Cryptosign(other), pub: goodHex})
	_, unknown = refusal(cs, "dev1", Cryptosign(other))
	if *wrong != *unknown {
		t.Errorf("wrong signature: %v; unknown key: %v", wrong, unknown)
	}
}
