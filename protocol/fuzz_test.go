package protocol

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// The seed corpora live in testdata/fuzz/<Target>/ (one file per message
// type and serializer, plus malformed inputs); f.Add adds the in-memory
// samples too so a plain `go test` exercises them.

func FuzzJSONUnmarshal(f *testing.F)    { fuzzUnmarshal(f, JSON) }
func FuzzMsgPackUnmarshal(f *testing.F) { fuzzUnmarshal(f, MsgPack) }
func FuzzCBORUnmarshal(f *testing.F)    { fuzzUnmarshal(f, CBOR) }

// sameMessage is an exact, NaN-tolerant deep equality that also tells nil
// from empty. (go-cmp's slice diffing is exponential in nesting depth, which
// a fuzzer finds at once.)
func sameMessage(a, b Message) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false
	}
	va, vb = va.Elem(), vb.Elem()
	for i := range va.NumField() {
		if !sameValue(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && bytes.Equal(x, y)
	case List:
		y, ok := b.(List)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case Dict:
		y, ok := b.(Dict)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
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

func fuzzUnmarshal(f *testing.F, s Serializer) {
	for _, m := range sampleMessages() {
		b, err := s.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range foreignSeeds(f, s) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := s.Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not match ErrInvalidMessage", err)
			}
			// Only a URI fault keeps the message, and then the message
			// has exactly that fault.
			var ue *URIError
			switch {
			case errors.As(err, &ue):
				if m == nil {
					t.Fatalf("URIError %v without its message", err)
				}
				var ve *URIError
				if verr := Validate(m); !errors.As(verr, &ve) || ve.Field != ue.Field || ve.URI != ue.URI {
					t.Fatalf("message kept with %v validates with %v", err, verr)
				}
			case m != nil:
				t.Fatalf("error %v with a message %#v", err, m)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("decoded message does not validate: %v", err)
		}
		checkReencode(t, s, m, true)
		// Other serializers may refuse some values (NaN or NUL-led
		// strings in JSON) but must never change a message they accept.
		for _, o := range serializers {
			if o != s {
				checkReencode(t, o, m, false)
			}
		}
	})
}

// checkReencode marshals m with s and requires the decoded copy to be equal.
func checkReencode(t *testing.T, s Serializer, m Message, mustEncode bool) {
	t.Helper()
	b, err := s.Marshal(m)
	if err != nil {
		var ee *EncodeError
		if mustEncode || !errors.As(err, &ee) {
			t.Fatalf("%s: re-encoding a decoded %v failed: %v", s.Name(), m.Code(), err)
		}
		return
	}
	m2, err := s.Unmarshal(b)
	if err != nil {
		t.Fatalf("%s: decoding our own encoding %q failed: %v", s.Name(), b, err)
	}
	if !sameMessage(m, m2) {
		t.Fatalf("%s: re-decoded message differs:\nfirst  %#v\nsecond %#v", s.Name(), m, m2)
	}
}

// foreignSeeds are what other implementations send and our encoder never
// writes: nulls in the payload positions, autobahn's opaque payload, CBOR
// tags (autobahn-js's vectors and hand-made ones).
func foreignSeeds(f *testing.F, s Serializer) [][]byte {
	lists := [][]any{
		{50, 1, map[string]any{}, []any{21}, nil},
		{50, 1, map[string]any{}, nil, map[string]any{"k": 1}},
		{36, 5, 6, map[string]any{}, []any{"e"}, nil},
		{68, 1, 2, map[string]any{}, nil, nil},
		{16, 1, map[string]any{"enc_algo": "cryptobox", "enc_serializer": "cbor"}, "com.t", []byte{9}},
		{48, 1, map[string]any{"enc_algo": "cryptobox"}, "com.p", "a1666e6f74696365"},
		{48, 1, map[string]any{"ppt_scheme": "wamp", "ppt_cipher": "aes256gcm"}, "com.p", []any{[]byte{1}}},
		{16, 1, map[string]any{"acknowledge": 1, "exclude": []any{"x"}}, "com.t"},
	}
	var out [][]byte
	for _, l := range lists {
		var b []byte
		var err error
		switch s {
		case JSON:
			e := &jsonEncoder{}
			err = e.array(l, 1)
			b = e.b
		case MsgPack:
			b, err = msgpack.Marshal(l)
		case CBOR:
			b, err = cbor.Marshal(l)
		}
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	if s == CBOR {
		for _, v := range []string{
			"85183001a065636f6d2e7881d84045000102feff",
			"861002a16b61636b6e6f776c65646765f565636f6d2e7480a264626c6f62d84045000102feff666e6573746564a1646c69737481d84045000102feff",
			"85183006a065636f6d2e7882c2488000000000000000c3487fffffffffffffff",
			"85183007a065636f6d2e7881d901028261616162",
			"8518300aa065636f6d2e7881d8454401000200",
			"d9d9f785183001a0616181c11a514b67b0",
		} {
			out = append(out, unhex(v))
		}
	}
	return out
}

// FuzzFromList feeds JSON-decoded generic values to FromList.
func FuzzFromList(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := JSON.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range foreignSeeds(f, JSON) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := getJSONDecoder(data)
		v, err := d.document()
		putJSONDecoder(d)
		if err != nil {
			return
		}
		l, ok := v.(List)
		if !ok {
			return
		}
		m, err := FromList(l)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("FromList error %T %v is not a *ValidationError", err, err)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("FromList result does not validate: %v", err)
		}
		m2, err := FromList(ToList(m))
		if err != nil {
			t.Fatalf("FromList(ToList(m)): %v", err)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("list round trip differs:\nfirst  %#v\nsecond %#v", m, m2)
		}
		for _, s := range serializers {
			checkReencode(t, s, m, true)
		}
	})
}

func TestSameValue(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{math.NaN(), math.NaN(), true},
		{0.0, math.Copysign(0, -1), false},
		{int64(1), uint64(1), false},
		{List{}, List(nil), false},
		{Dict{}, Dict(nil), false},
		{[]byte{}, []byte(nil), false},
		{List{Dict{"a": List{int64(1)}}}, List{Dict{"a": List{int64(1)}}}, true},
		{Dict{"a": int64(1)}, Dict{"b": int64(1)}, false},
	}
	for _, tt := range tests {
		if got := sameValue(tt.a, tt.b); got != tt.want {
			t.Errorf("sameValue(%#v, %#v) = %v", tt.a, tt.b, got)
		}
	}
	if sameMessage(&Call{Request: 1}, &Call{Request: 2}) || !sameMessage(&Call{Request: 1, Args: List{"x"}}, &Call{Request: 1, Args: List{"x"}}) {
		t.Error("sameMessage wrong")
	}
}
