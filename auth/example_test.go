package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// A client answers a salted WAMP-CRA challenge. In a session the CHALLENGE
// comes from the router; session.Join calls Respond for you.
func ExampleWAMPCRA() {
	m := auth.WAMPCRA("L3L1YUE8Txlw")
	reply, err := m.Respond(context.Background(), &protocol.Challenge{
		AuthMethod: "wampcra",
		Extra:      protocol.Dict{"challenge": "[1, 2, 3]", "salt": "salt123", "iterations": 1000, "keylen": 32},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reply.Signature)
	fmt.Println(m) // secrets never show
	// Output:
	// c3pCfyceJEbMIYZ/MRvn3RbPu4aqaQ/IeiCmHKfGMx4=
	// auth.WAMPCRA(<redacted>)
}

// A challenge for a method the client did not offer is refused, so that no
// secret is ever sent in answer to it.
func ExampleWAMPCRA_mismatch() {
	_, err := auth.WAMPCRA("secret").Respond(context.Background(), &protocol.Challenge{AuthMethod: "ticket"})
	fmt.Println(errors.Is(err, auth.ErrMethodMismatch))
	// Output: true
}

// The salted WAMP-CRA key is the Base64 text of the PBKDF2 output; a router
// can store it instead of the password (CRAUser.Key).
func ExampleDeriveCRAKey() {
	key := auth.DeriveCRAKey("L3L1YUE8Txlw", "salt123", 1000, 32)
	fmt.Println(key)
	fmt.Println(auth.SignCRA(key, "[1, 2, 3]"))
	// Output:
	// qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y=
	// c3pCfyceJEbMIYZ/MRvn3RbPu4aqaQ/IeiCmHKfGMx4=
}

// A cryptosign client announces its public key in HELLO.
func ExampleCryptosign() {
	seed := make([]byte, ed25519.SeedSize) // use a real secret seed
	m := auth.Cryptosign(ed25519.NewKeyFromSeed(seed))
	fmt.Println(m.HelloExtra()["pubkey"])
	// Output: 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29
}

// A router offers WAMP-CRA for users kept with derived keys only. Here the
// client answers directly; a real router passes the authenticator to
// session.Accept (or router.RealmConfig).
func ExampleCRAAuthenticator() {
	users := map[string]*auth.CRAUser{
		"peter": {
			Salt: "pepper", Key: auth.DeriveCRAKey("s3cret", "pepper", 0, 0),
			Identity: auth.Identity{AuthRole: "user"},
		},
	}
	router := auth.CRAAuthenticator(func(ctx context.Context, req *auth.Request) (*auth.CRAUser, error) {
		return users[req.AuthID], nil // nil: unknown principal
	})

	for _, password := range []string{"s3cret", "guess"} {
		client := auth.WAMPCRA(password)
		challenge := func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
			return client.Respond(ctx, &protocol.Challenge{AuthMethod: "wampcra", Extra: extra})
		}
		id, err := router.Authenticate(context.Background(), &auth.Request{Realm: "realm1", AuthID: "peter", Session: 1}, challenge)
		var denied *auth.Denied
		switch {
		case errors.As(err, &denied):
			fmt.Println("ABORT", denied.Reason, denied.Message)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Println("WELCOME", id.AuthID, id.AuthRole, id.AuthMethod)
		}
	}
	// Output:
	// WELCOME peter user wampcra
	// ABORT wamp.error.not_authorized invalid signature
}

// A ticket check can refuse with its own reason, as Nexus does; the client
// gets exactly that ABORT.
func ExampleTicketAuthenticator() {
	a := auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
		if req.AuthID == "alice" && subtle.ConstantTimeCompare([]byte(ticket), []byte("t0ken")) == 1 {
			return &auth.Identity{AuthRole: "frontend"}, nil
		}
		return nil, &auth.Denied{Reason: "com.izaber.wamp.error.permissiondenied", Message: "Permission Denied"}
	})
	client := auth.Ticket("wrong")
	_, err := a.Authenticate(context.Background(), &auth.Request{AuthID: "alice"},
		func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
			return client.Respond(ctx, &protocol.Challenge{AuthMethod: "ticket", Extra: extra})
		})
	fmt.Println(err)
	// Output: auth: denied: com.izaber.wamp.error.permissiondenied: Permission Denied
}

// A router throttles failed logins by wrapping its authenticators: after
// three failures in a row for an authid (or from a remote address), its
// next attempts wait for their turn, 250 ms and doubling.
func ExampleThrottle() {
	throttle := auth.NewThrottle(auth.ThrottleConfig{})
	a := throttle.Authenticator(auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
		if subtle.ConstantTimeCompare([]byte(ticket), []byte("t0ken")) == 1 {
			return &auth.Identity{AuthRole: "user"}, nil
		}
		return nil, nil
	}))
	var last time.Duration
	for _, ticket := range []string{"guess1", "guess2", "guess3", "guess4"} {
		client := auth.Ticket(ticket)
		start := time.Now()
		_, err := a.Authenticate(context.Background(), &auth.Request{AuthID: "alice"},
			func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error) {
				return client.Respond(ctx, &protocol.Challenge{AuthMethod: "ticket", Extra: extra})
			})
		last = time.Since(start)
		fmt.Println(err)
	}
	fmt.Println("the fourth guess waited 250 ms:", last >= 250*time.Millisecond)
	// Output:
	// auth: denied: wamp.error.not_authorized: invalid ticket
	// auth: denied: wamp.error.not_authorized: invalid ticket
	// auth: denied: wamp.error.not_authorized: invalid ticket
	// auth: denied: wamp.error.not_authorized: invalid ticket
	// the fourth guess waited 250 ms: true
}
