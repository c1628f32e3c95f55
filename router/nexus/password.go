package nexus

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultHashIterations is the PBKDF2 iteration count HashPassword uses.
const DefaultHashIterations = 100_000

// nexusKeyRounds is the PBKDF2 iteration count of API key and OTP digests.
// It is passlib's default for pbkdf2_sha256, which Nexus uses, so digests
// computed here equal the ones Nexus stores for the same login and key.
const nexusKeyRounds = 29000

// Iteration counts in use; tests lower them to keep PBKDF2 cheap.
var (
	keyDigestRounds    = nexusKeyRounds
	passwordIterations = DefaultHashIterations
)

// passlib's "adapted base64": standard alphabet with '.' for '+', no padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

// errBadHash is returned for a password_hash that is not in the supported form.
var errBadHash = errors.New(`password_hash must have the form "$pbkdf2-sha256$<iterations>$<salt>$<checksum>" (passlib's pbkdf2_sha256 format)`)

// HashPassword returns a salted PBKDF2-SHA256 hash of password in passlib's
// pbkdf2_sha256 format ("$pbkdf2-sha256$<iterations>$<salt>$<checksum>"), the
// form Nexus stores and the users file accepts as password_hash.
func HashPassword(password string) (string, error) {
	return hashPassword(password, passwordIterations)
}

func hashPassword(password string, iterations int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("nexus: hash password: %w", err)
	}
	sum, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("nexus: hash password: %w", err)
	}
	return "$pbkdf2-sha256$" + strconv.Itoa(iterations) + "$" + ab64.EncodeToString(salt) + "$" + ab64.EncodeToString(sum), nil
}

// passwordHash is a parsed passlib pbkdf2_sha256 hash.
type passwordHash struct {
	iterations int
	salt, sum  []byte
}

// maxHashIterations bounds the work one login can cost.
const maxHashIterations = 10_000_000

func parsePasswordHash(s string) (*passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "pbkdf2-sha256" {
		return nil, errBadHash
	}
	it, err := strconv.Atoi(parts[2])
	if err != nil || it < 1 || it > maxHashIterations {
		return nil, fmt.Errorf("%w: bad iteration count", errBadHash)
	}
	salt, err := ab64.DecodeString(parts[3])
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("%w: bad salt", errBadHash)
	}
	sum, err := ab64.DecodeString(parts[4])
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%w: bad checksum", errBadHash)
	}
	return &passwordHash{iterations: it, salt: salt, sum: sum}, nil
}

// verify reports whether password matches the hash, in constant time.
func (h *passwordHash) verify(password string) bool {
	sum, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, len(h.sum))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(sum, h.sum) == 1
}

// keyDigest is the stored digest of an API key or OTP: PBKDF2-SHA256 with the
// login as salt, URL-safe base64 without padding, as Nexus computes it. A
// fixed salt lets a login look a presented key up with one derivation.
func keyDigest(login, plaintext string) string {
	return keyDigestN(login, plaintext, keyDigestRounds)
}

func keyDigestN(login, plaintext string, rounds int) string {
	sum, err := pbkdf2.Key(sha256.New, plaintext, []byte(login), rounds, sha256.Size)
	if err != nil {
		// Only reachable with FIPS-140 restrictions on short salts; make the
		// digest unusable rather than guessable.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// equalSecret compares two secrets in constant time (for equal lengths).
func equalSecret(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// newToken returns n random bytes as URL-safe base64 without padding, like
// Python's secrets.token_urlsafe(n).
func newToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// newUUID returns a random 16-byte id as URL-safe base64 without padding,
// the form of Nexus record uuids ("dgvlMoyfS3WkIrP0xACV6g").
func newUUID() string { return newToken(16) }
