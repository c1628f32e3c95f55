package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// The authmethod names of WAMP.
const (
	MethodAnonymous  = "anonymous"
	MethodTicket     = "ticket"
	MethodWAMPCRA    = "wampcra"
	MethodCryptosign = "cryptosign"
)

// Ticket returns the client method "ticket": it answers the router's
// CHALLENGE with the ticket itself. The ticket travels in clear inside
// AUTHENTICATE; use it over TLS or a local socket only.
func Ticket(ticket string) ClientMethod { return &ticketMethod{ticket: ticket} }

// WAMPCRA returns the client method "wampcra" (challenge-response with a
// shared secret). It signs the challenge with HMAC-SHA256 keyed with the
// secret or, when the challenge carries a salt, with the key DeriveCRAKey
// derives from it.
func WAMPCRA(secret string) ClientMethod { return &craMethod{secret: secret} }

// Cryptosign returns the client method "cryptosign" (Ed25519). HELLO carries
// the public key as authextra.pubkey; the answer to a challenge is the hex of
// the 64-byte signature of the 32 challenge bytes followed by those bytes.
// The key is copied. A key that is not ed25519.PrivateKeySize bytes long
// offers no pubkey and fails Respond with ErrInvalidKey. TLS channel binding
// is not supported: a challenge that asks for it is refused.
func Cryptosign(priv ed25519.PrivateKey) ClientMethod {
	m := &cryptosignMethod{}
	if len(priv) == ed25519.PrivateKeySize {
		m.priv = append(ed25519.PrivateKey(nil), priv...)
		m.pubHex = hex.EncodeToString(m.priv.Public().(ed25519.PublicKey))
	} else {
		m.badLen = len(priv)
	}
	return m
}

// Anonymous returns the client method "anonymous". It holds no secret and
// answers no challenge.
func Anonymous() ClientMethod { return anonymousMethod{} }

// checkChallenge rejects a nil CHALLENGE, one for another method, and a done
// context.
func checkChallenge(ctx context.Context, method string, c *protocol.Challenge) error {
	if c == nil {
		return fmt.Errorf("auth: %s: %w: nil CHALLENGE", method, ErrBadChallenge)
	}
	if c.AuthMethod != method {
		return fmt.Errorf("auth: %s: got a CHALLENGE for %s: %w", method, methodName(c.AuthMethod), ErrMethodMismatch)
	}
	return ctx.Err()
}

// methodName quotes a router-supplied authmethod for an error message if it
// looks like one (up to 32 characters of [a-z0-9_-]); anything else is
// summarised, so that no challenge material can reach an error.
func methodName(m string) string {
	if m == "" || len(m) > 32 {
		return fmt.Sprintf("an unexpected method name (%d bytes)", len(m))
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Sprintf("an unexpected method name (%d bytes)", len(m))
		}
	}
	return strconv.Quote(m)
}

// challengeString returns the string extra.challenge.
func challengeString(method string, c *protocol.Challenge) (string, error) {
	v, ok := c.Extra["challenge"]
	if !ok {
		return "", fmt.Errorf("auth: %s: %w: extra.challenge is missing", method, ErrBadChallenge)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("auth: %s: %w: extra.challenge is %s, want a string", method, ErrBadChallenge, typeName(v))
	}
	return s, nil
}

// The methods holding secrets implement String, GoString, fmt.Formatter and
// slog.LogValuer, so that no fmt verb or slog handler reaches their fields.

// ticketMethod answers "ticket" challenges. Immutable after construction.
type ticketMethod struct{ ticket string }

func (*ticketMethod) Method() string            { return MethodTicket }
func (*ticketMethod) HelloExtra() protocol.Dict { return nil }
func (m *ticketMethod) Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error) {
	if err := checkChallenge(ctx, MethodTicket, c); err != nil {
		return nil, err
	}
	return &protocol.Authenticate{Signature: m.ticket, Extra: protocol.Dict{}}, nil
}
func (m *ticketMethod) String() string             { return "auth.Ticket(<redacted>)" }
func (m *ticketMethod) GoString() string           { return m.String() }
func (m *ticketMethod) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }
func (m *ticketMethod) LogValue() slog.Value       { return slog.StringValue(m.String()) }

// craMethod answers "wampcra" challenges. Immutable after construction.
type craMethod struct{ secret string }

func (*craMethod) Method() string            { return MethodWAMPCRA }
func (*craMethod) HelloExtra() protocol.Dict { return nil }
func (m *craMethod) Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error) {
	if err := checkChallenge(ctx, MethodWAMPCRA, c); err != nil {
		return nil, err
	}
	challenge, err := challengeString(MethodWAMPCRA, c)
	if err != nil {
		return nil, err
	}
	key := m.secret
	salt, iterations, keylen, salted, err := craParams(c.Extra)
	if err != nil {
		return nil, fmt.Errorf("auth: wampcra: %w", err)
	}
	if salted {
		if key, err = deriveCRAKey(m.secret, salt, iterations, keylen); err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrBadChallenge)
		}
	}
	return &protocol.Authenticate{Signature: SignCRA(key, challenge), Extra: protocol.Dict{}}, nil
}
func (m *craMethod) String() string             { return "auth.WAMPCRA(<redacted>)" }
func (m *craMethod) GoString() string           { return m.String() }
func (m *craMethod) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }
func (m *craMethod) LogValue() slog.Value       { return slog.StringValue(m.String()) }

// cryptosignMethod answers "cryptosign" challenges. Immutable after
// construction.
type cryptosignMethod struct {
	priv   ed25519.PrivateKey // nil when the key given had the wrong size
	pubHex string
	badLen int
}

func (*cryptosignMethod) Method() string { return MethodCryptosign }

// HelloExtra returns {"pubkey": <public key hex>}, or nil for an invalid key.
func (m *cryptosignMethod) HelloExtra() protocol.Dict {
	if m.priv == nil {
		return nil
	}
	return protocol.Dict{"pubkey": m.pubHex}
}

func (m *cryptosignMethod) Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error) {
	if err := checkChallenge(ctx, MethodCryptosign, c); err != nil {
		return nil, err
	}
	if m.priv == nil {
		return nil, fmt.Errorf("auth: cryptosign: %w: %d bytes, want %d", ErrInvalidKey, m.badLen, ed25519.PrivateKeySize)
	}
	if cb, ok := c.Extra["channel_binding"]; ok && cb != nil {
		return nil, fmt.Errorf("auth: cryptosign: %w: channel binding is not supported", ErrBadChallenge)
	}
	s, err := challengeString(MethodCryptosign, c)
	if err != nil {
		return nil, err
	}
	if len(s) != 2*cryptosignChallengeLen {
		return nil, fmt.Errorf("auth: cryptosign: %w: extra.challenge has %d characters, want %d hex digits", ErrBadChallenge, len(s), 2*cryptosignChallengeLen)
	}
	challenge, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("auth: cryptosign: %w: extra.challenge is not hex", ErrBadChallenge)
	}
	sig := ed25519.Sign(m.priv, challenge)
	return &protocol.Authenticate{Signature: hex.EncodeToString(append(sig, challenge...)), Extra: protocol.Dict{}}, nil
}

func (m *cryptosignMethod) String() string {
	if m.priv == nil {
		return "auth.Cryptosign(<invalid key>)"
	}
	return "auth.Cryptosign(pubkey " + m.pubHex + ")"
}
func (m *cryptosignMethod) GoString() string           { return m.String() }
func (m *cryptosignMethod) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }
func (m *cryptosignMethod) LogValue() slog.Value       { return slog.StringValue(m.String()) }

// cryptosignChallengeLen is the size of a cryptosign challenge in bytes.
const cryptosignChallengeLen = 32

// anonymousMethod is the "anonymous" client method.
type anonymousMethod struct{}

func (anonymousMethod) Method() string            { return MethodAnonymous }
func (anonymousMethod) HelloExtra() protocol.Dict { return nil }
func (anonymousMethod) Respond(ctx context.Context, c *protocol.Challenge) (*protocol.Authenticate, error) {
	if err := checkChallenge(ctx, MethodAnonymous, c); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("auth: anonymous: %w: anonymous authentication takes no challenge", ErrBadChallenge)
}
func (anonymousMethod) String() string { return "auth.Anonymous()" }
