package main

// Command-line values in, JSON out.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// parseValue turns one command-line argument into a WAMP payload value:
// the JSON value when the whole text is one (42, true, null, [1,2],
// {"a":1}, "quoted"), else the text itself as a string. asString keeps
// the text as a string in every case.
func parseValue(s string, asString bool) any {
	if asString {
		return s
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return s
	}
	return v
}

// decodeJSON decodes exactly one JSON value into payload types: integers
// as int64 (uint64 above MaxInt64), other numbers as float64, objects as
// protocol.Dict and arrays as protocol.List.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return f, nil
	case map[string]any:
		d := make(protocol.Dict, len(t))
		for k, e := range t {
			var err error
			if d[k], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return d, nil
	case []any:
		l := make(protocol.List, len(t))
		for i, e := range t {
			var err error
			if l[i], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
	return v, nil
}

// kwargsFlag collects repeated -k KEY=VALUE flags.
type kwargsFlag struct {
	pairs [][2]string
}

func (k *kwargsFlag) String() string { return "" }

// Type names the flag's value in help.
func (k *kwargsFlag) Type() string { return "KEY=VALUE" }

func (k *kwargsFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	k.pairs = append(k.pairs, [2]string{key, value})
	return nil
}

// dict returns the keyword arguments, or nil when there are none.
func (k *kwargsFlag) dict(asString bool) protocol.Dict {
	if len(k.pairs) == 0 {
		return nil
	}
	d := protocol.Dict{}
	for _, p := range k.pairs {
		d[p[0]] = parseValue(p[1], asString)
	}
	return d
}

func parseArgs(args []string, asString bool) protocol.List {
	if len(args) == 0 {
		return nil
	}
	l := make(protocol.List, len(args))
	for i, a := range args {
		l[i] = parseValue(a, asString)
	}
	return l
}

// toJSON converts a payload value to something encoding/json writes
// faithfully: binary as WAMP's JSON form "\u0000"+base64, non-finite
// floats as strings, maps with non-string keys with their keys printed.
func toJSON(v any) any {
	switch t := v.(type) {
	case []byte:
		return "\x00" + base64.StdEncoding.EncodeToString(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return strconv.FormatFloat(t, 'g', -1, 64)
		}
		return t
	case float32:
		return toJSON(float64(t))
	case protocol.Dict:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = toJSON(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = toJSON(e)
		}
		return m
	case protocol.List:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = toJSON(e)
		}
		return l
	}
	return v
}

// writeJSON writes v as one line, or indented.
func writeJSON(w io.Writer, v any, indent bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(toJSON(v)); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func nonNilList(l protocol.List) protocol.List {
	if l == nil {
		return protocol.List{}
	}
	return l
}

func nonNilDict(d protocol.Dict) protocol.Dict {
	if d == nil {
		return protocol.Dict{}
	}
	return d
}

// resultValue is what call prints by default: the only positional
// result, the list of them, null, or {args, kwargs} when there are
// keyword results.
func resultValue(args protocol.List, kwargs protocol.Dict) any {
	if len(kwargs) > 0 {
		return map[string]any{"args": nonNilList(args), "kwargs": kwargs}
	}
	switch len(args) {
	case 0:
		return nil
	case 1:
		return args[0]
	}
	return args
}
