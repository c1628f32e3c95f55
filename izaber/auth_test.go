package izaber_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/izaber"
)

// WAMP-CRA (salted, on the router) and cryptosign log in from izaber.yaml,
// with the key file relative to the izaber.yaml that names it.
func TestLoginMethodsFromYAML(t *testing.T) {
	nr := newRouter(t)
	dir := t.TempDir()
	key := nr.User("trust-1").CryptosignKey
	if err := os.WriteFile(filepath.Join(dir, "trust.key"), []byte(hex.EncodeToString(key.Seed())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, method, conn string
	}{
		{"wampcra", "frontend-1", "wampcra", fmt.Sprintf("authmethods: [wampcra]\n      wampcra_secret: %q", nr.User("frontend-1").CRASecret)},
		{"cryptosign", "trust-1", "cryptosign", "authmethods: [cryptosign]\n      cryptosign_key_file: trust.key"},
		{"ticket", "backend-1", "ticket", fmt.Sprintf("authmethods: [ticket]\n      password: %q", nr.Password("backend-1"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".yaml")
			yaml := fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: %s\n      username: %s\n      %s\n", nr.URL(), tt.user, tt.conn)
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := izaber.Initialize(context.Background(), izaber.Source{File: file})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			info, _ := c.Info()
			me, err := c.WhoAmI(context.Background())
			if err != nil || me.AuthID != tt.user || info.AuthMethod != tt.method {
				t.Errorf("whoami %+v %v, authmethod %q; want %s by %s", me, err, info.AuthMethod, tt.user, tt.method)
			}
			if s := c.String(); strings.Contains(s, nr.User("frontend-1").CRASecret) {
				t.Errorf("String shows the secret: %s", s)
			}
		})
	}
	// A wrong CRA secret is a refused login that says which secret.
	yaml := fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: %s\n      username: frontend-1\n      authmethods: [wampcra]\n      wampcra_secret: not-it\n", nr.URL())
	_, err := izaber.Initialize(context.Background(), izaber.Source{YAML: yaml})
	if err == nil || !strings.Contains(err.Error(), "wrong username or WAMP-CRA secret for \"frontend-1\"") ||
		!strings.Contains(err.Error(), "came from YAML text: wamp.connection.wampcra_secret") || strings.Contains(err.Error(), "not-it") {
		t.Errorf("err = %v", err)
	}
}

func TestReadCryptosignKey(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(key.Seed())
	tests := []struct {
		name, content, errHas string
	}{
		{"seed hex", secret + "\n", ""},
		{"key hex", hex.EncodeToString(key), ""},
		{"pkcs8 pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), ""},
		{"openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n-----END OPENSSH PRIVATE KEY-----\n", "is an OpenSSH key"},
		{"short hex", secret[:20], "holds 10 bytes of hex"},
		{"garbage", "zz" + secret, "is neither hex nor PEM"},
		{"rsa pem", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte(secret)})), `holds a PEM "RSA PRIVATE KEY"`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := izaber.ReadCryptosignKey(p)
			if tt.errHas == "" {
				if err != nil || !got.Equal(key) {
					t.Fatalf("key %x, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want one naming the file and containing %q", err, tt.errHas)
			}
			if strings.Contains(err.Error(), secret[:16]) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
	if _, err := izaber.ReadCryptosignKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing file: %v", err)
	}
}
