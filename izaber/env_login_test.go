package izaber_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zabertech/go-izaber-wamp/izaber"
)

// The login-method variables, like the others, override izaber.yaml and
// say where a setting came from; a bad value is a configuration error.
func TestLoadLoginMethodEnvironment(t *testing.T) {
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(seed)), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "default:\n  wamp:\n    connection:\n      url: ws://127.0.0.1:1/ws\n      authmethods: [ticket]\n      wampcra_secret: from-yaml\n"
	t.Setenv(izaber.EnvAuthMethods, "WAMPCRA, cryptosign")
	t.Setenv(izaber.EnvWAMPCRASecret, "from-env")
	t.Setenv(izaber.EnvCryptosignKeyFile, keyFile)
	s, err := izaber.Load(izaber.Source{YAML: yaml})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config
	if !slices.Equal(c.AuthMethods, []string{"wampcra", "cryptosign"}) || c.CRASecret != "from-env" ||
		!c.CryptosignKey.Equal(ed25519.NewKeyFromSeed(seed)) {
		t.Fatalf("authmethods %q, secret from env %v, key read %v", c.AuthMethods, c.CRASecret == "from-env", c.CryptosignKey != nil)
	}
	for key, want := range map[string]string{"authmethods": "$IZABER_AUTHMETHODS", "wampcra_secret": "$IZABER_WAMPCRA_SECRET", "cryptosign_key_file": "$IZABER_CRYPTOSIGN_KEY_FILE"} {
		if c.From[key] != want {
			t.Errorf("From[%q] = %q, want %q", key, c.From[key], want)
		}
	}
	for name, value := range map[string]string{izaber.EnvAuthMethods: "ticket,kerberos", izaber.EnvCryptosignKeyFile: filepath.Join(dir, "missing")} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := izaber.Load(izaber.Source{YAML: yaml}); !errors.Is(err, izaber.ErrConfig) {
				t.Fatalf("%s=%s: %v, want an ErrConfig", name, value, err)
			}
		})
	}
}
