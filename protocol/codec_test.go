package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var serializers = []Serializer{JSON, MsgPack, CBOR}

// TestCrossSerializerEquality decodes every sample through every serializer
// and requires identical values, with no tolerance for nil-vs-empty.
func TestCrossSerializerEquality(t *testing.T) {
	for _, m := range sampleMessages() {
		var first Message
		for _, s := range serializers {
			_, got := encodeDecode(t, s, m)
			if first == nil {
				first = got
				continue
			}
			if diff := cmp.Diff(first, got); diff != "" {
				t.Errorf("%v: json vs %s (-json +%s):\n%s", m.Code(), s.Name(), s.Name(), diff)
			}
		}
	}
}

// TestTruncated feeds every strict prefix of every encoded sample.
func TestTruncated(t *testing.T) {
	for _, s := range serializers {
		for _, m := range sampleMessages() {
			b, err := s.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(b) {
				if got, err := s.Unmarshal(b[:n]); err == nil {
					t.Fatalf("%s: prefix %d/%d of %v decoded to %v", s.Name(), n, len(b), m.Code(), got)
				} else if !errors.Is(err, ErrInvalidMessage) {
					t.Fatalf("%s: error %v does not match ErrInvalidMessage", s.Name(), err)
				}
			}
		}
	}
}

func deepJSON(n int) string {
	return `[48,1,{},"a",` + strings.Repeat("[", n) + strings.Repeat("]", n) + "]"
}

func deepBin(open byte, n int, leaf byte) []byte {
	b := []byte{0x94, 0x30, 0x01, 0x80, 0xa1, 'a'}
	if open == 0x81 { // cbor
		b = []byte{0x85, 0x18, 0x30, 0x01, 0xa0, 0x61, 'a'}
	} else {
		b[0] = 0x95
	}
	return append(append(b, bytes.Repeat([]byte{open}, n)...), leaf)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestUnmarshalRejects(t *testing.T) {
	tests := []struct {
		name   string
		s      Serializer
		in     []byte
		reason string
	}{
		{"empty", JSON, []byte(""), "unexpected end of input"},
		{"space only", JSON, []byte("  "), "unexpected end of input"},
		{"trailing", JSON, []byte(`[48,1,{},"a"]x`), "unexpected data after"},
		{"two docs", JSON, []byte(`[48,1,{},"a"][48,1,{},"a"]`), "unexpected data after"},
		{"not a list", JSON, []byte(`{"a":1}`), "message is dict, want a list"},
		{"float id", JSON, []byte(`[48,1.0,{},"a"]`), "CALL.Request: ID is a float"},
		{"exp id", JSON, []byte(`[48,1e0,{},"a"]`), "CALL.Request: ID is a float"},
		{"id 2^53+1", JSON, []byte(`[17,1,9007199254740993]`), "PUBLISHED.Publication: ID 9007199254740993 out of range"},
		{"integer overflow", JSON, []byte(`[48,1,{},"a",[18446744073709551616]]`), "integer out of range"},
		{"negative overflow", JSON, []byte(`[48,1,{},"a",[-9223372036854775809]]`), "integer out of range"},
		{"float overflow", JSON, []byte(`[48,1,{},"a",[1e999]]`), "number out of range"},
		{"invalid utf8", JSON, []byte("[48,1,{},\"a\xffb\"]"), "invalid UTF-8"},
		{"invalid utf8 escaped path", JSON, []byte("[48,1,{},\"a\",[\"\\n\xc3\"]]"), "invalid UTF-8"},
		{"control char", JSON, []byte("[48,1,{},\"a\x01\"]"), "control character"},
		{"bad escape", JSON, []byte(`[48,1,{},"a",["\x"]]`), "invalid escape"},
		{"bad unicode escape", JSON, []byte(`[48,1,{},"a",["\u12"]]`), "invalid \\u escape"},
		{"bad base64", JSON, []byte(`[48,1,{},"a",["\u0000!!!!"]]`), "invalid base64"},
		{"deep", JSON, []byte(deepJSON(70)), "nesting deeper than 64"},
		{"non-string key", JSON, []byte(`[48,1,{1:2},"a"]`), "expected a string key"},
		{"missing colon", JSON, []byte(`[48,1,{"a" 1},"a"]`), "expected ':'"},
		{"trailing comma", JSON, []byte(`[48,1,{},"a",[1,]]`), "invalid character"},
		{"leading zero", JSON, []byte(`[48,01,{},"a"]`), "expected ',' or ']'"},
		{"lone minus", JSON, []byte(`[48,-,{},"a"]`), "invalid number"},
		{"bad literal", JSON, []byte(`[48,1,{},"a",[tru]]`), "invalid literal"},
		{"unknown code", JSON, []byte(`[99,1]`), "unknown message type 99"},
		{"wrong arity", JSON, []byte(`[1,"realm1"]`), "HELLO: 2 elements, want 3"},
		{"bad uri", JSON, []byte(`[48,1,{},"a..b"]`), `CALL.Procedure: invalid URI "a..b"`},
		{"error code", JSON, []byte(`[8,1,1,{},"wamp.error.x"]`), "ERROR.RequestType: 1 is not a request type"},

		{"empty", MsgPack, nil, "unexpected end of input"},
		{"trailing", MsgPack, unhex("94 30 01 80 a1 61 c0"), "unexpected data after"},
		{"not a list", MsgPack, unhex("80"), "message is dict"},
		{"huge bin32", MsgPack, unhex("95 30 01 80 a1 61 91 c6 ffffffff 00"), "declared length 4294967295 exceeds"},
		{"huge str32", MsgPack, unhex("95 30 01 80 a1 61 91 db ffffffff 00"), "declared length 4294967295 exceeds"},
		{"huge array32", MsgPack, unhex("95 30 01 80 a1 61 dd ffffffff 00"), "declared list length 4294967295 exceeds"},
		{"huge map32", MsgPack, unhex("96 30 01 80 a1 61 90 df ffffffff 00"), "declared dict length 4294967295 exceeds"},
		{"huge top array", MsgPack, unhex("dd 7fffffff"), "exceeds the input"},
		{"ext type", MsgPack, unhex("95 30 01 80 a1 61 91 d4 01 00"), "extension types are not supported"},
		{"timestamp ext", MsgPack, unhex("95 30 01 80 a1 61 91 d6 ff 00000000"), "extension types are not supported"},
		{"invalid code", MsgPack, unhex("95 30 01 80 a1 61 91 c1"), "invalid format code 0xc1"},
		{"int key", MsgPack, unhex("94 30 01 81 01 02 a1 61"), "dict key is not a string"},
		{"bin key", MsgPack, unhex("94 30 01 81 c4 01 61 02 a1 61"), "dict key is not a string"},
		{"invalid utf8", MsgPack, unhex("94 30 01 80 a2 ff fe"), "invalid UTF-8"},
		{"invalid utf8 key", MsgPack, unhex("94 30 01 81 a1 ff 01 a1 61"), "invalid UTF-8"},
		{"deep", MsgPack, deepBin(0x91, 70, 0xc0), "nesting deeper than 64"},
		{"float id", MsgPack, unhex("94 30 cb 3ff0000000000000 80 a1 61"), "CALL.Request: ID is a float"},
		{"float32 id", MsgPack, unhex("94 30 ca 3f800000 80 a1 61"), "CALL.Request: ID is a float"},
		{"id 2^53+1", MsgPack, unhex("93 11 01 cf 0020000000000001"), "out of range"},
		{"id 2^64-1", MsgPack, unhex("93 11 01 cf ffffffffffffffff"), "out of range"},
		{"negative id", MsgPack, unhex("93 11 01 ff"), "ID -1 out of range"},
		{"unknown code", MsgPack, unhex("92 07 01"), "unknown message type 7"},
		{"code is string", MsgPack, unhex("92 a1 30 01"), "message type is string"},
		{"wrong type", MsgPack, unhex("94 30 01 90 a1 61"), "CALL.Options: list, want a dict"},

		{"empty", CBOR, nil, "EOF"},
		{"trailing", CBOR, unhex("84 18 30 01 a0 61 61 f6"), "extraneous data"},
		{"not a list", CBOR, unhex("a0"), "message is dict"},
		{"huge bytes", CBOR, unhex("85 18 30 01 a0 61 61 81 5b ffffffffffffffff 00"), "too large"},
		{"huge bytes 2^32", CBOR, unhex("85 18 30 01 a0 61 61 81 5a ffffffff 00"), "EOF"},
		{"huge text", CBOR, unhex("85 18 30 01 a0 61 61 81 7a ffffffff 00"), "EOF"},
		{"huge array", CBOR, unhex("85 18 30 01 a0 61 61 9a 7ffffff0 00"), "EOF"},
		{"too many elements", CBOR, unhex("85 18 30 01 a0 61 61 9b 00000000ffffffff 00"), "exceeded max number of elements"},
		{"huge map", CBOR, unhex("86 18 30 01 a0 61 61 80 ba 7ffffff0 00"), "EOF"},
		{"int key", CBOR, unhex("84 18 30 01 a1 01 02 61 61"), "dict key is not a string"},
		{"array key", CBOR, unhex("84 18 30 01 a1 80 02 61 61"), "dict key is not a string"},
		{"bytes key", CBOR, unhex("84 18 30 01 a1 41 6b 02 61 61"), "dict key is not a string"},
		{"duplicate key", CBOR, unhex("84 18 30 01 a2 61 6b 01 61 6b 02 61 61"), `duplicate dict key "k"`},
		{"indefinite chunk type", CBOR, unhex("85 18 30 01 a0 61 61 81 7f 41 61 ff"), "wrong element type"},
		{"invalid utf8", CBOR, unhex("84 18 30 01 a0 62 ff fe"), "invalid UTF-8"},
		{"unknown tag", CBOR, unhex("85 18 30 01 a0 61 61 81 c4 82 21 19 6ab3"), "tag 4 is not supported"},
		{"uint16 typed array tag", CBOR, unhex("85 18 30 01 a0 61 61 81 d8 45 44 01000200"), "tag 69 is not supported"},
		{"tag 64 on text", CBOR, unhex("85 18 30 01 a0 61 61 81 d8 40 61 61"), "tag 64 (uint8 typed array) needs a byte string"},
		{"tag 64 truncated", CBOR, unhex("85 18 30 01 a0 61 61 81 d8 40"), ""},
		{"bignum too big", CBOR, unhex("85 18 30 01 a0 61 61 81 c2 49 400000000000000000"), "tag 2 (bignum) does not fit in 64 bits"},
		{"negative bignum too big", CBOR, unhex("85 18 30 01 a0 61 61 81 c3 48 8000000000000000"), "tag 3 (negative bignum) does not fit in 64 bits"},
		{"bignum on int", CBOR, unhex("85 18 30 01 a0 61 61 81 c2 01"), "needs a byte string"},
		{"epoch on text", CBOR, unhex("85 18 30 01 a0 61 61 81 c1 61 61"), "tag 1 (epoch date/time) needs a number"},
		{"date on int", CBOR, unhex("85 18 30 01 a0 61 61 81 c0 01"), "tag 0 needs a text string"},
		{"tag on dict key", CBOR, unhex("84 18 30 01 a1 d8 40 41 61 01 61 61"), "dict key is not a string"},
		{"simple value", CBOR, unhex("85 18 30 01 a0 61 61 81 f0"), "unsupported data item"},
		{"simple value 2", CBOR, unhex("85 18 30 01 a0 61 61 81 f8 20"), "unsupported data item"},
		{"deep", CBOR, deepBin(0x81, 70, 0xf6), "exceeded max nested level"},
		{"float id", CBOR, unhex("84 18 30 fb 3ff0000000000000 a0 61 61"), "CALL.Request: ID is a float"},
		{"half float id", CBOR, unhex("84 18 30 f9 3c00 a0 61 61"), "CALL.Request: ID is a float"},
		{"id 2^53+1", CBOR, unhex("83 11 01 1b 0020000000000001"), "out of range"},
		{"negative too big", CBOR, unhex("85 18 30 01 a0 61 61 81 3b ffffffffffffffff"), "integer out of range"},
		{"unknown code", CBOR, unhex("82 07 01"), "unknown message type 7"},
		{"break outside", CBOR, unhex("84 18 30 01 a0 ff"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.s.Name()+"/"+tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := tt.s.Unmarshal(tt.in)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("Unmarshal(%x) = %v, want error", tt.in, m)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %v does not match ErrInvalidMessage", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "protocol: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Errorf("decoding %d bytes allocated %d bytes", len(tt.in), d)
			}
		})
	}
}

func TestUnmarshalAccepts(t *testing.T) {
	call := func(args ...any) Message {
		return &Call{Request: 1, Options: Dict{}, Procedure: "a", Args: List(args)}
	}
	tests := []struct {
		name string
		s    Serializer
		in   []byte
		want Message
	}{
		{"whitespace", JSON, []byte(" [ 48 ,\n1,\t{ } ,\r\"a\" ] "), &Call{Request: 1, Options: Dict{}, Procedure: "a"}},
		{"exact integers", JSON, []byte(`[48,1,{},"a",[9007199254740992,9007199254740993,-9223372036854775808,9223372036854775807,9223372036854775808,18446744073709551615]]`),
			call(int64(9007199254740992), int64(9007199254740993), int64(math.MinInt64), int64(math.MaxInt64), uint64(1<<63), uint64(math.MaxUint64))},
		{"floats", JSON, []byte(`[48,1,{},"a",[1.5,2.0,1e3,-0.25E-2,0]]`), call(1.5, 2.0, 1000.0, -0.0025, int64(0))},
		{"binary", JSON, []byte(`[48,1,{},"a",["\u0000AAEC/w==","\u0000AAEC\/w==","\u0000AAEC/w","\u0000"]]`), call([]byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}, []byte{})},
		{"escapes", JSON, []byte(`[48,1,{},"a",["\ud83d\ude00","\u00e9","\"\\\/\b\f\n\r\t","<&>","\ud800x","é"]]`), call("😀", "é", "\"\\/\b\f\n\r\t", "<&>", "\ufffdx", "é")},
		{"nested", JSON, []byte(`[48,1,{"k":{"x":[null,true,false]}},"a",[[]],{"z":{}}]`),
			&Call{Request: 1, Options: Dict{"k": Dict{"x": List{nil, true, false}}}, Procedure: "a", Args: List{List{}}, Kwargs: Dict{"z": Dict{}}}},
		{"depth 64 ok", JSON, []byte(deepJSON(62)), nil},

		{"uint64 normalized", MsgPack, unhex("95 30 cf 0000000000000001 80 a1 61 93 cf 8000000000000000 ca 3fc00000 d0 80"), call(uint64(1<<63), 1.5, int64(-128))},
		{"str8 bin8", MsgPack, unhex("95 30 01 80 d9 01 61 92 c4 02 0102 da 0001 62"), &Call{Request: 1, Options: Dict{}, Procedure: "a", Args: List{[]byte{1, 2}, "b"}}},
		{"depth 64 ok", MsgPack, deepBin(0x91, 63, 0xc0), nil},

		{"indefinite and wide", CBOR, unhex("9f 19 0030 1a 00000001 bf ff 7f 61 61 ff 9f 5f 41 01 41 02 ff ff ff"), call([]byte{1, 2})},
		{"half and single floats", CBOR, unhex("85 18 30 01 a0 61 61 83 f9 3e00 fa 3fc00000 1b ffffffffffffffff"), call(1.5, 1.5, uint64(math.MaxUint64))},
		{"undefined is null", CBOR, unhex("85 18 30 01 a0 61 61 81 f7"), call(nil)},
		{"depth 64 ok", CBOR, deepBin(0x81, 63, 0xf6), nil},
	}
	for _, tt := range tests {
		t.Run(tt.s.Name()+"/"+tt.name, func(t *testing.T) {
			got, err := tt.s.Unmarshal(tt.in)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if tt.want == nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONEncoding(t *testing.T) {
	m := &Call{Request: 1, Procedure: "com.x", Args: List{"<&>", 2.0, []byte{0, 1, 2, 255}, "line\n\"q\"\\", "\x01\u2028é", 1e21, 1e-7, -0.5, int64(-3), uint64(math.MaxUint64), true, nil}}
	b, err := JSON.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `[48,1,{},"com.x",["<&>",2.0,"\u0000AAEC/w==","line\n\"q\"\\","\u0001` + "\u2028é" + `",1e+21,1e-07,-0.5,-3,18446744073709551615,true,null]]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// encoding/json must agree on the meaning.
	var generic []any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatalf("encoding/json cannot parse our output: %v", err)
	}
}

func TestMarshalRejects(t *testing.T) {
	cyclic := List{nil}
	cyclic[0] = cyclic
	deep := any("x")
	for range 70 {
		deep = List{deep}
	}
	tests := []struct {
		name         string
		arg          any
		json, binary bool // whether each must fail
	}{
		{"NaN", math.NaN(), true, false},
		{"Inf", math.Inf(1), true, false},
		{"NUL string", "\x00abc", true, false},
		{"invalid utf8", "a\xffb", true, true},
		{"chan", make(chan int), true, true},
		{"func", func() {}, true, true},
		{"int map", map[int]string{1: "a"}, true, true},
		{"cycle", cyclic, true, true},
		{"too deep", deep, true, true},
		{"complex", complex(1, 2), true, true},
	}
	for _, tt := range tests {
		for _, s := range serializers {
			_, err := s.Marshal(&Call{Request: 1, Procedure: "a", Args: List{tt.arg}})
			wantErr := tt.binary
			if s == JSON {
				wantErr = tt.json
			}
			if wantErr && !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s/%s: err = %v, want an ErrInvalidMessage", s.Name(), tt.name, err)
			}
			if !wantErr && err != nil {
				t.Errorf("%s/%s: err = %v", s.Name(), tt.name, err)
			}
		}
	}
}

type myInt int
type point struct {
	X    int    `json:"x"`
	Name string `json:"name,omitempty"`
}

// TestGoValues checks that Go types beyond the decoded set are encoded and
// come back as the same normalized values from every serializer.
func TestGoValues(t *testing.T) {
	n := 7
	var nilPtr *int
	args := List{[]string{"a", "b"}, map[string]int{"x": 1}, point{X: 3}, &point{X: 4, Name: "p"}, myInt(-5),
		&n, nilPtr, [2]int{1, 2}, json.Number("12"), json.Number("1.5"), json.RawMessage(`{"x":[1,2.5]}`),
		map[string]string{"k": "v"}, []int(nil), float32(0.5), int8(-1), uint16(9), uint(10), []Dict{{"a": true}}}
	want := List{List{"a", "b"}, Dict{"x": int64(1)}, Dict{"x": int64(3)}, Dict{"x": int64(4), "name": "p"}, int64(-5),
		int64(7), nil, List{int64(1), int64(2)}, int64(12), 1.5, Dict{"x": List{int64(1), 2.5}},
		Dict{"k": "v"}, List{}, 0.5, int64(-1), int64(9), int64(10), List{Dict{"a": true}}}
	for _, s := range serializers {
		b, err := s.Marshal(&Result{Request: 1, Args: args})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		m, err := s.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if diff := cmp.Diff(want, m.(*Result).Args); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.Name(), diff)
		}
	}
}

func TestFloatsStayFloats(t *testing.T) {
	for _, s := range serializers {
		b, err := s.Marshal(&Result{Request: 1, Args: List{2.0, -0.0, 1e300, math.SmallestNonzeroFloat64}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(List{2.0, 0.0, 1e300, math.SmallestNonzeroFloat64}, m.(*Result).Args, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.Name(), diff)
		}
	}
}

func TestFastFloatMatchesParseFloat(t *testing.T) {
	inputs := []string{"0.1", "-0.0", "1.5", "3.14159", "1e3", "1E-3", "123456789012345.6", "0.000000123", "9.999999999999999", "1e22", "1e-22", "4.35e+15", "2.5e-300", "1.7976931348623157e308", "0.30000000000000004"}
	r := uint64(1)
	for range 20000 {
		r = r*6364136223846793005 + 1442695040888963407
		mant := r >> 40
		exp := int(r%45) - 22
		inputs = append(inputs, strconv.FormatUint(mant, 10)+"e"+strconv.Itoa(exp), "0."+strconv.FormatUint(mant, 10))
	}
	for _, in := range inputs {
		want, err := strconv.ParseFloat(in, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fastFloat([]byte(in)); ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%s) = %v, want %v", in, got, want)
		}
		m, err := JSON.Unmarshal([]byte(`[50,1,{},[` + in + `]]`))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*Result).Args[0].(float64); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("decoded %s = %v, want %v", in, got, want)
		}
	}
}

func TestHalfFloat(t *testing.T) {
	tests := []struct {
		h    uint16
		want float64
	}{
		{0x3c00, 1}, {0x3e00, 1.5}, {0x0001, math.Ldexp(1, -24)}, {0x03ff, math.Ldexp(1023, -24)},
		{0x7bff, 65504}, {0xc000, -2}, {0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)}, {0x8000, math.Copysign(0, -1)},
	}
	for _, tt := range tests {
		if got := halfFloat(tt.h); math.Float64bits(got) != math.Float64bits(tt.want) {
			t.Errorf("halfFloat(%#04x) = %v, want %v", tt.h, got, tt.want)
		}
	}
	if !math.IsNaN(halfFloat(0x7e00)) {
		t.Error("0x7e00 is not NaN")
	}
}

func TestShortFloat(t *testing.T) {
	r := uint64(7)
	vals := []float64{0.1, 0.2, 0.3, 3.5, -2.25, 1e-6, 123456.789, 0.000001, 1e14, 99999999999999.9, 5e-324, 1.0 / 3, -0.5, 12.5}
	for range 50000 {
		r = r*6364136223846793005 + 1442695040888963407
		vals = append(vals, float64(int64(r>>20)%2000000-1000000)/pow10[r%7], math.Float64frombits(r>>2))
	}
	for _, f := range vals {
		b, ok := appendShortFloat(nil, f)
		if !ok {
			continue
		}
		got, err := strconv.ParseFloat(string(b), 64)
		if err != nil || got != f {
			t.Fatalf("appendShortFloat(%v) = %s, parses to %v, %v", f, b, got, err)
		}
		if want := strconv.FormatFloat(f, 'f', -1, 64); string(b) != want && string(b) != want+".0" {
			t.Errorf("appendShortFloat(%v) = %s, strconv gives %s", f, b, want)
		}
	}
}
