package session

import (
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Typed decoding of payloads: a Result's, an Invocation's and an Event's
// positional and keyword arguments convert into Go values with the rules
// of Result.Decode (a JSON round trip: structs by field name or json tag,
// numbers into any numeric type that holds them, []byte as base64).

// DecodeArg stores the i-th positional argument in the value v points to.
func (r *Result) DecodeArg(i int, v any) error {
	if r == nil {
		return decodeArg("result", nil, i, v)
	}
	return decodeArg("result", r.Args, i, v)
}

// DecodeKwargs stores the keyword arguments in the value v points to: a
// struct (by field name or json tag) or a map. No keyword arguments
// decode as an empty dictionary.
func (r *Result) DecodeKwargs(v any) error {
	if r == nil {
		return decodeKwargs(nil, v)
	}
	return decodeKwargs(r.Kwargs, v)
}

// Decode stores the first positional argument in the value v points to.
func (inv *Invocation) Decode(v any) error { return inv.DecodeArg(0, v) }

// DecodeArg stores the i-th positional argument in the value v points to.
func (inv *Invocation) DecodeArg(i int, v any) error {
	return decodeArg("invocation", inv.Args, i, v)
}

// DecodeKwargs stores the keyword arguments in the value v points to (see
// Result.DecodeKwargs).
func (inv *Invocation) DecodeKwargs(v any) error { return decodeKwargs(inv.Kwargs, v) }

// Decode stores the first positional argument in the value v points to.
func (ev *Event) Decode(v any) error { return ev.DecodeArg(0, v) }

// DecodeArg stores the i-th positional argument in the value v points to.
func (ev *Event) DecodeArg(i int, v any) error { return decodeArg("event", ev.Args, i, v) }

// DecodeKwargs stores the keyword arguments in the value v points to (see
// Result.DecodeKwargs).
func (ev *Event) DecodeKwargs(v any) error { return decodeKwargs(ev.Kwargs, v) }

func decodeArg(what string, args protocol.List, i int, v any) error {
	if i < 0 || i >= len(args) {
		return fmt.Errorf("session: decode: the %s has %d positional arguments, no argument %d", what, len(args), i)
	}
	if err := decodeValue(args[i], v); err != nil {
		return fmt.Errorf("%w (argument %d)", err, i)
	}
	return nil
}

func decodeKwargs(kwargs protocol.Dict, v any) error {
	if kwargs == nil {
		kwargs = protocol.Dict{}
	}
	if err := decodeValue(kwargs, v); err != nil {
		return fmt.Errorf("%w (keyword arguments)", err)
	}
	return nil
}
