package fault

import (
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// MessageRule sees one decoded message going dir and reports whether to
// forward it; frames that do not decode are forwarded untouched.
type MessageRule func(f *Flow, dir Dir, m protocol.Message) bool

// Messages is a Breaker from a MessageRule made afresh per connection.
func Messages(mk func() MessageRule) Breaker {
	return Breaker{Rule: func() Rule {
		r := mk()
		return func(f *Flow, dir Dir, fr *wire.Frame) bool {
			if fr.Msg == nil {
				return true
			}
			return r(f, dir, fr.Msg)
		}
	}}
}

// Rewrite replaces messages going dir: fn returns the message to send
// instead (nil drops it) and true, or false to forward the original.
func Rewrite(dir Dir, fn func(m protocol.Message) (protocol.Message, bool)) Breaker {
	return RewriteFlow(dir, func(_ *Flow, m protocol.Message) (protocol.Message, bool) { return fn(m) })
}

// RewriteFlow is Rewrite with access to the flow (to inject more).
func RewriteFlow(dir Dir, fn func(f *Flow, m protocol.Message) (protocol.Message, bool)) Breaker {
	return Messages(func() MessageRule {
		return func(f *Flow, d Dir, m protocol.Message) bool {
			if d != dir {
				return true
			}
			out, ok := fn(f, m)
			if !ok {
				return true
			}
			if out != nil {
				f.Inject(dir, out)
			}
			return false
		}
	})
}

// Drop drops every message going dir that match accepts.
func Drop(dir Dir, match func(m protocol.Message) bool) Breaker {
	return Rewrite(dir, func(m protocol.Message) (protocol.Message, bool) {
		if match(m) {
			return nil, true
		}
		return nil, false
	})
}

// DropFirst drops the first message going dir that match accepts, on each
// connection.
func DropFirst(dir Dir, match func(m protocol.Message) bool) Breaker {
	return Messages(func() MessageRule {
		done := false
		return func(f *Flow, d Dir, m protocol.Message) bool {
			if d == dir && !done && match(m) {
				done = true
				return false
			}
			return true
		}
	})
}

// Is matches messages of type M.
func Is[M protocol.Message](m protocol.Message) bool {
	_, ok := m.(M)
	return ok
}

// Chain applies breakers in order: a frame goes on only if every rule
// forwards it. The first handshake hooks set win.
func Chain(bs ...Breaker) Breaker {
	var out Breaker
	for _, b := range bs {
		if out.RawSocketReply == nil {
			out.RawSocketReply = b.RawSocketReply
		}
		if out.Subprotocol == nil {
			out.Subprotocol = b.Subprotocol
		}
		out.KeepClientOpen = out.KeepClientOpen || b.KeepClientOpen
	}
	out.Rule = func() Rule {
		var rules []Rule
		for _, b := range bs {
			if b.Rule != nil {
				rules = append(rules, b.Rule())
			}
		}
		return func(f *Flow, dir Dir, fr *wire.Frame) bool {
			for _, r := range rules {
				if !r(f, dir, fr) {
					return false
				}
			}
			return true
		}
	}
	return out
}

// Welcome is the rewrite of WELCOME details by fn (to lie about roles or
// identity).
func Welcome(fn func(w *protocol.Welcome)) Breaker {
	return Rewrite(ToClient, func(m protocol.Message) (protocol.Message, bool) {
		w, ok := m.(*protocol.Welcome)
		if !ok {
			return nil, false
		}
		fn(w)
		return w, true
	})
}
