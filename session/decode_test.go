package session

import (
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

func TestDecodePayloads(t *testing.T) {
	type point struct {
		X, Y int
		Name string `json:"name"`
	}
	args := protocol.List{"first", protocol.Dict{"X": int64(1), "Y": uint64(2), "name": "p"}, []byte{1, 2}}
	kwargs := protocol.Dict{"X": 3.0, "Y": int64(4), "name": "k", "extra": true}
	res := &Result{Args: args, Kwargs: kwargs}
	inv := &Invocation{Args: args, Kwargs: kwargs}
	ev := &Event{Args: args, Kwargs: kwargs}
	type payload interface {
		DecodeArg(int, any) error
		DecodeKwargs(any) error
	}
	for name, p := range map[string]payload{"result": res, "invocation": inv, "event": ev} {
		var s string
		var pt, kw point
		var b []byte
		if err := p.DecodeArg(0, &s); err != nil || s != "first" {
			t.Errorf("%s: arg 0 = %q, %v", name, s, err)
		}
		if err := p.DecodeArg(1, &pt); err != nil || pt != (point{1, 2, "p"}) {
			t.Errorf("%s: arg 1 = %+v, %v", name, pt, err)
		}
		if err := p.DecodeArg(2, &b); err != nil || string(b) != "\x01\x02" {
			t.Errorf("%s: arg 2 = %v, %v", name, b, err)
		}
		if err := p.DecodeKwargs(&kw); err != nil || kw != (point{3, 4, "k"}) {
			t.Errorf("%s: kwargs = %+v, %v", name, kw, err)
		}
		if err := p.DecodeArg(3, &s); err == nil || !strings.Contains(err.Error(), "has 3 positional arguments, no argument 3") {
			t.Errorf("%s: missing argument: %v", name, err)
		}
		if err := p.DecodeArg(0, &pt); err == nil || !strings.Contains(err.Error(), "argument 0") {
			t.Errorf("%s: wrong type: %v", name, err)
		}
	}
	if err := inv.Decode(new(string)); err != nil {
		t.Error(err)
	}
	if err := ev.Decode(new(string)); err != nil {
		t.Error(err)
	}
	var m map[string]any
	if err := (&Event{}).DecodeKwargs(&m); err != nil || m == nil || len(m) != 0 {
		t.Errorf("no kwargs decode as {}: %v %v", m, err)
	}
}
