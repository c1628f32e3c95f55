package scenario

import (
	"bytes"
	"math"

	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// sameValue compares payload values as decoded by package protocol:
// integers by value whatever their type, byte strings by content, lists
// and dicts element by element. A nil list/dict equals an empty one.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil || isEmpty(b)
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case uint64:
			return x >= 0 && uint64(x) == y
		}
		return false
	case uint64:
		switch y := b.(type) {
		case uint64:
			return x == y
		case int64:
			return y >= 0 && uint64(y) == x
		}
		return false
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case protocol.List:
		y, ok := b.(protocol.List)
		if !ok {
			return len(x) == 0 && b == nil
		}
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case protocol.Dict:
		y, ok := b.(protocol.Dict)
		if !ok {
			return len(x) == 0 && b == nil
		}
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case protocol.List:
		return len(x) == 0
	case protocol.Dict:
		return len(x) == 0
	}
	return false
}

// samePayload requires got args/kwargs to equal want's, naming what.
func samePayload(t *T, what string, wantArgs, gotArgs protocol.List, wantKw, gotKw protocol.Dict) {
	if !sameValue(wantArgs, gotArgs) {
		t.Fatalf("%s: Arguments are %s, want %s", what, wire.Format(gotArgs), wire.Format(wantArgs))
	}
	if !sameValue(wantKw, gotKw) {
		t.Fatalf("%s: ArgumentsKw are %s, want %s", what, wire.Format(gotKw), wire.Format(wantKw))
	}
}

// richArgs and richKwargs hold every kind of payload value: integers up to
// 2^53 and beyond, floats, booleans, null, Unicode, nested lists and dicts,
// and binary.
var (
	richArgs = protocol.List{
		int64(0), int64(-7), int64(1) << 53, int64(math.MaxInt64), 2.5, true, false, nil,
		"grüße 🐢", "", protocol.List{int64(1), protocol.List{"nested"}}, protocol.Dict{"k": "v"},
		[]byte{0, 1, 2, 0x7f, 0x80, 0xfe, 0xff},
	}
	richKwargs = protocol.Dict{
		"text": "grüße", "n": int64(42), "f": -0.125, "nested": protocol.Dict{"list": protocol.List{int64(1), "two"}, "bin": []byte("\x00bin")},
		"empty_list": protocol.List{}, "empty_dict": protocol.Dict{},
	}
)
