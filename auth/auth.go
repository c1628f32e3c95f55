package auth

import (
	"context"
	"fmt"
	"net"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// ClientMethod is one authentication method on the client side.
type ClientMethod interface {
	// Method is the WAMP authmethod name: "ticket", "wampcra",
	// "cryptosign" or "anonymous".
	Method() string
	// HelloExtra returns entries to merge into HELLO.Details.authextra
	// (cryptosign's pubkey), or nil.
	HelloExtra() protocol.Dict
	// Respond answers a CHALLENGE for this method.
	Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error)
}

// MultiRound is implemented by a ClientMethod whose exchange takes more
// than one CHALLENGE. Rounds is how many CHALLENGEs it answers in one
// join. A method without it answers one: ticket, WAMP-CRA and cryptosign
// (the methods of this package) are single-round in the WAMP
// specification, so a router that challenges again is refused at once
// rather than handed a second answer (see session.Join).
type MultiRound interface {
	Rounds() int
}

// Request is what the router knows about a client that sent HELLO.
type Request struct {
	Realm       string
	AuthID      string
	AuthMethods []string
	AuthExtra   protocol.Dict
	// Details is the whole HELLO.Details.
	Details protocol.Dict
	// Session is the id the session will have if it is welcomed; WAMP-CRA
	// puts it into its challenge.
	Session protocol.ID
	// Transport describes the connection, such as "websocket" or "rawsocket".
	Transport string
	// RemoteAddr is the client's address, or nil when the connection has
	// none (an in-memory pipe). Behind a proxy it is the proxy's.
	RemoteAddr net.Addr
}

// Identity is the outcome of a successful authentication; it fills WELCOME.
type Identity struct {
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	AuthExtra    protocol.Dict
}

// Challenger sends one CHALLENGE with the given extra to the client and
// returns its AUTHENTICATE reply.
type Challenger func(ctx context.Context, extra protocol.Dict) (*protocol.Authenticate, error)

// Authenticator is one authentication method on the router side. It runs the
// whole exchange for one client: zero challenges (anonymous), one (ticket,
// WAMP-CRA, cryptosign) or several.
type Authenticator interface {
	Method() string
	Authenticate(ctx context.Context, req *Request, challenge Challenger) (*Identity, error)
}

// Denied is the error an Authenticator returns to refuse a client; the
// router turns it into ABORT with Reason and Details.message = Message.
//
// Message is sent to the client, so it must hold no secret. The
// authenticators of this package turn a failing lookup function into a Denied
// whose cause (the lookup's error) is kept for errors.Is/As and logs but is
// never part of Error() or the ABORT.
type Denied struct {
	Reason  string
	Message string

	cause error
}

func (d *Denied) Error() string {
	return fmt.Sprintf("auth: denied: %s: %s", d.Reason, d.Message)
}

// Unwrap returns the internal error that caused the denial, if any.
func (d *Denied) Unwrap() error { return d.cause }
