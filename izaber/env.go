package izaber

import (
	"fmt"
	"os"
	"strings"

	"github.com/zabertech/go-izaber-wamp/auth"
)

// Environment variables that Load applies over izaber.yaml, the same ones
// the izaber-wamp command reads: izaber.yaml < environment < the program
// (what it sets in the Config after Load, such as command-line flags).
// With none of them set and no izaber.yaml, Load fails with ErrNoConfig.
const (
	EnvURL        = "IZABER_URL"        // wamp.connection.url
	EnvRealm      = "IZABER_REALM"      // wamp.connection.realm
	EnvUser       = "IZABER_USER"       // wamp.connection.username (and authid)
	EnvPassword   = "IZABER_PASSWORD"   // wamp.connection.password
	EnvSerializer = "IZABER_SERIALIZER" // wamp.connection.serializers, comma separated
	EnvURIBase    = "IZABER_URI_BASE"   // wamp.connection.uri_base; "-" for none

	EnvAuthMethods       = "IZABER_AUTHMETHODS"         // wamp.connection.authmethods, comma separated
	EnvWAMPCRASecret     = "IZABER_WAMPCRA_SECRET"      // wamp.connection.wampcra_secret
	EnvCryptosignKeyFile = "IZABER_CRYPTOSIGN_KEY_FILE" // wamp.connection.cryptosign_key_file
)

// connectionEnv lists the variables applyEnv reads, in order.
var connectionEnv = []string{EnvURL, EnvRealm, EnvUser, EnvPassword, EnvSerializer, EnvURIBase,
	EnvAuthMethods, EnvWAMPCRASecret, EnvCryptosignKeyFile}

// envConfigured reports whether any connection variable is set.
func envConfigured() bool {
	for _, name := range connectionEnv {
		if os.Getenv(name) != "" {
			return true
		}
	}
	return false
}

// applyEnv sets the fields of c named by the connection variables that
// are set (an empty variable counts as unset).
func applyEnv(c *Config) error {
	if v := os.Getenv(EnvURL); v != "" {
		c.URL = v
		c.setFrom("url", "$"+EnvURL)
	}
	if v := os.Getenv(EnvRealm); v != "" {
		c.Realm = v
		c.setFrom("realm", "$"+EnvRealm)
	}
	if v := os.Getenv(EnvUser); v != "" {
		c.Username, c.AuthID = v, ""
		c.setFrom("username", "$"+EnvUser)
	}
	if v := os.Getenv(EnvPassword); v != "" {
		c.Password = v
		c.setFrom("password", "$"+EnvPassword)
	}
	if v := os.Getenv(EnvSerializer); v != "" {
		list, err := ParseSerializers(v)
		if err != nil {
			return configErrorf("izaber: $%s %w", EnvSerializer, err)
		}
		c.Serializers = list
		c.setFrom("serializers", "$"+EnvSerializer)
	}
	if v := os.Getenv(EnvURIBase); v != "" {
		c.SetURIBase(v)
		c.setFrom("uri_base", "$"+EnvURIBase)
	}
	if v := os.Getenv(EnvAuthMethods); v != "" {
		list, err := ParseAuthMethods(v)
		if err != nil {
			return configErrorf("izaber: $%s %w", EnvAuthMethods, err)
		}
		c.AuthMethods = list
		c.setFrom("authmethods", "$"+EnvAuthMethods)
	}
	if v := os.Getenv(EnvWAMPCRASecret); v != "" {
		c.CRASecret = v
		c.setFrom("wampcra_secret", "$"+EnvWAMPCRASecret)
	}
	if v := os.Getenv(EnvCryptosignKeyFile); v != "" {
		key, err := ReadCryptosignKey(v)
		if err != nil {
			return configErrorf("izaber: $%s: %v", EnvCryptosignKeyFile, err)
		}
		c.CryptosignKey = key
		c.setFrom("cryptosign_key_file", "$"+EnvCryptosignKeyFile)
	}
	return nil
}

// ParseAuthMethods parses a comma-separated list of login methods
// (ticket, wampcra, cryptosign, anonymous), as $IZABER_AUTHMETHODS holds.
func ParseAuthMethods(list string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(list, ",") {
		m = strings.ToLower(strings.TrimSpace(m))
		switch m {
		case auth.MethodTicket, auth.MethodWAMPCRA, auth.MethodCryptosign, auth.MethodAnonymous:
			out = append(out, m)
		default:
			return nil, fmt.Errorf("names the unknown login method %q (want ticket, wampcra, cryptosign or anonymous)", m)
		}
	}
	return out, nil
}

// ParseSerializers parses a comma-separated list of serializer names
// (cbor, msgpack, json), as $IZABER_SERIALIZER holds.
func ParseSerializers(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		switch s {
		case "cbor", "msgpack", "json":
			out = append(out, s)
		default:
			return nil, fmt.Errorf("names the unknown serializer %q (want cbor, msgpack or json)", s)
		}
	}
	return out, nil
}

// SetURIBase sets the URI prefix as uri_base in izaber.yaml does: a
// trailing dot is dropped, and "" or "-" turns prefixing off.
func (c *Config) SetURIBase(base string) {
	base = strings.TrimSuffix(base, ".")
	if base == "" || base == "-" {
		c.URIBase, c.NoURIBase = "", true
		return
	}
	c.URIBase, c.NoURIBase = base, false
}
