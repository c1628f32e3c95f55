package session

import (
	"fmt"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// reqKind is the set of request kinds an Option applies to.
type reqKind uint8

const (
	kindCall reqKind = 1 << iota
	kindRegister
	kindSubscribe
	kindPublish

	kindAll = kindCall | kindRegister | kindSubscribe | kindPublish
)

func (k reqKind) String() string {
	switch k {
	case kindCall:
		return "Call"
	case kindRegister:
		return "Register"
	case kindSubscribe:
		return "Subscribe"
	case kindPublish:
		return "Publish"
	}
	return "request"
}

// Option is a per-request option for Call, Register, Subscribe and Publish.
// An option that does not apply to a request kind (Match on Call, say) makes
// that method return an error before anything is sent.
type Option struct {
	name  string
	kinds reqKind
	apply func(*reqSettings)
	local *local // set by Local
}

// reqSettings is what the options of one request produce, built by
// buildSettings and read-only afterwards.
type reqSettings struct {
	wire        protocol.Dict // Options dict sent on the wire
	timeout     time.Duration
	progress    func(*Result)
	cancelMode  string
	acknowledge bool
	passthru    *protocol.Passthru // payload passthru mode: the payload replaces args
	err         error              // first invalid option value
}

func (s *reqSettings) invalid(option, value string) {
	if s.err == nil {
		s.err = fmt.Errorf("session: option %s: invalid value %q", option, value)
	}
}

func (s *reqSettings) set(k string, v any) {
	if s.wire == nil {
		s.wire = protocol.Dict{}
	}
	s.wire[k] = v
}

// noSettings are the settings of a request without options. Settings are
// never modified once built, so requests share it.
var noSettings = &reqSettings{cancelMode: "killnowait"}

func buildSettings(kind reqKind, opts []Option) (*reqSettings, error) {
	if len(opts) == 0 {
		return noSettings, nil
	}
	st := &reqSettings{cancelMode: "killnowait"}
	for _, o := range opts {
		if o.apply == nil {
			return nil, fmt.Errorf("session: %s: zero Option value", kind)
		}
		if o.kinds&kind == 0 {
			return nil, fmt.Errorf("session: option %s does not apply to %s", o.name, kind)
		}
		o.apply(st)
	}
	if st.err != nil {
		return nil, st.err
	}
	return st, nil
}

// Timeout bounds a request: when d elapses the request is abandoned (a call
// sends CANCEL) and the method returns an error matching [ErrTimeout] and
// context.DeadlineExceeded. The timer runs in the client; no CALL timeout
// option is sent (crossbar reads it as seconds, the spec as milliseconds:
// use WithOption("timeout", ...) to send one). d <= 0 means no timeout.
func Timeout(d time.Duration) Option {
	return Option{name: "Timeout", kinds: kindAll, apply: func(s *reqSettings) { s.timeout = d }}
}

// ReceiveProgress asks the callee for progressive results (receive_progress)
// and calls f with each one, in order, on the goroutine that called Call,
// before Call returns the final result.
func ReceiveProgress(f func(*Result)) Option {
	return Option{name: "ReceiveProgress", kinds: kindCall, apply: func(s *reqSettings) {
		s.progress = f
		if f != nil {
			s.set("receive_progress", true)
		}
	}}
}

// DiscloseMe asks the router to disclose the caller's or publisher's
// identity to the callee or subscribers (disclose_me).
func DiscloseMe() Option {
	return Option{name: "DiscloseMe", kinds: kindCall | kindPublish, apply: func(s *reqSettings) { s.set("disclose_me", true) }}
}

// CancelMode sets the CANCEL mode used when a call's context ends or its
// Timeout expires: "killnowait" (default), "kill" or "skip"; another value
// is an error. Call returns at once in every mode.
func CancelMode(mode string) Option {
	return Option{name: "CancelMode", kinds: kindCall, apply: func(s *reqSettings) {
		switch mode {
		case "skip", "kill", "killnowait":
			s.cancelMode = mode
		default:
			s.invalid("CancelMode", mode)
		}
	}}
}

// Match sets the matching policy of a registration or subscription:
// "exact" (default), "prefix" or "wildcard".
func Match(policy string) Option {
	return Option{name: "Match", kinds: kindRegister | kindSubscribe, apply: func(s *reqSettings) {
		switch policy {
		case "", "exact":
			if s.wire != nil {
				delete(s.wire, "match")
			}
		case "prefix", "wildcard":
			s.set("match", policy)
		default:
			s.invalid("Match", policy)
		}
	}}
}

// Invoke sets the shared-registration policy: "single" (default),
// "roundrobin", "random", "first" or "last"; another value is an error (use
// WithOption("invoke", v) for router-specific policies).
func Invoke(policy string) Option {
	return Option{name: "Invoke", kinds: kindRegister, apply: func(s *reqSettings) {
		switch policy {
		case "", "single":
			if s.wire != nil {
				delete(s.wire, "invoke")
			}
		case "roundrobin", "random", "first", "last":
			s.set("invoke", policy)
		default:
			s.invalid("Invoke", policy)
		}
	}}
}

// ForceReregister asks the router (crossbar) to take over an existing
// registration of the same procedure (force_reregister).
func ForceReregister() Option {
	return Option{name: "ForceReregister", kinds: kindRegister, apply: func(s *reqSettings) { s.set("force_reregister", true) }}
}

// Acknowledge(true) makes Publish wait for PUBLISHED or ERROR; without it
// Publish returns as soon as the message is written.
func Acknowledge(ack bool) Option {
	return Option{name: "Acknowledge", kinds: kindPublish, apply: func(s *reqSettings) {
		s.acknowledge = ack
		if ack {
			s.set("acknowledge", true)
		} else if s.wire != nil {
			delete(s.wire, "acknowledge")
		}
	}}
}

// ExcludeMe sets exclude_me; ExcludeMe(false) delivers the event to the
// publisher's own matching subscriptions too.
func ExcludeMe(exclude bool) Option {
	return Option{name: "ExcludeMe", kinds: kindPublish, apply: func(s *reqSettings) { s.set("exclude_me", exclude) }}
}

// Eligible restricts delivery of an event to the given session ids.
func Eligible(ids ...protocol.ID) Option {
	l := idList(ids)
	return Option{name: "Eligible", kinds: kindPublish, apply: func(s *reqSettings) { s.set("eligible", l) }}
}

// Exclude prevents delivery of an event to the given session ids.
func Exclude(ids ...protocol.ID) Option {
	l := idList(ids)
	return Option{name: "Exclude", kinds: kindPublish, apply: func(s *reqSettings) { s.set("exclude", l) }}
}

// Passthru sends a call or publication in payload passthru mode (spec
// A/payload_passthru_mode.md): p's attributes go into the Options and
// p.Payload is the only argument, which the router forwards untouched (for
// end-to-end encrypted data, or an MQTT message passed through as is).
// Call and Publish must then be given nil args and kwargs. The router must
// announce payload_passthru_mode for the specification's spelling, or the
// request fails with ErrFeatureNotSupported before anything is sent
// (p.Autobahn selects autobahn's enc_* spelling, sent to any router).
// Receivers read the payload with the Passthru method of Invocation, Event
// and Result; a callee answers with PassthruResult.
func Passthru(p protocol.Passthru) Option {
	return Option{name: "Passthru", kinds: kindCall | kindPublish, apply: func(s *reqSettings) {
		if p.Scheme == "" {
			s.invalid("Passthru", "empty Scheme")
			return
		}
		opts, _ := p.Apply(s.wire)
		s.wire = opts
		s.passthru = &p
	}}
}

// WithOption sets a raw key in the request's Options dict; it is the escape
// hatch for options without a typed helper and applies to every request kind.
func WithOption(key string, value any) Option {
	return Option{name: "WithOption(" + key + ")", kinds: kindAll, apply: func(s *reqSettings) { s.set(key, value) }}
}

func idList(ids []protocol.ID) protocol.List {
	l := make(protocol.List, len(ids))
	for i, id := range ids {
		l[i] = int64(id)
	}
	return l
}
