package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// ABORT reasons the authenticators of this package use.
const (
	// ReasonNotAuthorized refuses a client: unknown principal, wrong
	// ticket, wrong signature (crossbar's default).
	ReasonNotAuthorized = protocol.URINotAuthorized
	// ReasonAuthenticationFailed reports a technical failure: a lookup
	// function that failed, a key derivation that could not run.
	ReasonAuthenticationFailed = protocol.URIAuthenticationFailed
)

// DefaultAuthProvider is Identity.AuthProvider when a lookup function leaves
// it empty.
const DefaultAuthProvider = "static"

// TicketFunc checks a ticket for req.AuthID. It returns the identity to
// welcome, or an error: a *Denied is sent to the client unchanged (reason and
// message), any other error becomes wamp.error.authentication_failed with a
// generic message. (nil, nil) refuses with wamp.error.not_authorized.
type TicketFunc func(ctx context.Context, req *Request, ticket string) (*Identity, error)

// CRAFunc looks up the WAMP-CRA principal req.AuthID. For an unknown
// principal it returns nil, or a decoy (CRAUser.Decoy) shaped like its real
// principals: either way the client gets a challenge and, after answering,
// the refusal a wrong signature gets, so it cannot tell the principal does
// not exist. A *Denied it returns is sent at once instead (which tells);
// other errors are handled as for TicketFunc.
type CRAFunc func(ctx context.Context, req *Request) (*CRAUser, error)

// CryptosignFunc looks up the principal owning the public key pubkeyHex (64
// lower-case hex digits, from HELLO authextra.pubkey). For an unknown key it
// returns nil: the client still gets a challenge and, after answering, the
// refusal a wrong signature gets. A *Denied it returns is sent at once
// instead; other errors are handled as for TicketFunc.
type CryptosignFunc func(ctx context.Context, req *Request, pubkeyHex string) (*Identity, error)

// CRAUser is a WAMP-CRA principal as the router knows it.
//
// Plain WAMP-CRA (Salt empty) signs with Secret. Salted WAMP-CRA sends Salt,
// Iterations and KeyLen to the client (zero means DefaultCRAIterations and
// DefaultCRAKeyLen) and signs with Key, the derived key; when Key is empty it
// is derived from Secret with DeriveCRAKey. Storing only Key lets a router
// keep no plain passwords.
//
// Identity fills WELCOME; an empty AuthID is the HELLO authid and an empty
// AuthProvider is DefaultAuthProvider. Its String, fmt, slog and JSON forms
// hide Secret and Key.
//
// Decoy marks a principal that does not exist: it is challenged like the
// others, with its Salt, Iterations and KeyLen (so that decoys can take the
// shape of real principals; the salt should be stable per authid), the key
// is derived from a random secret with the same work, and every answer is
// refused as a wrong signature.
type CRAUser struct {
	Secret     string
	Salt       string
	Iterations int
	KeyLen     int
	Key        string
	Decoy      bool
	Identity
}

func (u CRAUser) String() string {
	return fmt.Sprintf("auth.CRAUser{AuthID: %q, AuthRole: %q, salted: %t, secret: <redacted>}", u.AuthID, u.AuthRole, u.Salt != "")
}

// GoString hides the secrets from %#v.
func (u CRAUser) GoString() string { return u.String() }

// Format hides the secrets from every fmt verb.
func (u CRAUser) Format(f fmt.State, _ rune) { io.WriteString(f, u.String()) }

// MarshalJSON encodes the user without Secret and Key.
func (u CRAUser) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Salt       string `json:",omitempty"`
		Iterations int    `json:",omitempty"`
		KeyLen     int    `json:",omitempty"`
		Identity
	}{u.Salt, u.Iterations, u.KeyLen, u.Identity})
}

// LogValue hides the secrets from slog.
func (u CRAUser) LogValue() slog.Value { return slog.StringValue(u.String()) }

// AnonymousAuthenticator welcomes every client offering "anonymous" with the
// given role ("anonymous" when empty) and a random authid, whatever authid
// the client asked for.
func AnonymousAuthenticator(role string) Authenticator {
	if role == "" {
		role = "anonymous"
	}
	return anonymousAuthenticator{role: role}
}

type anonymousAuthenticator struct{ role string }

func (anonymousAuthenticator) Method() string { return MethodAnonymous }

func (a anonymousAuthenticator) Authenticate(ctx context.Context, req *Request, _ Challenger) (*Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Identity{AuthID: randomAuthID(), AuthRole: a.role, AuthMethod: MethodAnonymous, AuthProvider: DefaultAuthProvider}, nil
}

// randomAuthID returns a random id in crossbar's serial style, XXXX-XXXX-XXXX.
func randomAuthID() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // 32 symbols, no look-alikes
	var b [12]byte
	rand.Read(b[:])
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[c%32])
	}
	return sb.String()
}

// TicketAuthenticator runs ticket authentication: it sends an empty
// CHALLENGE and passes the ticket of the AUTHENTICATE reply to check. HELLO
// must carry an authid.
func TicketAuthenticator(check TicketFunc) Authenticator { return ticketAuthenticator{check: check} }

type ticketAuthenticator struct{ check TicketFunc }

func (ticketAuthenticator) Method() string { return MethodTicket }

func (a ticketAuthenticator) Authenticate(ctx context.Context, req *Request, challenge Challenger) (*Identity, error) {
	if req.AuthID == "" {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "ticket authentication requires an authid"}
	}
	reply, err := challenge(ctx, protocol.Dict{})
	if err != nil {
		return nil, fmt.Errorf("auth: ticket: %w", err)
	}
	id, err := a.check(ctx, req, reply.Signature)
	if err != nil {
		return nil, lookupFailed(err)
	}
	if id == nil {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "invalid ticket"}
	}
	return completeIdentity(id, MethodTicket, req.AuthID), nil
}

// CRAAuthenticator runs WAMP-CRA: for each attempt it builds a fresh
// challenge (a JSON object with authid, authrole, authmethod, authprovider,
// a random nonce, a UTC timestamp and the future session id), adds salt,
// iterations and keylen for salted principals, and compares the client's
// signature with the expected one in constant time. HELLO must carry an
// authid.
//
// The challenge tells nothing about the principal: its authrole is the role
// the client asked for in HELLO (usually empty), not the principal's, and an
// unknown principal (lookup returns nil or a decoy) gets a challenge of the
// same shape and, whatever it answers, the same refusal as a wrong
// signature, after the same work.
func CRAAuthenticator(lookup CRAFunc) Authenticator { return craAuthenticator{lookup: lookup} }

type craAuthenticator struct{ lookup CRAFunc }

func (craAuthenticator) Method() string { return MethodWAMPCRA }

// craChallenge is the challenge object; field order is fixed for readability.
type craChallenge struct {
	AuthID       string      `json:"authid"`
	AuthRole     string      `json:"authrole"`
	AuthMethod   string      `json:"authmethod"`
	AuthProvider string      `json:"authprovider"`
	Nonce        string      `json:"nonce"`
	Timestamp    string      `json:"timestamp"`
	Session      protocol.ID `json:"session"`
}

func (a craAuthenticator) Authenticate(ctx context.Context, req *Request, challenge Challenger) (*Identity, error) {
	if req.AuthID == "" {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "wampcra authentication requires an authid"}
	}
	user, err := a.lookup(ctx, req)
	if err != nil {
		return nil, lookupFailed(err)
	}
	if user == nil {
		user = &CRAUser{Decoy: true}
	}
	if user.Decoy {
		// Same work as a real principal, with a key nobody knows.
		d := *user
		d.Secret, d.Key = randomSecret(), ""
		if d.Salt == "" {
			d.Secret = ""
			d.Key = randomSecret()
		}
		user = &d
	}
	id := completeIdentity(&user.Identity, MethodWAMPCRA, req.AuthID)

	key := user.Secret
	extra := protocol.Dict{}
	if user.Salt != "" {
		iterations, keylen := user.Iterations, user.KeyLen
		if iterations <= 0 {
			iterations = DefaultCRAIterations
		}
		if keylen <= 0 {
			keylen = DefaultCRAKeyLen
		}
		if user.Key != "" {
			key = user.Key
		} else if key, err = deriveCRAKey(user.Secret, user.Salt, iterations, keylen); err != nil {
			return nil, &Denied{Reason: ReasonAuthenticationFailed, Message: "authentication failed", cause: err}
		}
		extra["salt"] = user.Salt
		extra["iterations"] = iterations
		extra["keylen"] = keylen
	} else if user.Key != "" {
		key = user.Key
	}

	var nonce [32]byte
	rand.Read(nonce[:])
	requestedRole, _ := req.Details["authrole"].(string)
	raw, err := json.Marshal(craChallenge{
		AuthID:       id.AuthID,
		AuthRole:     requestedRole,
		AuthMethod:   MethodWAMPCRA,
		AuthProvider: id.AuthProvider,
		Nonce:        base64.StdEncoding.EncodeToString(nonce[:]),
		Timestamp:    time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Session:      req.Session,
	})
	if err != nil { // cannot happen: strings and an integer
		return nil, &Denied{Reason: ReasonAuthenticationFailed, Message: "authentication failed", cause: err}
	}
	extra["challenge"] = string(raw)

	reply, err := challenge(ctx, extra)
	if err != nil {
		return nil, fmt.Errorf("auth: wampcra: %w", err)
	}
	want := SignCRA(key, string(raw))
	if !hmac.Equal([]byte(reply.Signature), []byte(want)) || user.Decoy {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "invalid signature"}
	}
	return id, nil
}

// randomSecret returns a secret nobody knows, for decoys.
func randomSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// CryptosignAuthenticator runs WAMP-Cryptosign: HELLO must carry
// authextra.pubkey (64 hex digits); lookup decides whether that key may
// join; the router then sends 32 random bytes as hex and verifies that the
// reply is hex(ed25519 signature ‖ the same 32 bytes) under that key. An
// unknown key gets a challenge too, its answer is verified the same way,
// and it is refused as a wrong signature is. TLS channel binding is not
// supported: a client that asks for it is refused.
func CryptosignAuthenticator(lookup CryptosignFunc) Authenticator {
	return cryptosignAuthenticator{lookup: lookup}
}

type cryptosignAuthenticator struct{ lookup CryptosignFunc }

func (cryptosignAuthenticator) Method() string { return MethodCryptosign }

func (a cryptosignAuthenticator) Authenticate(ctx context.Context, req *Request, challenge Challenger) (*Identity, error) {
	v, _ := req.AuthExtra["pubkey"].(string)
	pub, err := hex.DecodeString(v)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "cryptosign requires authextra.pubkey, an Ed25519 public key in hex"}
	}
	if cb, ok := req.AuthExtra["channel_binding"]; ok && cb != nil {
		return nil, &Denied{Reason: ReasonAuthenticationFailed, Message: "cryptosign channel binding is not supported"}
	}
	pubHex := hex.EncodeToString(pub)
	found, err := a.lookup(ctx, req, pubHex)
	if err != nil {
		return nil, lookupFailed(err)
	}

	var nonce [cryptosignChallengeLen]byte
	rand.Read(nonce[:])
	reply, err := challenge(ctx, protocol.Dict{"challenge": hex.EncodeToString(nonce[:]), "channel_binding": nil})
	if err != nil {
		return nil, fmt.Errorf("auth: cryptosign: %w", err)
	}
	// An unknown key's answer is verified too: the same work, the same
	// refusal.
	if !verifyCryptosign(ed25519.PublicKey(pub), nonce[:], reply.Signature) || found == nil {
		return nil, &Denied{Reason: ReasonNotAuthorized, Message: "invalid signature"}
	}
	authid := req.AuthID
	if authid == "" {
		authid = pubHex
	}
	return completeIdentity(found, MethodCryptosign, authid), nil
}

// verifyCryptosign checks that reply is hex(signature ‖ challenge) with a
// valid signature of challenge under pub.
func verifyCryptosign(pub ed25519.PublicKey, challenge []byte, reply string) bool {
	if len(reply) != 2*(ed25519.SignatureSize+len(challenge)) {
		return false
	}
	b, err := hex.DecodeString(reply)
	if err != nil {
		return false
	}
	sig, echoed := b[:ed25519.SignatureSize], b[ed25519.SignatureSize:]
	if subtle.ConstantTimeCompare(echoed, challenge) != 1 {
		return false
	}
	return ed25519.Verify(pub, challenge, sig)
}

// lookupFailed turns a lookup function's error into the error an
// authenticator returns: a *Denied anywhere in the chain passes unchanged;
// anything else is a technical failure whose text stays out of the ABORT.
func lookupFailed(err error) error {
	var d *Denied
	if errors.As(err, &d) {
		return err
	}
	return &Denied{Reason: ReasonAuthenticationFailed, Message: "authentication failed", cause: err}
}

// completeIdentity copies id, sets the method and fills the defaults.
func completeIdentity(id *Identity, method, authid string) *Identity {
	out := *id
	out.AuthMethod = method
	if out.AuthID == "" {
		out.AuthID = authid
	}
	if out.AuthProvider == "" {
		out.AuthProvider = DefaultAuthProvider
	}
	out.AuthExtra = maps.Clone(id.AuthExtra)
	return &out
}
