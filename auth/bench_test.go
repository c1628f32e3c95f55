package auth

import (
	"context"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

func BenchmarkSignCRA(b *testing.B) {
	challenge := `{"authid":"peter","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","timestamp":"2026-11-24T19:00:00.000Z","session":1234567890}`
	b.ReportAllocs()
	for b.Loop() {
		SignCRA(vecSecret, challenge)
	}
}

func BenchmarkDeriveCRAKey1000(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		DeriveCRAKey(vecSecret, vecSalt, 1000, 32)
	}
}

// BenchmarkCRAAuthenticate is one whole router-side verification (fresh
// challenge, client signature, constant-time check), plain and salted with a
// stored key.
func BenchmarkCRAAuthenticate(b *testing.B) {
	for _, tt := range []struct {
		name string
		user *CRAUser
	}{
		{"plain", &CRAUser{Secret: vecSecret, Identity: Identity{AuthRole: "user"}}},
		{"salted-stored-key", &CRAUser{Salt: vecSalt, Key: vecDerived, Identity: Identity{AuthRole: "user"}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			a := CRAAuthenticator(func(context.Context, *Request) (*CRAUser, error) { return tt.user, nil })
			client := WAMPCRA(vecSecret)
			ch := func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
				return client.Respond(ctx, &protocol.Challenge{AuthMethod: MethodWAMPCRA, Extra: extra})
			}
			req := &Request{AuthID: "peter", Session: 1}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(context.Background(), req, ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCryptosignAuthenticate(b *testing.B) {
	priv := testKey(1)
	client := Cryptosign(priv)
	a := CryptosignAuthenticator(func(context.Context, *Request, string) (*Identity, error) { return &Identity{AuthRole: "x"}, nil })
	ch := func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
		return client.Respond(ctx, &protocol.Challenge{AuthMethod: MethodCryptosign, Extra: extra})
	}
	req := &Request{AuthID: "d", AuthExtra: client.HelloExtra()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(context.Background(), req, ch); err != nil {
			b.Fatal(err)
		}
	}
}
