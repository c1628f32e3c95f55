package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Vectors from wamp-protocol-notes.md §4.5 (autobahn's test_wamp_auth.py and
// a locally computed salted signature).
const (
	vecSecret  = "L3L1YUE8Txlw"
	vecSalt    = "salt123"
	vecDerived = "qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y="
	vecMsg     = "[1, 2, 3]"
	vecPlain   = "1njQtmmeYO41N5EWEzD2kAjjEKRZ5kPZt/TzpYXOzR0="
	vecSalted  = "c3pCfyceJEbMIYZ/MRvn3RbPu4aqaQ/IeiCmHKfGMx4="
)

func TestCRAVectors(t *testing.T) {
	if got := DeriveCRAKey(vecSecret, vecSalt, 1000, 32); got != vecDerived {
		t.Errorf("DeriveCRAKey = %q, want %q", got, vecDerived)
	}
	if got := DeriveCRAKey(vecSecret, vecSalt, 0, 0); got != vecDerived {
		t.Errorf("DeriveCRAKey with defaults = %q, want %q", got, vecDerived)
	}
	if got := SignCRA(vecSecret, vecMsg); got != vecPlain {
		t.Errorf("SignCRA(plain) = %q, want %q", got, vecPlain)
	}
	if got := SignCRA(vecDerived, vecMsg); got != vecSalted {
		t.Errorf("SignCRA(salted) = %q, want %q", got, vecSalted)
	}
	if got := DeriveCRAKey(vecSecret, vecSalt, 1<<24, 64); got != "" {
		t.Errorf("DeriveCRAKey with too much work = %q, want empty", got)
	}
}

func TestWAMPCRARespond(t *testing.T) {
	m := WAMPCRA(vecSecret)
	if m.Method() != "wampcra" || m.HelloExtra() != nil {
		t.Fatalf("Method/HelloExtra = %q/%v", m.Method(), m.HelloExtra())
	}
	tests := []struct {
		name  string
		extra protocol.Dict
		want  string
	}{
		{"plain", protocol.Dict{"challenge": vecMsg}, vecPlain},
		{"salted int", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": 1000, "keylen": 32}, vecSalted},
		{"salted int64", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": int64(1000), "keylen": int64(32)}, vecSalted},
		{"salted uint64", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": uint64(1000), "keylen": uint64(32)}, vecSalted},
		{"salted float64", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": float64(1000), "keylen": float64(32)}, vecSalted},
		{"salted defaults", protocol.Dict{"challenge": vecMsg, "salt": vecSalt}, vecSalted},
		{"salted null fields", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": nil, "keylen": nil}, vecSalted},
		{"empty salt is plain", protocol.Dict{"challenge": vecMsg, "salt": "", "iterations": 5}, vecPlain},
		{"null salt is plain", protocol.Dict{"challenge": vecMsg, "salt": nil}, vecPlain},
		{"other params", protocol.Dict{"challenge": vecMsg, "salt": vecSalt, "iterations": 10, "keylen": 16},
			SignCRA(DeriveCRAKey(vecSecret, vecSalt, 10, 16), vecMsg)},
		{"unknown keys ignored", protocol.Dict{"challenge": vecMsg, "x": List{1}}, vecPlain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "wampcra", Extra: tt.extra})
			if err != nil {
				t.Fatal(err)
			}
			if a.Signature != tt.want {
				t.Errorf("signature = %q, want %q", a.Signature, tt.want)
			}
			if a.Extra == nil {
				t.Error("Extra is nil, want an empty dict")
			}
		})
	}
	if s := SignCRA(DeriveCRAKey(vecSecret, vecSalt, 10, 16), vecMsg); s == vecSalted || s == vecPlain {
		t.Fatal("different parameters give the same signature")
	}
}

// List is a local alias to keep tables short.
type List = protocol.List

func TestClientRespondErrors(t *testing.T) {
	priv := testKey(1)
	tests := []struct {
		name string
		m    ClientMethod
		c    *protocol.Challenge
		is   error
	}{
		{"cra nil", WAMPCRA(vecSecret), nil, ErrBadChallenge},
		{"cra wrong method", WAMPCRA(vecSecret), &protocol.Challenge{AuthMethod: "ticket"}, ErrMethodMismatch},
		{"cra no challenge", WAMPCRA(vecSecret), &protocol.Challenge{AuthMethod: "wampcra", Extra: protocol.Dict{}}, ErrBadChallenge},
		{"cra nil extra", WAMPCRA(vecSecret), &protocol.Challenge{AuthMethod: "wampcra"}, ErrBadChallenge},
		{"cra challenge number", WAMPCRA(vecSecret), &protocol.Challenge{AuthMethod: "wampcra", Extra: protocol.Dict{"challenge": 5}}, ErrBadChallenge},
		{"cra challenge bytes", WAMPCRA(vecSecret), &protocol.Challenge{AuthMethod: "wampcra", Extra: protocol.Dict{"challenge": []byte("x")}}, ErrBadChallenge},
		{"cra salt number", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": 5}), ErrBadChallenge},
		{"cra iterations string", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": "1000"}), ErrBadChallenge},
		{"cra iterations zero", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": 0}), ErrBadChallenge},
		{"cra iterations negative", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": -1}), ErrBadChallenge},
		{"cra iterations fraction", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": 1.5}), ErrBadChallenge},
		{"cra iterations huge", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": uint64(1 << 63)}), ErrBadChallenge},
		{"cra too much work", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "iterations": 1 << 24, "keylen": 33}), ErrBadChallenge},
		{"cra keylen huge", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "keylen": int64(1) << 40}), ErrBadChallenge},
		{"cra keylen list", WAMPCRA(vecSecret), craChal(protocol.Dict{"salt": "s", "keylen": List{32}}), ErrBadChallenge},
		{"ticket wrong method", Ticket("t0p"), &protocol.Challenge{AuthMethod: "wampcra", Extra: protocol.Dict{"challenge": "x"}}, ErrMethodMismatch},
		{"ticket nil", Ticket("t0p"), nil, ErrBadChallenge},
		{"cryptosign wrong method", Cryptosign(priv), &protocol.Challenge{AuthMethod: "ticket"}, ErrMethodMismatch},
		{"cryptosign short", Cryptosign(priv), csChal("abcd"), ErrBadChallenge},
		{"cryptosign long", Cryptosign(priv), csChal(strings.Repeat("ab", 33)), ErrBadChallenge},
		{"cryptosign not hex", Cryptosign(priv), csChal(strings.Repeat("zz", 32)), ErrBadChallenge},
		{"cryptosign number", Cryptosign(priv), &protocol.Challenge{AuthMethod: "cryptosign", Extra: protocol.Dict{"challenge": 1}}, ErrBadChallenge},
		{"cryptosign channel binding", Cryptosign(priv), &protocol.Challenge{AuthMethod: "cryptosign",
			Extra: protocol.Dict{"challenge": strings.Repeat("ab", 32), "channel_binding": "tls-unique"}}, ErrBadChallenge},
		{"cryptosign bad key", Cryptosign(priv[:10]), csChal(strings.Repeat("ab", 32)), ErrInvalidKey},
		{"anonymous", Anonymous(), &protocol.Challenge{AuthMethod: "anonymous"}, ErrBadChallenge},
		{"anonymous wrong method", Anonymous(), &protocol.Challenge{AuthMethod: "ticket"}, ErrMethodMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.m.Respond(context.Background(), tt.c)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if a != nil {
				t.Errorf("reply %v with an error", a)
			}
		})
	}
}

func craChal(extra protocol.Dict) *protocol.Challenge {
	extra["challenge"] = vecMsg
	return &protocol.Challenge{AuthMethod: "wampcra", Extra: extra}
}

func csChal(hexChallenge string) *protocol.Challenge {
	return &protocol.Challenge{AuthMethod: "cryptosign", Extra: protocol.Dict{"challenge": hexChallenge}}
}

func TestRespondCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []ClientMethod{Ticket("x"), WAMPCRA("x"), Cryptosign(testKey(2))} {
		_, err := m.Respond(ctx, &protocol.Challenge{AuthMethod: m.Method(), Extra: protocol.Dict{"challenge": strings.Repeat("00", 32)}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", m.Method(), err)
		}
	}
}

func TestTicketRespond(t *testing.T) {
	m := Ticket("s3cr3t")
	if m.Method() != "ticket" || m.HelloExtra() != nil {
		t.Fatalf("Method/HelloExtra = %q/%v", m.Method(), m.HelloExtra())
	}
	a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "ticket", Extra: protocol.Dict{}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Signature != "s3cr3t" || a.Extra == nil || len(a.Extra) != 0 {
		t.Errorf("reply = %q %v", a.Signature, a.Extra)
	}
}

// testKey returns a deterministic Ed25519 key.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed + byte(i)
	}
	return ed25519.NewKeyFromSeed(s)
}

func TestCryptosignRespond(t *testing.T) {
	priv := testKey(7)
	pub := priv.Public().(ed25519.PublicKey)
	m := Cryptosign(priv)
	if m.Method() != "cryptosign" {
		t.Fatalf("Method = %q", m.Method())
	}
	if got := m.HelloExtra()["pubkey"]; got != hex.EncodeToString(pub) {
		t.Fatalf("HelloExtra pubkey = %v, want %x", got, pub)
	}
	// The method keeps its own copy of the key.
	priv[0] ^= 0xff
	defer func() { priv[0] ^= 0xff }()

	challenge := make([]byte, 32)
	for i := range challenge {
		challenge[i] = byte(200 - i)
	}
	for _, h := range []string{hex.EncodeToString(challenge), strings.ToUpper(hex.EncodeToString(challenge))} {
		a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "cryptosign", Extra: protocol.Dict{"challenge": h, "channel_binding": nil}})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Signature) != 192 {
			t.Fatalf("signature has %d hex digits, want 192", len(a.Signature))
		}
		b, err := hex.DecodeString(a.Signature)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[64:]) != string(challenge) {
			t.Error("reply does not end with the challenge bytes")
		}
		if !ed25519.Verify(pub, challenge, b[:64]) {
			t.Error("signature does not verify")
		}
		if !verifyCryptosign(pub, challenge, a.Signature) {
			t.Error("verifyCryptosign rejects a good reply")
		}
	}
	if bad := Cryptosign(priv[:31]); bad.HelloExtra() != nil {
		t.Errorf("invalid key offers %v", bad.HelloExtra())
	}
}

func TestAnonymousMethod(t *testing.T) {
	m := Anonymous()
	if m.Method() != "anonymous" || m.HelloExtra() != nil {
		t.Fatalf("Method/HelloExtra = %q/%v", m.Method(), m.HelloExtra())
	}
}

func TestToInt(t *testing.T) {
	tests := []struct {
		v    any
		want int
		ok   bool
	}{
		{int(5), 5, true}, {int8(-3), -3, true}, {int16(300), 300, true}, {int32(70000), 70000, true},
		{int64(1 << 40), 1 << 40, true}, {uint(7), 7, true}, {uint8(255), 255, true}, {uint16(65535), 65535, true},
		{uint32(1 << 31), 1 << 31, true}, {uint64(1 << 62), 1 << 62, true}, {uint64(1 << 63), 0, false},
		{float32(12), 12, true}, {float64(1000), 1000, true}, {1.5, 0, false}, {1e300, 0, false},
		{"12", 0, false}, {nil, 0, false}, {true, 0, false}, {List{1}, 0, false},
	}
	for _, tt := range tests {
		got, ok := toInt(tt.v)
		if got != tt.want || ok != tt.ok {
			t.Errorf("toInt(%T %v) = %d, %v; want %d, %v", tt.v, tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

// An answer computed by autobahn-python 26.10.2
// (CryptosignKey.from_bytes(bytes(range(32))).sign_challenge) for the
// challenge bytes 200, 199, ..., 169: Ed25519 is deterministic, so ours must
// be identical.
func TestCryptosignAutobahnVector(t *testing.T) {
	const (
		pubHex    = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
		challenge = "c8c7c6c5c4c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9"
		answer    = "b7c2ec0c6c508fb91e782de30cff6f56fe7db1fcdbf152b09f5796c9b849a150" +
			"7cfdd5ffce7ed97f5c0bf6b5df079c04e6543ceba85f0cd70caa23ab51a9c80b" + challenge
	)
	m := Cryptosign(testKey(0))
	if got := m.HelloExtra()["pubkey"]; got != pubHex {
		t.Fatalf("pubkey %v, want %s", got, pubHex)
	}
	a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "cryptosign", Extra: protocol.Dict{"challenge": challenge, "channel_binding": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Signature != answer {
		t.Errorf("answer\n%s\nwant autobahn's\n%s", a.Signature, answer)
	}
	pub, _ := hex.DecodeString(pubHex)
	raw, _ := hex.DecodeString(challenge)
	if !verifyCryptosign(pub, raw, answer) {
		t.Error("router side rejects autobahn's answer")
	}
}
