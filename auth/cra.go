package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
)

// WAMP-CRA key derivation defaults, used when a salted challenge (or a
// CRAUser) leaves iterations or keylen out. They match autobahn, crossbar and
// nexus.
const (
	DefaultCRAIterations = 1000
	DefaultCRAKeyLen     = 32
)

// craMaxWork bounds the PBKDF2 work a challenge can ask of a client:
// iterations times the number of SHA-256 blocks in the derived key. A router
// that asks for more is refused rather than allowed to burn the CPU.
const craMaxWork = 1 << 24

// DeriveCRAKey derives the HMAC key of salted WAMP-CRA: the standard Base64
// text of PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen), where the salt
// is used as its UTF-8 bytes (not Base64-decoded). Iterations or keylen ≤ 0
// mean DefaultCRAIterations and DefaultCRAKeyLen.
//
// It returns the empty string when the parameters are refused: more work than
// a client would accept (iterations × ⌈keylen/32⌉ above 2^24), or a
// derivation crypto/pbkdf2 rejects (for example in FIPS 140-only mode).
func DeriveCRAKey(secret, salt string, iterations, keylen int) string {
	k, err := deriveCRAKey(secret, salt, iterations, keylen)
	if err != nil {
		return ""
	}
	return k
}

func deriveCRAKey(secret, salt string, iterations, keylen int) (string, error) {
	if iterations <= 0 {
		iterations = DefaultCRAIterations
	}
	if keylen <= 0 {
		keylen = DefaultCRAKeyLen
	}
	blocks := (keylen + sha256.Size - 1) / sha256.Size
	if keylen > craMaxWork || iterations > craMaxWork/blocks {
		return "", fmt.Errorf("auth: wampcra: key derivation with %d iterations and keylen %d is too expensive", iterations, keylen)
	}
	dk, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keylen)
	if err != nil {
		// crypto/pbkdf2 errors name parameters, never the password.
		return "", fmt.Errorf("auth: wampcra: key derivation: %w", err)
	}
	return base64.StdEncoding.EncodeToString(dk), nil
}

// SignCRA returns the WAMP-CRA signature of a challenge: the standard Base64
// of HMAC-SHA256 keyed with the bytes of key over the bytes of challenge,
// exactly as received. For salted WAMP-CRA the key is DeriveCRAKey's output.
func SignCRA(key, challenge string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// craParams reads salt, iterations and keylen from a WAMP-CRA CHALLENGE
// extra. salted is false when there is no salt or it is empty.
func craParams(extra map[string]any) (salt string, iterations, keylen int, salted bool, err error) {
	v, ok := extra["salt"]
	if !ok || v == nil {
		return "", 0, 0, false, nil
	}
	salt, ok = v.(string)
	if !ok {
		return "", 0, 0, false, fmt.Errorf("%w: extra.salt is %s, want a string", ErrBadChallenge, typeName(v))
	}
	if salt == "" {
		return "", 0, 0, false, nil
	}
	iterations, err = craCount(extra, "iterations", DefaultCRAIterations)
	if err != nil {
		return "", 0, 0, false, err
	}
	keylen, err = craCount(extra, "keylen", DefaultCRAKeyLen)
	if err != nil {
		return "", 0, 0, false, err
	}
	return salt, iterations, keylen, true, nil
}

// craCount reads a positive integer field, or def when it is absent or null.
func craCount(extra map[string]any, name string, def int) (int, error) {
	v, ok := extra[name]
	if !ok || v == nil {
		return def, nil
	}
	n, ok := toInt(v)
	if !ok || n <= 0 {
		return 0, fmt.Errorf("%w: extra.%s must be a positive integer", ErrBadChallenge, name)
	}
	return n, nil
}

// toInt converts any decoded integer (or integral float) to an int.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int8:
		return int(x), true
	case int16:
		return int(x), true
	case int32:
		return int(x), true
	case int64:
		if x > math.MaxInt || x < math.MinInt {
			return 0, false
		}
		return int(x), true
	case uint:
		if x > math.MaxInt {
			return 0, false
		}
		return int(x), true
	case uint8:
		return int(x), true
	case uint16:
		return int(x), true
	case uint32:
		return int(x), true
	case uint64:
		if x > math.MaxInt {
			return 0, false
		}
		return int(x), true
	case float32:
		return floatToInt(float64(x))
	case float64:
		return floatToInt(x)
	}
	return 0, false
}

func floatToInt(f float64) (int, bool) {
	if f != math.Trunc(f) || f > 1<<53 || f < -(1<<53) {
		return 0, false
	}
	return int(f), true
}

// typeName names the dynamic type of a decoded value for error messages,
// without showing the value.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case []byte:
		return "binary"
	case []any:
		return "a list"
	case map[string]any:
		return "a dict"
	}
	if _, ok := toInt(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// Errors returned by the client methods' Respond; match them with errors.Is.
var (
	// ErrMethodMismatch: the CHALLENGE names another authmethod than the
	// one asked to answer it. The session must ABORT, never answer.
	ErrMethodMismatch = errors.New("auth: challenge is for another authentication method")
	// ErrBadChallenge: the CHALLENGE extra is missing fields or has
	// malformed ones.
	ErrBadChallenge = errors.New("auth: malformed challenge")
	// ErrInvalidKey: a cryptosign private key of the wrong size.
	ErrInvalidKey = errors.New("auth: invalid private key")
)
