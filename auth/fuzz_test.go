package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// fuzzExtra decodes a fuzz input as a CHALLENGE extra; integers become int64
// as the serializers decode them.
func fuzzExtra(data []byte) (protocol.Dict, bool) {
	var raw map[string]any
	if json.Unmarshal(data, &raw) != nil {
		return nil, false
	}
	for k, v := range raw {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			raw[k] = int64(f)
		}
	}
	return raw, true
}

// FuzzCRARespond feeds arbitrary CHALLENGE extras to the WAMP-CRA client:
// it must never panic, never leak the secret in an error, and when it
// answers, the answer must be the HMAC of the challenge it was given.
func FuzzCRARespond(f *testing.F) {
	f.Add([]byte(`{"challenge": "[1, 2, 3]"}`))
	f.Add([]byte(`{"challenge": "[1, 2, 3]", "salt": "salt123", "iterations": 1000, "keylen": 32}`))
	f.Add([]byte(`{"challenge": "x", "salt": "s", "iterations": -1}`))
	f.Add([]byte(`{"challenge": "x", "salt": "s", "keylen": 1e300}`))
	f.Add([]byte(`{"challenge": 5, "salt": 7}`))
	f.Add([]byte(`{"challenge": "x", "salt": "s", "iterations": 1.5, "keylen": null}`))
	const secret = "fuzz-SECRET"
	m := WAMPCRA(secret)
	f.Fuzz(func(t *testing.T, data []byte) {
		extra, ok := fuzzExtra(data)
		if !ok {
			return
		}
		salt, iterations, keylen, salted, perr := craParams(extra)
		if salted && perr == nil && iterations*((keylen+31)/32) > 20000 {
			t.Skip("expensive but valid derivation; covered by unit tests")
		}
		a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "wampcra", Extra: extra})
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			if a != nil {
				t.Fatal("answer with an error")
			}
			return
		}
		challenge, _ := extra["challenge"].(string)
		key := secret
		if salted {
			key = DeriveCRAKey(secret, salt, iterations, keylen)
		}
		if a.Signature != SignCRA(key, challenge) {
			t.Fatalf("signature %q is not the HMAC of the challenge", a.Signature)
		}
		if b, err := base64.StdEncoding.DecodeString(a.Signature); err != nil || len(b) != 32 {
			t.Fatalf("signature %q is not base64 of 32 bytes", a.Signature)
		}
	})
}

// FuzzCryptosignRespond feeds arbitrary challenges to the cryptosign client:
// no panic, and any answer verifies under the public key.
func FuzzCryptosignRespond(f *testing.F) {
	f.Add(strings.Repeat("00", 32), false)
	f.Add(strings.Repeat("Ab", 32), false)
	f.Add(strings.Repeat("zz", 32), false)
	f.Add("abc", false)
	f.Add(strings.Repeat("00", 32), true)
	priv := testKey(11)
	pub := priv.Public().(ed25519.PublicKey)
	m := Cryptosign(priv)
	f.Fuzz(func(t *testing.T, challenge string, binding bool) {
		extra := protocol.Dict{"challenge": challenge}
		if binding {
			extra["channel_binding"] = "tls-unique"
		}
		a, err := m.Respond(context.Background(), &protocol.Challenge{AuthMethod: "cryptosign", Extra: extra})
		if err != nil {
			return
		}
		if binding {
			t.Fatal("answered a channel-bound challenge")
		}
		raw, herr := hex.DecodeString(challenge)
		if herr != nil || len(raw) != 32 {
			t.Fatalf("answered a malformed challenge %q", challenge)
		}
		if !verifyCryptosign(pub, raw, a.Signature) {
			t.Fatal("answer does not verify")
		}
	})
}

// FuzzCryptosignVerify feeds arbitrary AUTHENTICATE signatures to the
// router-side check: no panic, and only a genuine answer passes.
func FuzzCryptosignVerify(f *testing.F) {
	priv := testKey(12)
	pub := priv.Public().(ed25519.PublicKey)
	challenge := make([]byte, 32)
	challenge[0] = 42
	good := hex.EncodeToString(append(ed25519.Sign(priv, challenge), challenge...))
	f.Add(good)
	f.Add(good[:128])
	f.Add("")
	f.Add(strings.Repeat("0", 192))
	f.Add(strings.Repeat("g", 192))
	f.Fuzz(func(t *testing.T, reply string) {
		ok := verifyCryptosign(pub, challenge, reply)
		if ok && !strings.EqualFold(reply, good) {
			t.Fatalf("accepted a forged reply %q", reply)
		}
	})
}
