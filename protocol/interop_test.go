package protocol

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// widthValues crosses every integer, string, binary, list and dict header
// width of MessagePack and CBOR.
func widthValues() List {
	ints := []int64{0, 1, 23, 24, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -24, -25, -32, -33, -128, -129, -256, -257, -32768, -32769, -65536, -65537, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	var l List
	for _, i := range ints {
		l = append(l, i)
	}
	l = append(l, uint64(math.MaxUint64), uint64(1)<<63)
	for _, n := range []int{0, 23, 24, 31, 32, 255, 256, 65535, 65536} {
		l = append(l, strings.Repeat("é", n/2)+strings.Repeat("a", n%2), make([]byte, n))
	}
	for _, n := range []int{0, 15, 16, 23, 24, 65536} {
		l = append(l, make(List, n))
	}
	for _, n := range []int{15, 16, 24} {
		d := Dict{}
		for i := range n {
			d[strings.Repeat("k", i+1)] = int64(i)
		}
		l = append(l, d)
	}
	return append(l, 1.5, -0.0, math.Inf(1), true, false, nil)
}

// TestEncodersAgainstLibraries decodes our MessagePack and CBOR with the
// libraries' own generic decoders, as an independent check of the format.
func TestEncodersAgainstLibraries(t *testing.T) {
	vals := widthValues()
	m := &Result{Request: 1, Args: vals}
	for _, tt := range []struct {
		s      Serializer
		decode func([]byte) (any, error)
	}{
		{MsgPack, func(b []byte) (any, error) { var v any; err := msgpack.Unmarshal(b, &v); return v, err }},
		{CBOR, func(b []byte) (any, error) {
			dm, _ := cbor.DecOptions{DefaultMapType: reflect.TypeOf(Dict(nil)), MaxArrayElements: 1 << 20}.DecMode()
			var v any
			err := dm.Unmarshal(b, &v)
			return v, err
		}},
	} {
		b, err := tt.s.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tt.decode(b)
		if err != nil {
			t.Fatalf("%s: library cannot decode our output: %v", tt.s.Name(), err)
		}
		args := v.([]any)[3].([]any)
		if len(args) != len(vals) {
			t.Fatalf("%s: %d args, want %d", tt.s.Name(), len(args), len(vals))
		}
		for i, want := range vals {
			if !libEqual(want, args[i]) {
				t.Errorf("%s: arg %d: library decoded %T %.60v, want %T %.60v", tt.s.Name(), i, args[i], args[i], want, want)
			}
		}
		// And our own decoder gives back exactly what we sent.
		got, err := tt.s.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(vals, got.(*Result).Args) {
			t.Errorf("%s: our round trip changed the values", tt.s.Name())
		}
	}
}

// libEqual compares a value with what a library decoded, across the
// libraries' own integer and container types.
func libEqual(want, got any) bool {
	switch w := want.(type) {
	case int64:
		switch g := got.(type) {
		case int64:
			return g == w
		case uint64:
			return w >= 0 && g == uint64(w)
		case int8, int16, int32, uint8, uint16, uint32:
			return reflect.ValueOf(g).Convert(reflect.TypeOf(int64(0))).Int() == w
		}
		return false
	case uint64:
		g, ok := got.(uint64)
		return ok && g == w
	case List:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !libEqual(w[i], g[i]) {
				return false
			}
		}
		return true
	case Dict:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !libEqual(v, g[k]) {
				return false
			}
		}
		return true
	case []byte:
		g, ok := got.([]byte)
		return ok && string(g) == string(w)
	case float64:
		g, ok := got.(float64)
		return ok && math.Float64bits(g) == math.Float64bits(w)
	}
	return reflect.DeepEqual(want, got)
}

// TestDecodersReadLibraryOutput decodes what the libraries produce,
// including float32/float16 and compact encodings they choose.
func TestDecodersReadLibraryOutput(t *testing.T) {
	vals := widthValues()
	msg := []any{50, 1, map[string]any{}, []any(vals)}
	mp, err := msgpack.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	em, _ := cbor.EncOptions{ShortestFloat: cbor.ShortestFloat16}.EncMode()
	cb, err := em.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    Serializer
		data []byte
	}{{MsgPack, mp}, {CBOR, cb}} {
		m, err := tt.s.Unmarshal(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.s.Name(), err)
		}
		if !sameValue(vals, m.(*Result).Args) {
			t.Errorf("%s: decoded library output differs", tt.s.Name())
		}
	}
	// float32 from msgpack becomes the same float64.
	b, _ := msgpack.Marshal([]any{50, 1, map[string]any{}, []any{float32(0.1)}})
	m, err := MsgPack.Unmarshal(b)
	if err != nil || m.(*Result).Args[0] != float64(float32(0.1)) {
		t.Errorf("float32: %v %v", m, err)
	}
}
