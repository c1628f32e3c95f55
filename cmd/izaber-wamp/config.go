package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/izaber"
)

const redactedText = "[redacted]"

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "print the effective connection settings (secrets redacted) and where they came from",
		GroupID: groupTools,
		Long: `Prints, as JSON, the connection settings the other commands would use:
izaber.yaml (found in ., ~, then the user data directory, else
$IZABER_YAML; or --config FILE), the environment merged over "default"
(--env or $IZABER_ENVIRONMENT), then the IZABER_* environment variables,
then the flags. "source" names the file, "overrides" lists the variables
and flags that changed it, "password" says only whether one is set and
where it comes from, and "values" is the whole merged izaber.yaml
environment with every secret-looking value redacted. It does not connect.`,
		Example: `  izaber-wamp config
  izaber-wamp config --env staging
  IZABER_URL=ws://127.0.0.1:8282/ws izaber-wamp config | jq .connection.url`,
	}
	e := a.client(cmd)
	cmd.Args = noArgs
	cmd.RunE = e.runE(func(ctx context.Context, _ []string) int { return e.runConfig(ctx) })
	return cmd
}

func (e *env) runConfig(ctx context.Context) int {
	st, err := e.conn.load()
	if err != nil {
		return e.fail(err)
	}
	cfg := st.cfg
	cfg.Logger = e.logger()
	c, err := izaber.New(cfg) // fills in the defaults and logs the warnings; does not connect
	if err != nil {
		return e.fail(err)
	}
	d := c.Config()
	closeClient(c)

	password := "not set (default " + izaber.DefaultPassword + ")"
	if from := st.passwordFrom(); from != "default" {
		password = redactedText + " from " + from
	}
	uriBase := d.URIBase
	if d.NoURIBase {
		uriBase = ""
	}
	secretFrom := func(key string) string { // "[redacted] from …", or "" when not set
		if from := st.cfg.From[key]; from != "" {
			return redactedText + " from " + from
		}
		return redactedText
	}
	conn := map[string]any{
		"url":               d.URL,
		"realm":             d.Realm,
		"username":          d.Username,
		"authid":            d.AuthID,
		"password":          password,
		"authmethods":       d.AuthMethods,
		"uri_base":          uriBase,
		"serializers":       d.Serializers,
		"timeout":           durationText(d.Timeout),
		"connect_timeout":   d.ConnectTimeout.String(),
		"auto_reconnect":    !d.DisableReconnect,
		"backoff_initial":   d.BackoffInitial.String(),
		"backoff_max":       d.BackoffMax.String(),
		"max_retries":       d.MaxRetries,
		"ping_interval":     durationText(d.PingInterval),
		"heartbeat_timeout": d.HeartbeatTimeout.String(),
		"max_payload_size":  d.MaxPayloadSize,
	}
	if d.CRASecret != "" {
		conn["wampcra_secret"] = secretFrom("wampcra_secret")
	}
	if d.CryptosignKey != nil {
		conn["cryptosign_key"] = secretFrom("cryptosign_key_file")
	}
	if d.TLSCAFile != "" || d.TLSCertFile != "" || d.TLSKeyFile != "" || d.TLSServerName != "" || d.TLSInsecure {
		conn["tls"] = map[string]any{"ca": d.TLSCAFile, "cert": d.TLSCertFile, "key": d.TLSKeyFile, "server_name": d.TLSServerName, "insecure": d.TLSInsecure}
	}
	source := st.source
	if source == "" {
		source = "none (no izaber.yaml found, no $IZABER_YAML): defaults"
	}
	out := map[string]any{
		"source":      source,
		"environment": st.environment,
		"connection":  conn,
		"overrides":   nonNilStrings(st.overrides()),
		"warnings":    nonNilStrings(c.Warnings()),
	}
	if st.values != nil {
		out["values"] = redactSecrets(st.values, "")
	}
	return e.show(ctx, out, nil)
}

func durationText(d interface{ String() string }) string {
	s := d.String()
	if strings.HasPrefix(s, "-") {
		return "none"
	}
	return s
}

func nonNilStrings(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// secretWords mark keys whose values are never printed.
var secretWords = []string{"password", "passwd", "secret", "token", "ticket", "apikey", "api_key", "private", "otp", "credential"}

// secretKey reports whether the value of key k is never printed: k
// contains a secret word, or is a misspelling of "password" (pasword:).
func secretKey(k string) bool {
	k = strings.ToLower(k)
	if editDistance(k, "password") <= 2 {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, ".key")
}

// redactSecrets returns a copy of v with the values of secret-looking
// keys replaced, at any depth.
func redactSecrets(v any, key string) any {
	if key != "" && secretKey(key) {
		return redactedText // whatever its type: a secret may be a list or a mapping
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = redactSecrets(e, k)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = redactSecrets(e, key)
		}
		return l
	}
	return v
}
