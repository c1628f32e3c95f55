package izaber

import (
	"github.com/zabertech/go-izaber-wamp/session"
)

// Per-request options are session.Option values, the one option type of
// every layer: the session's own (session.Timeout, session.Match,
// session.ForceReregister, session.Acknowledge, session.WithOption, ...)
// and the facade's, below, which the facade reads and the session ignores.

type absoluteKey struct{}

// Absolute sends the URI of one Call, Register, Subscribe or Publish
// exactly as given, without the uri_base prefix.
func Absolute() session.Option { return session.Local(absoluteKey{}, true) }

func isAbsolute(opts []session.Option) bool {
	v, _ := session.LocalValue(opts, absoluteKey{})
	b, _ := v.(bool)
	return b
}

// withDefaults returns the request's options after the facade's defaults,
// so that the caller's options win: the configured Timeout first, then
// the given defaults, then opts.
func (c *Client) withDefaults(opts []session.Option, defaults ...session.Option) []session.Option {
	out := make([]session.Option, 0, 1+len(defaults)+len(opts))
	out = append(out, session.Timeout(c.Config().Timeout))
	out = append(out, defaults...)
	return append(out, opts...)
}
