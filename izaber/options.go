package izaber

import (
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Option is a per-request option of Call, Register, Subscribe and Publish:
// either a facade option (Absolute, FireAndForget) or a session option
// passed through to the wire. An option that does not apply to a request
// kind (Match on Call, say) makes that method return an error.
type Option struct {
	sess          []session.Option
	absolute      bool
	fireAndForget bool
}

// Absolute sends the URI exactly as given, without the uri_base prefix.
func Absolute() Option { return Option{absolute: true} }

// FireAndForget makes Publish return as soon as the message is written,
// without waiting for the router's acknowledgement (Publish is
// acknowledged by default, as in Python).
func FireAndForget() Option { return Option{fireAndForget: true} }

// SessionOption passes session options through unchanged, for options
// without a wrapper here.
func SessionOption(opts ...session.Option) Option {
	return Option{sess: append([]session.Option(nil), opts...)}
}

// Timeout bounds one request, overriding the configured timeout; d <= 0
// means no limit. A call that times out sends CANCEL.
func Timeout(d time.Duration) Option { return SessionOption(session.Timeout(d)) }

// ReceiveProgress asks for progressive call results and calls f with each.
func ReceiveProgress(f func(*session.Result)) Option {
	return SessionOption(session.ReceiveProgress(f))
}

// DiscloseMe asks the router to disclose the caller's or publisher's
// identity.
func DiscloseMe() Option { return SessionOption(session.DiscloseMe()) }

// Match sets a registration's or subscription's match policy: "exact",
// "prefix" or "wildcard".
func Match(policy string) Option { return SessionOption(session.Match(policy)) }

// Invoke sets a shared registration's invocation policy ("single",
// "roundrobin", "random", "first", "last").
func Invoke(policy string) Option { return SessionOption(session.Invoke(policy)) }

// ForceReregister takes over an existing registration of the procedure
// (crossbar's force_reregister).
func ForceReregister() Option { return SessionOption(session.ForceReregister()) }

// ExcludeMe(false) delivers a publication to the publisher's own
// subscriptions too.
func ExcludeMe(exclude bool) Option { return SessionOption(session.ExcludeMe(exclude)) }

// Eligible restricts a publication to the given session ids.
func Eligible(ids ...protocol.ID) Option { return SessionOption(session.Eligible(ids...)) }

// Exclude keeps a publication from the given session ids.
func Exclude(ids ...protocol.ID) Option { return SessionOption(session.Exclude(ids...)) }

// WithOption sets a raw key in the request's WAMP Options dict, such as
// WithOption("force_reregister", true) or the Python-style details dict of
// register.
func WithOption(key string, value any) Option { return SessionOption(session.WithOption(key, value)) }

// Options turns a Python-style options dict ({'force_reregister': True,
// 'match': 'prefix'}) into options passed through verbatim.
func Options(d protocol.Dict) Option {
	o := Option{}
	for k, v := range d {
		o.sess = append(o.sess, session.WithOption(k, v))
	}
	return o
}

// settings collects a list of options.
type settings struct {
	sess          []session.Option
	absolute      bool
	fireAndForget bool
}

func collect(defaultTimeout time.Duration, opts []Option) settings {
	var s settings
	if defaultTimeout > 0 {
		s.sess = append(s.sess, session.Timeout(defaultTimeout))
	}
	for _, o := range opts {
		s.sess = append(s.sess, o.sess...)
		s.absolute = s.absolute || o.absolute
		s.fireAndForget = s.fireAndForget || o.fireAndForget
	}
	return s
}
