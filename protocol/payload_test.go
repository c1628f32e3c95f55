package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/vmihailenco/msgpack/v5"
)

// foreignBytes encodes a generic list as another implementation would,
// in each format, nulls included.
func foreignBytes(t *testing.T, l []any) map[Serializer][]byte {
	t.Helper()
	j, err := jsonMarshalGeneric(l)
	if err != nil {
		t.Fatal(err)
	}
	m, err := msgpack.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cbor.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return map[Serializer][]byte{JSON: j, MsgPack: m, CBOR: c}
}

func jsonMarshalGeneric(l []any) ([]byte, error) {
	// Our encoder writes generic values exactly; only the message layout
	// is bypassed, so ERROR-free nulls survive.
	e := &jsonEncoder{}
	if err := e.array(l, 1); err != nil {
		return nil, err
	}
	return e.b, nil
}

// TestNullPayload: null in the Args or Kwargs position means absent
// (fox-wamp sends [RESULT, id, {}, [21], null], and the same in EVENT and
// INVOCATION), for every message with a payload, in every format; and
// nothing is ever sent as null.
func TestNullPayload(t *testing.T) {
	kw := map[string]any{"k": "v"}
	tests := []struct {
		name string
		in   []any
		want Message
	}{
		{"RESULT args null kwargs", []any{50, 1, map[string]any{}, []any{21}, nil}, &Result{Request: 1, Details: Dict{}, Args: List{int64(21)}}},
		{"RESULT null args", []any{50, 1, map[string]any{}, nil}, &Result{Request: 1, Details: Dict{}}},
		{"RESULT null null", []any{50, 1, map[string]any{}, nil, nil}, &Result{Request: 1, Details: Dict{}}},
		{"RESULT null args with kwargs", []any{50, 1, map[string]any{}, nil, kw}, &Result{Request: 1, Details: Dict{}, Kwargs: Dict{"k": "v"}}},
		{"EVENT", []any{36, 5, 6, map[string]any{}, []any{21}, nil}, &Event{Subscription: 5, Publication: 6, Details: Dict{}, Args: List{int64(21)}}},
		{"INVOCATION", []any{68, 1, 2, map[string]any{}, []any{21}, nil}, &Invocation{Request: 1, Registration: 2, Details: Dict{}, Args: List{int64(21)}}},
		{"CALL", []any{48, 1, map[string]any{}, "com.p", nil, nil}, &Call{Request: 1, Options: Dict{}, Procedure: "com.p"}},
		{"PUBLISH", []any{16, 1, map[string]any{}, "com.t", nil, kw}, &Publish{Request: 1, Options: Dict{}, Topic: "com.t", Kwargs: Dict{"k": "v"}}},
		{"YIELD", []any{70, 1, map[string]any{}, []any{}, nil}, &Yield{Request: 1, Options: Dict{}}},
		{"ERROR", []any{8, 48, 1, map[string]any{}, "com.e", nil, nil}, &Error{RequestType: CodeCall, Request: 1, Details: Dict{}, URI: "com.e"}},
		{"ABORT", []any{3, map[string]any{}, "wamp.error.x", []any{"m"}, nil}, &Abort{Details: Dict{}, Reason: "wamp.error.x", Args: List{"m"}}},
	}
	for _, tt := range tests {
		for s, b := range foreignBytes(t, tt.in) {
			t.Run(tt.name+"/"+s.Name(), func(t *testing.T) {
				got, err := s.Unmarshal(b)
				if err != nil {
					t.Fatalf("Unmarshal(%q): %v", b, err)
				}
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
				out, err := s.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if l := ToList(got); len(l) > 0 && l[len(l)-1] == nil {
					t.Errorf("ToList ends in null: %v", l)
				}
				if s == JSON && strings.Contains(string(out), "null") {
					t.Errorf("sent null: %s", out)
				}
			})
		}
	}
	// null is absent only in the payload positions.
	for _, in := range [][]any{
		{50, 1, nil, []any{21}},           // Details
		{48, 1, map[string]any{}, nil},    // Procedure
		{36, 5, 6, map[string]any{}, "x"}, // Args must be a list
		{50, 1, map[string]any{}, []any{}, []any{}},
	} {
		for s, b := range foreignBytes(t, in) {
			if m, err := s.Unmarshal(b); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s %v: got %v, %v; want an error", s.Name(), in, m, err)
			}
		}
	}
}

// TestPassthru covers both spellings of payload passthru mode in every
// serializer: decoding, validation, the one representation, and re-encoding
// in the shape it came in.
func TestPassthru(t *testing.T) {
	payload := []byte{0xde, 0xad, 0, 0xbe, 0xef}
	pptOpts := map[string]any{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": "k1"}
	encOpts := map[string]any{"enc_algo": "cryptobox", "enc_serializer": "cbor", "enc_key": "k2"}
	tests := []struct {
		name string
		in   []any
		want Message
		ppt  Passthru
	}{
		{"CALL ppt", []any{48, 1, pptOpts, "com.p", []any{payload}},
			&Call{Request: 1, Options: Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": "k1"}, Procedure: "com.p", Args: List{payload}},
			Passthru{Scheme: "wamp", Serializer: "cbor", Cipher: "xsalsa20poly1305", KeyID: "k1", Payload: payload}},
		{"EVENT ppt mqtt", []any{36, 5, 6, map[string]any{"ppt_scheme": "mqtt"}, []any{payload}},
			&Event{Subscription: 5, Publication: 6, Details: Dict{"ppt_scheme": "mqtt"}, Args: List{payload}},
			Passthru{Scheme: "mqtt", Payload: payload}},
		{"PUBLISH enc", []any{16, 1, encOpts, "com.t", payload},
			&Publish{Request: 1, Options: Dict{"enc_algo": "cryptobox", "enc_serializer": "cbor", "enc_key": "k2"}, Topic: "com.t", Args: List{payload}},
			Passthru{Scheme: "cryptobox", Serializer: "cbor", KeyID: "k2", Payload: payload, Autobahn: true}},
		{"RESULT enc", []any{50, 1, map[string]any{"enc_algo": "x_custom"}, payload},
			&Result{Request: 1, Details: Dict{"enc_algo": "x_custom"}, Args: List{payload}},
			Passthru{Scheme: "x_custom", Payload: payload, Autobahn: true}},
		{"ERROR enc", []any{8, 68, 1, map[string]any{"enc_algo": "mqtt"}, "com.e", payload},
			&Error{RequestType: CodeInvocation, Request: 1, Details: Dict{"enc_algo": "mqtt"}, URI: "com.e", Args: List{payload}},
			Passthru{Scheme: "mqtt", Payload: payload, Autobahn: true}},
		{"CALL enc string payload", []any{48, 1, map[string]any{"enc_algo": "cryptobox"}, "com.p", "a1666e6f74696365"},
			&Call{Request: 1, Options: Dict{"enc_algo": "cryptobox"}, Procedure: "com.p", Args: List{"a1666e6f74696365"}},
			Passthru{Scheme: "cryptobox", Payload: []byte("a1666e6f74696365"), Autobahn: true}},
	}
	for _, tt := range tests {
		for s, b := range foreignBytes(t, tt.in) {
			t.Run(tt.name+"/"+s.Name(), func(t *testing.T) {
				got, err := s.Unmarshal(b)
				if err != nil {
					t.Fatalf("Unmarshal: %v", err)
				}
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Fatalf("(-want +got):\n%s", d)
				}
				opts, args := passthruParts(got)
				p, ok := PassthruOf(opts, args)
				if !ok {
					t.Fatal("PassthruOf: not passthru")
				}
				if d := cmp.Diff(tt.ppt, p); d != "" {
					t.Errorf("PassthruOf (-want +got):\n%s", d)
				}
				// Re-encoded in the same shape.
				out, err := s.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				again, err := s.Unmarshal(out)
				if err != nil || !sameMessage(got, again) {
					t.Fatalf("round trip: %v, %v", again, err)
				}
				l := ToList(got)
				last := l[len(l)-1]
				if _, isList := last.(List); isList == tt.ppt.Autobahn {
					t.Errorf("ToList payload element %T for autobahn=%v", last, tt.ppt.Autobahn)
				}
			})
		}
	}

	bad := []struct {
		name  string
		in    []any
		field string
	}{
		{"ppt kwargs", []any{48, 1, map[string]any{"ppt_scheme": "wamp"}, "com.p", []any{payload}, map[string]any{"k": 1}}, "Args"},
		{"ppt two args", []any{48, 1, map[string]any{"ppt_scheme": "wamp"}, "com.p", []any{payload, payload}}, "Args"},
		{"ppt string payload", []any{48, 1, map[string]any{"ppt_scheme": "wamp"}, "com.p", []any{"x"}}, "Args"},
		{"ppt no payload", []any{48, 1, map[string]any{"ppt_scheme": "wamp"}, "com.p"}, "Args"},
		{"ppt empty scheme", []any{48, 1, map[string]any{"ppt_scheme": ""}, "com.p", []any{payload}}, "Options.ppt_scheme"},
		{"ppt scheme int", []any{48, 1, map[string]any{"ppt_scheme": 1}, "com.p", []any{payload}}, "Options.ppt_scheme"},
		{"ppt keyid int", []any{16, 1, map[string]any{"ppt_scheme": "wamp", "ppt_keyid": 1}, "com.t", []any{payload}}, "Options.ppt_keyid"},
		{"ppt serializer without scheme", []any{70, 1, map[string]any{"ppt_serializer": "cbor"}, []any{payload}}, "Options.ppt_serializer"},
		{"both spellings", []any{50, 1, map[string]any{"ppt_scheme": "wamp", "enc_algo": "cryptobox"}, []any{payload}}, "Details"},
		{"opaque without enc_algo", []any{36, 5, 6, map[string]any{}, payload}, "Args"},
		{"opaque with kwargs", []any{36, 5, 6, map[string]any{"enc_algo": "cryptobox"}, payload, map[string]any{}}, "Args"},
		{"enc_algo unknown", []any{16, 1, map[string]any{"enc_algo": "invalid"}, "com.t", payload}, "Options.enc_algo"},
		{"enc_serializer unknown", []any{16, 1, map[string]any{"enc_algo": "cryptobox", "enc_serializer": "xml"}, "com.t", payload}, "Options.enc_serializer"},
		{"enc_key int", []any{16, 1, map[string]any{"enc_algo": "cryptobox", "enc_key": 1}, "com.t", payload}, "Options.enc_key"},
	}
	for _, tt := range bad {
		for s, b := range foreignBytes(t, tt.in) {
			m, err := s.Unmarshal(b)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("%s %s: got %v, %v; want an error on %s", tt.name, s.Name(), m, err, tt.field)
			}
		}
	}
}

func passthruParts(m Message) (Dict, List) {
	switch m := m.(type) {
	case *Call:
		return m.Options, m.Args
	case *Publish:
		return m.Options, m.Args
	case *Yield:
		return m.Options, m.Args
	case *Event:
		return m.Details, m.Args
	case *Result:
		return m.Details, m.Args
	case *Invocation:
		return m.Details, m.Args
	case *Error:
		return m.Details, m.Args
	}
	return nil, nil
}

func TestPassthruApply(t *testing.T) {
	p := Passthru{Scheme: "wamp", Serializer: "cbor", KeyID: "k", Payload: []byte{1}}
	opts, args := p.Apply(Dict{"acknowledge": true, "enc_algo": "stale"})
	m := &Publish{Request: 1, Options: opts, Topic: "com.t", Args: args}
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	want := Dict{"acknowledge": true, "ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_keyid": "k"}
	if d := cmp.Diff(want, opts); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	p.Autobahn, p.Scheme = true, "cryptobox"
	opts, args = p.Apply(nil)
	m = &Publish{Request: 1, Options: opts, Topic: "com.t", Args: args}
	b, err := MsgPack.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// [16, 1, {...}, "com.t", bin(1)]: the payload replaces Arguments.
	if b[len(b)-3] != 0xc4 || b[len(b)-2] != 1 || b[len(b)-1] != 1 {
		t.Errorf("autobahn shape not written: % x", b)
	}
	// CopyPassthru forwards both spellings untouched, and nothing else.
	got := CopyPassthru(nil, Dict{"ppt_scheme": "mqtt", "enc_key": "k", "acknowledge": true})
	if d := cmp.Diff(Dict{"ppt_scheme": "mqtt", "enc_key": "k"}, got); d != "" {
		t.Errorf("CopyPassthru (-want +got):\n%s", d)
	}
	if CopyPassthru(nil, Dict{"acknowledge": true}) != nil {
		t.Error("CopyPassthru allocated for nothing")
	}
}
