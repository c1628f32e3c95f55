package izaber

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// ErrConfig is matched (errors.Is) by every error that trying again cannot
// fix because the configuration is wrong: the errors of Load, and
// connection errors caused by a malformed URL or unknown scheme, an HTTP
// answer that is not a WebSocket upgrade, or a TLS certificate that does
// not verify. The izaber-wamp command exits with status 2 on them.
var ErrConfig = errors.New("izaber: configuration error")

// configError is an error that matches ErrConfig.
type configError struct {
	msg string
	err error
}

func (e *configError) Error() string        { return e.msg }
func (e *configError) Unwrap() error        { return e.err }
func (e *configError) Is(target error) bool { return target == ErrConfig }

// configErrorf is fmt.Errorf for errors that match ErrConfig.
func configErrorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &configError{msg: err.Error(), err: errors.Unwrap(err)}
}

// ConnectError is a connection that could not be made (Connect,
// ChangeUser, Spawn, or a reconnection attempt): its Error is one sentence
// that says what happened, at which URL, and what to try. It unwraps to the
// cause, and matches ErrConfig when the URL, the router's answer or its
// certificate is wrong, so that retrying cannot help.
type ConnectError struct {
	URL string
	Err error // the cause
	msg string
	bad bool // the configuration is wrong
}

// Error returns the sentence, starting "izaber: ".
func (e *ConnectError) Error() string { return "izaber: " + e.msg }

// Unwrap returns the cause.
func (e *ConnectError) Unwrap() error { return e.Err }

// Is matches ErrConfig when the configuration is wrong.
func (e *ConnectError) Is(target error) bool { return target == ErrConfig && e.bad }

// LoginError is a login the router refused: an ABORT in answer to HELLO
// or to the credentials. Its Error says for which user, at which URL,
// where the password came from, and what to check, with the
// configuration warnings that may explain it (a misspelt password key,
// say). It unwraps to the *session.AbortError, so that
// errors.Is(err, ErrPermissionDenied) works.
type LoginError struct {
	URL   string
	Realm string
	User  string
	// PasswordFrom says where the credentials came from: a file and key,
	// an environment variable, "default" (none was configured), or what
	// the program set in Config.From.
	PasswordFrom string
	Abort        *session.AbortError
	// Notes are configuration warnings that may explain the refusal.
	Notes []string
	what  string // "password", "WAMP-CRA secret", ...
}

// Error says what the router refused, for whom, where, and what to
// check, with the notes.
func (e *LoginError) Error() string {
	var b strings.Builder
	said := e.Abort.Reason
	if e.Abort.Message != "" {
		said += ": " + e.Abort.Message
	}
	switch e.Abort.Reason {
	case protocol.URINoSuchRealm:
		fmt.Fprintf(&b, "izaber: realm %q does not exist at %s (router: %s); check wamp.connection.realm", e.Realm, e.URL, said)
	case protocol.URINoAuthMethod, protocol.URINoMatchingAuthMethod:
		fmt.Fprintf(&b, "izaber: the router at %s accepts none of the login methods offered for %q (router: %s); check wamp.connection.authmethods", e.URL, e.User, said)
	default:
		if refusedCredentials(e.Abort.Reason) {
			fmt.Fprintf(&b, "izaber: wrong username or %s for %q at %s (router: %s; %s); check them", e.what, e.User, e.URL, said, e.origin())
		} else {
			fmt.Fprintf(&b, "izaber: the router at %s refused the login of %q: %s (%s)", e.URL, e.User, said, e.origin())
		}
	}
	for _, n := range e.Notes {
		b.WriteString("; note: " + n)
	}
	return b.String()
}

// Unwrap returns the ABORT.
func (e *LoginError) Unwrap() error { return e.Abort }

// origin says where the credentials came from, as a clause.
func (e *LoginError) origin() string {
	if e.PasswordFrom == defaultOrigin {
		return fmt.Sprintf("no %s was configured, so Python's default %q was sent", e.what, DefaultPassword)
	}
	return fmt.Sprintf("the %s came from %s", e.what, e.PasswordFrom)
}

// defaultOrigin is Config.From["password"] for Python's default password.
const defaultOrigin = "default"

// refusedCredentials reports whether an ABORT reason means that the
// credentials were wrong: Nexus's permissiondenied, crossbar's and the
// spec's authentication failures.
func refusedCredentials(reason string) bool {
	switch reason {
	case ErrPermissionDenied.URI, protocol.URINotAuthorized, protocol.URIAuthenticationFailed,
		protocol.URIAuthenticationDenied, protocol.URIAuthorizationFailed, protocol.URINoSuchPrincipal:
		return true
	}
	return false
}

// credentials describes the login of cfg for a LoginError: who, what kind
// of secret, and where it came from.
func credentials(cfg Config) (user, what, from string) {
	user = cfg.AuthID
	if user == "" {
		user = cfg.Username
	}
	if user == "" {
		user = DefaultUsername
	}
	what = "password"
	if len(cfg.AuthMethods) == 1 {
		switch strings.ToLower(cfg.AuthMethods[0]) {
		case "wampcra":
			what = "WAMP-CRA secret"
		case "cryptosign":
			what = "cryptosign key"
		}
	}
	from = cfg.from("password")
	switch {
	case what == "WAMP-CRA secret" && cfg.from("wampcra_secret") != "":
		from = cfg.from("wampcra_secret")
	case what == "cryptosign key" && cfg.from("cryptosign_key_file") != "":
		from = cfg.from("cryptosign_key_file")
	case from != "":
	default:
		from = "the program"
	}
	return user, what, from
}

// explain turns the failure of a connection attempt made with cfg into
// one sentence: a *LoginError, a *ConnectError, or err itself for errors
// that say enough (ErrClosed, the caller's own context).
func explain(cfg Config, warnings []string, err error) error {
	var le *LoginError
	var ce *ConnectError
	switch {
	case err == nil, errors.As(err, &le), errors.As(err, &ce), errors.Is(err, client.ErrClosed):
		return err
	}
	var abort *session.AbortError
	if errors.As(err, &abort) {
		user, what, from := credentials(cfg)
		e := &LoginError{URL: cfg.URL, Realm: cfg.Realm, User: user, PasswordFrom: from, Abort: abort, what: what}
		if refusedCredentials(abort.Reason) {
			e.Notes = credentialWarnings(warnings)
		}
		return e
	}
	u := cfg.URL
	urlFrom := cfg.from("url")
	if urlFrom == "" {
		urlFrom = "wamp.connection.url"
	}
	var hs *transport.HandshakeError
	var dns *net.DNSError
	switch {
	case errors.Is(err, transport.ErrBadURL):
		return &ConnectError{URL: u, Err: err, bad: true, msg: fmt.Sprintf("cannot use the URL %q (%s): %s; %s", u, urlFrom, badURL(u, err), urlHint(u))}
	case errors.As(err, &hs):
		e := &ConnectError{URL: u, Err: err, bad: client.Permanent(err)}
		if e.bad {
			hint := "check " + urlFrom
			if hs.StatusCode == http.StatusNotFound {
				if alt := withWSPath(u); alt != "" {
					hint = "did you mean " + alt + "?"
				}
			}
			e.msg = fmt.Sprintf("%s answered HTTP %s instead of a WebSocket upgrade: not a WAMP endpoint; %s", u, hs.Status, hint)
		} else {
			e.msg = fmt.Sprintf("%s answered HTTP %s: the server in front of the router cannot reach it", u, hs.Status)
		}
		return e
	case client.TLSVerification(err):
		return &ConnectError{URL: u, Err: err, bad: true, msg: fmt.Sprintf("the TLS certificate of %s does not verify: %s; set wamp.connection.tls.ca_file to the router's CA certificate (or tls.server_name)", u, innermost(err))}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &ConnectError{URL: u, Err: err, msg: fmt.Sprintf("nothing accepts connections at %s (connection refused); is the router running, and is %s right?", u, urlFrom)}
	case errors.As(err, &dns):
		return &ConnectError{URL: u, Err: err, msg: fmt.Sprintf("cannot find the host of %s: %s; check %s", u, dns.Err, urlFrom)}
	case errors.Is(err, context.DeadlineExceeded):
		return &ConnectError{URL: u, Err: err, msg: fmt.Sprintf("no session with %s within the connect timeout (last failure: %s)", u, innermost(err))}
	}
	return &ConnectError{URL: u, Err: err, msg: fmt.Sprintf("cannot connect to %s: %s", u, innermost(err))}
}

// credentialWarnings returns the warnings about keys that may hold the
// credentials: misspelt keys or sections that Load ignored.
func credentialWarnings(warnings []string) []string {
	var out []string
	for _, w := range warnings {
		for _, k := range []string{"password", "username", "authid", "connection", "wamp", "default", "secret", "key"} {
			if strings.Contains(w, "did you mean "+k) || strings.Contains(w, "put it under default") {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// innermost returns the message of the deepest error in err's chain, the
// one without the layers' prefixes ("connection refused"). For an error
// joining several (a connect timeout and the last attempt's failure) it
// follows the last.
func innermost(err error) string {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next := u.Unwrap()
			if next == nil {
				return err.Error()
			}
			err = next
		case interface{ Unwrap() []error }:
			list := u.Unwrap()
			if len(list) == 0 {
				return err.Error()
			}
			err = list[len(list)-1]
		default:
			return err.Error()
		}
	}
}

// badURL says what is wrong with the URL u that Dial refused with err.
func badURL(u string, err error) string {
	if !strings.Contains(u, "://") {
		return "it has no scheme"
	}
	if scheme, _, ok := strings.Cut(u, "://"); ok && !slices.Contains(transport.SupportedSchemes, strings.ToLower(scheme)) {
		return fmt.Sprintf("the scheme %q is not a WAMP transport", scheme)
	}
	msg := err.Error()
	if i := strings.Index(msg, transport.ErrBadURL.Error()+": "); i >= 0 {
		msg = msg[i+len(transport.ErrBadURL.Error())+2:]
	}
	return strings.TrimPrefix(innermostOr(err, msg), "parse ")
}

// innermostOr returns the innermost message of err, or alt when that is
// the bare ErrBadURL.
func innermostOr(err error, alt string) string {
	if m := innermost(err); m != transport.ErrBadURL.Error() {
		return m
	}
	return alt
}

// urlHint says how to fix a URL that Dial cannot use.
func urlHint(raw string) string {
	const schemes = "use ws://, wss://, tcp://, tcps://, tcpip://, tcpips:// or unix://"
	if !strings.Contains(raw, "://") {
		alt := "ws://" + raw
		if p, err := url.Parse(alt); err != nil || p.Host == "" {
			return schemes
		} else if p.Path == "" || p.Path == "/" {
			alt = withWSPath(alt)
		}
		return "did you mean " + alt + "?"
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "http":
		return "did you mean ws://" + rest + "?"
	case "https":
		return "did you mean wss://" + rest + "?"
	}
	return schemes
}

// withWSPath returns the WebSocket URL u with the path /ws (the path of
// crossbar, Nexus and the embedded router), or "" when u has it already
// or does not parse.
func withWSPath(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.Path == "/ws" {
		return ""
	}
	p.Path = "/ws"
	return p.String()
}
