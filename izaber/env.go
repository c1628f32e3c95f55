package izaber

import (
	"fmt"
	"os"
	"strings"
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
)

// connectionEnv lists the variables applyEnv reads, in order.
var connectionEnv = []string{EnvURL, EnvRealm, EnvUser, EnvPassword, EnvSerializer, EnvURIBase}

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
	return nil
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
