package izaber

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/zabertech/go-izaber-wamp/auth"
)

// The login methods of wamp.connection.authmethods, offered in HELLO in
// the order given:
//
//	ticket      the password (Config.Password) is sent as the ticket (Python's only method)
//	wampcra     WAMP-CRA, plain or salted, with CRASecret (wamp.connection.wampcra_secret;
//	            default: the password)
//	cryptosign  Ed25519, with CryptosignKey (wamp.connection.cryptosign_key_file)
//	anonymous   no credentials
//
// Python's izaber-wamp offers ticket only; the key authmethods is the one
// Python reads, wampcra_secret and cryptosign_key_file are ours.

// authMethods builds the client methods of cfg for the user with password.
func authMethods(cfg *Config, password string) ([]auth.ClientMethod, error) {
	var out []auth.ClientMethod
	for _, m := range cfg.AuthMethods {
		switch strings.ToLower(m) {
		case auth.MethodTicket:
			out = append(out, auth.Ticket(password))
		case auth.MethodWAMPCRA:
			secret := cfg.CRASecret
			if secret == "" {
				secret = password
			}
			out = append(out, auth.WAMPCRA(secret))
		case auth.MethodCryptosign:
			if len(cfg.CryptosignKey) != ed25519.PrivateKeySize {
				return nil, configErrorf("izaber: authmethod cryptosign needs a key: set wamp.connection.cryptosign_key_file (or Config.CryptosignKey)")
			}
			out = append(out, auth.Cryptosign(cfg.CryptosignKey))
		case auth.MethodAnonymous:
			out = append(out, auth.Anonymous())
		default:
			return nil, configErrorf("izaber: authmethod %q is not supported (use ticket, wampcra, cryptosign or anonymous)", m)
		}
	}
	return out, nil
}

// ReadCryptosignKey reads an Ed25519 private key for cryptosign from a
// file: the hex of the 32-byte seed (as autobahn and crossbar write it) or
// of the 64-byte key, or a PEM "PRIVATE KEY" (PKCS #8, as
// "openssl genpkey -algorithm ed25519" writes it). Errors never quote the
// file's content.
func ReadCryptosignKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	key, err := parseCryptosignKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

func parseCryptosignKey(b []byte) (ed25519.PrivateKey, error) {
	text := strings.TrimSpace(string(b))
	if strings.HasPrefix(text, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		return nil, errors.New("is an OpenSSH key; give the hex of the 32-byte seed or a PKCS #8 PEM key instead")
	}
	if block, _ := pem.Decode([]byte(text)); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("holds a PEM %q, want a PKCS #8 \"PRIVATE KEY\"", block.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("holds a PEM private key that does not parse as PKCS #8")
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("holds a %T, want an Ed25519 key", k)
		}
		return ek, nil
	}
	raw, err := hex.DecodeString(text)
	if err != nil {
		return nil, errors.New("is neither hex nor PEM: want the hex of the 32-byte seed, or a PKCS #8 PEM key")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("holds %d bytes of hex, want 32 (the seed) or 64", len(raw))
}
