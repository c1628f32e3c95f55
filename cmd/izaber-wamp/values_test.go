package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		in       string
		asString bool
		want     any
	}{
		{"42", false, int64(42)},
		{"-7", false, int64(-7)},
		{"18446744073709551615", false, uint64(math.MaxUint64)},
		{"1e400", false, "1e400"}, // not representable: kept as text
		{"2.5", false, 2.5},
		{"true", false, true},
		{"null", false, nil},
		{`"42"`, false, "42"},
		{"hello", false, "hello"},
		{"", false, ""},
		{"  7 ", false, int64(7)},
		{"1 2", false, "1 2"},
		{"[1, 2", false, "[1, 2"},
		{`{"a": [1, {"b": null}]}`, false, protocol.Dict{"a": protocol.List{int64(1), protocol.Dict{"b": nil}}}},
		{"42", true, "42"},
		{`{"a":1}`, true, `{"a":1}`},
	}
	for _, tt := range tests {
		if got := parseValue(tt.in, tt.asString); !cmp.Equal(got, tt.want) {
			t.Errorf("parseValue(%q, %v) = %#v, want %#v", tt.in, tt.asString, got, tt.want)
		}
	}
}

func TestNegativeNumber(t *testing.T) {
	for s, want := range map[string]bool{"-k": false, "--url": false, "--": false, "-": false, "-5": true, "-.5": true, "-1e3": true, "x": false, "": false, "-x=1": false} {
		if got := negativeNumber(s); got != want {
			t.Errorf("negativeNumber(%q) = %v", s, got)
		}
	}
}

// Positional negative numbers are marked so the flag parser leaves them
// alone; flag values and everything after "--" are not.
func TestMarkNegativeNumbers(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	m := negativeMarker
	for _, tt := range []struct{ in, want []string }{
		{[]string{"call", "p", "-2", "-5"}, []string{"call", "p", m + "-2", m + "-5"}},
		{[]string{"call", "p", "--timeout", "-5s", "-1"}, []string{"call", "p", "--timeout", "-5s", m + "-1"}},
		{[]string{"call", "p", "-k", "a=-1", "-1.5"}, []string{"call", "p", "-k", "a=-1", m + "-1.5"}},
		{[]string{"call", "-s", "p", "-3"}, []string{"call", "-s", "p", m + "-3"}},
		{[]string{"call", "--full", "p", "-3"}, []string{"call", "--full", "p", m + "-3"}},
		{[]string{"call", "p", "--", "-3"}, []string{"call", "p", "--", "-3"}},
		{[]string{"call", "p", "--timeout=1s", "-3"}, []string{"call", "p", "--timeout=1s", m + "-3"}},
		{[]string{"__complete", "call", "-"}, []string{"__complete", "call", "-"}},
		{[]string{"metadata", "set", "k", "-7"}, []string{"metadata", "set", "k", m + "-7"}},
	} {
		got := markNegativeNumbers(root, tt.in)
		if !cmp.Equal(got, tt.want) {
			t.Errorf("markNegativeNumbers(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !cmp.Equal(unmark(got), tt.in) {
			t.Errorf("unmark(%q) = %q", got, tt.in)
		}
	}
}

func TestKwargsFlag(t *testing.T) {
	var k kwargsFlag
	for _, bad := range []string{"novalue", "=x"} {
		if err := k.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if k.dict(false) != nil {
		t.Fatal("dict of nothing is not nil")
	}
	for _, s := range []string{"a=1", "b=x=y", "c=", "a=2"} {
		if err := k.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	want := protocol.Dict{"a": int64(2), "b": "x=y", "c": ""}
	if got := k.dict(false); !cmp.Equal(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	v := protocol.Dict{"bin": []byte{0, 1, 2}, "nan": math.NaN(), "inf": math.Inf(-1), "html": "<&>", "m": map[any]any{int64(1): "one"}, "l": protocol.List{float32(0.5)}}
	if err := writeJSON(&b, v, false); err != nil {
		t.Fatal(err)
	}
	want := `{"bin":"\u0000AAEC","html":"<&>","inf":"-Inf","l":[0.5],"m":{"1":"one"},"nan":"NaN"}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}

func TestRedactSecrets(t *testing.T) {
	in := map[string]any{
		"wamp": map[string]any{"connection": map[string]any{"password": "p1", "url": "u", "tls": map[string]any{"key": "/k.pem", "ca": "/ca.pem"}}},
		"db":   map[string]any{"DB_Password": "p2", "api_key": "p3", "tokens": []any{"p4"}, "credentials": map[string]any{"user": "p5"}, "host": "h"},
	}
	out := redactSecrets(in, "")
	b, _ := json.Marshal(out)
	for _, secret := range []string{"p1", "p2", "p3", "p4", "p5", "/k.pem"} {
		if strings.Contains(string(b), `"`+secret+`"`) {
			t.Errorf("%s not redacted: %s", secret, b)
		}
	}
	for _, kept := range []string{`"url":"u"`, `"host":"h"`, `"ca":"/ca.pem"`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("%s lost: %s", kept, b)
		}
	}
	if in["wamp"].(map[string]any)["connection"].(map[string]any)["password"] != "p1" {
		t.Error("input modified")
	}
}

func TestSummarize(t *testing.T) {
	var lats []time.Duration
	for i := 100; i >= 1; i-- {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	got := summarize(lats)
	want := latencyReport{Mean: 50500, P50: 50000, P90: 90000, P99: 99000, Max: 100000}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if (summarize(nil) != latencyReport{}) {
		t.Fatal("empty")
	}
}

// FuzzParseValue: any argument is accepted without a panic; a value parsed
// as JSON writes back to JSON that parses to the same value.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"42", "-1.5e3", `{"a":[1,null,true]}`, `"\u0000AAEC"`, "18446744073709551616", "[", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := parseValue(s, false)
		if str, ok := v.(string); ok && str == s {
			return
		}
		var b bytes.Buffer
		if err := writeJSON(&b, v, false); err != nil {
			t.Fatalf("%q parsed to %#v which does not write: %v", s, v, err)
		}
		again, err := decodeJSON(b.Bytes())
		if err != nil {
			t.Fatalf("%q: output %q does not parse: %v", s, b.String(), err)
		}
		if !cmp.Equal(numbersAsFloats(again), numbersAsFloats(v)) {
			t.Fatalf("%q: %#v became %#v", s, v, again)
		}
	})
}

// numbersAsFloats maps every number to float64: JSON does not keep 2.0
// and 2 apart.
func numbersAsFloats(v any) any {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	case protocol.Dict:
		m := protocol.Dict{}
		for k, e := range t {
			m[k] = numbersAsFloats(e)
		}
		return m
	case protocol.List:
		l := protocol.List{}
		for _, e := range t {
			l = append(l, numbersAsFloats(e))
		}
		return l
	}
	return v
}
