package scenario

import (
	"bytes"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// otherSerializers returns the serializers of the run other than the
// cell's that the router offers on the cell's endpoint.
func (t *T) otherSerializers() []protocol.Serializer {
	var out []protocol.Serializer
	for c, st := range t.run.cells {
		if c.Endpoint == t.cell.Endpoint && c.Serializer != t.cell.Serializer && st.offered && st.err == "" {
			out = append(out, c.Serializer)
		}
	}
	return out
}

// joinWith joins a session speaking ser.
func (t *T) joinWith(ser protocol.Serializer) *Session {
	c, err := t.TryDial(DialOptions{Serializer: ser})
	if err != nil {
		t.Fatalf("cannot connect with %s: %v", ser.Name(), err)
	}
	return c.Join(JoinOptions{})
}

// corruptBinary turns binary arguments of INVOCATIONs and RESULTs into
// strings (a router that loses the binary type on the way).
func corruptBinary() fault.Breaker {
	fix := func(l protocol.List) bool {
		changed := false
		for i, v := range l {
			if b, ok := v.([]byte); ok {
				l[i] = string(bytes.ToUpper(b))
				changed = true
			}
		}
		return changed
	}
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		switch m := m.(type) {
		case *protocol.Invocation:
			return m, fix(m.Args)
		case *protocol.Result:
			return m, fix(m.Args)
		}
		return nil, false
	})
}

func serializationScenarios() []*Scenario {
	return []*Scenario{
		{
			ID:      "serialization.cross",
			Title:   "Payloads pass unchanged between sessions using different serializers (every pair the router offers)",
			Section: secSerializers, Level: MUST,
			Run: func(t *T) {
				others := t.otherSerializers()
				if len(others) == 0 {
					t.Skipf("the router offers only %s here", t.cell.Serializer.Name())
				}
				a := t.Join(JoinOptions{})
				for _, ser := range others {
					b := t.joinWith(ser)
					proc := t.URI("echo_" + ser.Name())
					reg := b.Register(proc, nil)
					req := a.Call(proc, nil, richArgs, richKwargs)
					inv := b.ExpectInvocation(reg)
					samePayload(t, "INVOCATION received over "+ser.Name(), richArgs, inv.Args, richKwargs, inv.Kwargs)
					b.Yield(inv.Request, protocol.Dict{}, inv.Args, inv.Kwargs)
					res := a.ExpectResult(req)
					samePayload(t, "RESULT sent over "+ser.Name(), richArgs, res.Args, richKwargs, res.Kwargs)
				}
			},
			Breaker: corruptBinary(),
		},
		{
			ID:      "serialization.binary-json",
			Title:   "With JSON, binary travels as a string of NUL and base64 (\"\\u0000…\") and arrives as binary",
			Section: secBinaryJSON, Level: MUST, Serializers: []string{"json"},
			Run: func(t *T) {
				a := t.Join(JoinOptions{})
				b := a
				if others := t.otherSerializers(); len(others) > 0 {
					b = t.joinWith(others[0])
				}
				bin := []byte{0x10, 0xe3, 0xff, 0x90, 0x53, 0x07, 0x5c, 0x52, 0x6f, 0x5f, 0xc0, 0x6d, 0x4f, 0xe3, 0x7c, 0xdb}
				reg := b.Register(t.URI("bin"), nil)
				req := a.Call(t.URI("bin"), nil, protocol.List{bin}, nil)
				inv := b.ExpectInvocation(reg)
				samePayload(t, "INVOCATION", protocol.List{bin}, inv.Args, nil, nil)
				b.Yield(inv.Request, protocol.Dict{}, protocol.List{bin}, nil)
				f, err := a.NextFrame()
				if err != nil {
					t.Fatalf("waiting for RESULT: %s", waitError(err, t.Timeout()))
				}
				res, ok := f.Msg.(*protocol.Result)
				if !ok || res.Request != req {
					t.Fatalf("waiting for RESULT, got %s", a.Describe(f))
				}
				if !bytes.Contains(f.Payload, []byte(`"\u0000EOP/kFMHXFJvX8BtT+N82w=="`)) {
					t.Fatalf("the RESULT does not carry the binary as \"\\u0000EOP/kFMHXFJvX8BtT+N82w==\": %s", f.Payload)
				}
				samePayload(t, "RESULT", protocol.List{bin}, res.Args, nil, nil)
			},
			Breaker: corruptBinary(),
		},
	}
}
