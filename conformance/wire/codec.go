package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// EncodeList serializes a generic list with ser's format without any WAMP
// validation, so that it can carry what package protocol refuses: unknown
// message codes, wrong element types, IDs out of range. Values may be nil,
// bool, any integer or float type, string, []byte, []any and map[string]any;
// JSON carries []byte as a NUL-prefixed base64 string.
func EncodeList(ser protocol.Serializer, l []any) ([]byte, error) {
	switch ser.Name() {
	case "json":
		var b bytes.Buffer
		if err := encodeJSON(&b, l); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case "msgpack":
		var b bytes.Buffer
		enc := msgpack.NewEncoder(&b)
		enc.UseCompactInts(true)
		enc.SetSortMapKeys(true)
		if err := enc.Encode(l); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case "cbor":
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			return nil, err
		}
		return em.Marshal(l)
	}
	return nil, fmt.Errorf("wire: no generic encoder for serializer %s", ser.Name())
}

func encodeJSON(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		s, _ := json.Marshal(x)
		b.Write(s)
	case []byte:
		s, _ := json.Marshal("\x00" + base64.StdEncoding.EncodeToString(x))
		b.Write(s)
	case float32:
		return encodeJSON(b, float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("wire: JSON cannot carry %v", x)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		b.WriteString(s)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			s, _ := json.Marshal(k)
			b.Write(s)
			b.WriteByte(':')
			if err := encodeJSON(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			b.WriteString(strconv.FormatInt(rv.Int(), 10))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			b.WriteString(strconv.FormatUint(rv.Uint(), 10))
		default:
			return fmt.Errorf("wire: cannot encode %T", v)
		}
	}
	return nil
}

// DecodeGeneric decodes a payload of ser's format into generic values
// (int64/uint64, float64, string, []byte, []any, map[string]any) without
// WAMP validation. It is for showing what a peer sent.
func DecodeGeneric(ser protocol.Serializer, b []byte) (any, error) {
	var v any
	switch ser.Name() {
	case "json":
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if d.More() {
			return nil, fmt.Errorf("trailing data after the JSON value")
		}
	case "msgpack":
		if err := msgpack.Unmarshal(b, &v); err != nil {
			return nil, err
		}
	case "cbor":
		dm, err := cbor.DecOptions{DefaultMapType: reflect.TypeOf(map[string]any(nil))}.DecMode()
		if err != nil {
			return nil, err
		}
		if err := dm.Unmarshal(b, &v); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("wire: no generic decoder for serializer %s", ser.Name())
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case string:
		if strings.HasPrefix(x, "\x00") {
			if p, err := base64.StdEncoding.DecodeString(x[1:]); err == nil {
				return p
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case float32:
		return float64(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return rv.Uint()
	}
	return v
}

// maxShown bounds the text of one value in a transcript.
const maxShown = 1500

// Format renders a generic value compactly for transcripts: JSON-like,
// with byte strings as h'hex', long strings and payloads cut short.
func Format(v any) string {
	var b strings.Builder
	format(&b, v)
	s := b.String()
	if len(s) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + fmt.Sprintf("…(%d more chars)", len(s)-cut)
	}
	return s
}

func format(b *strings.Builder, v any) {
	if b.Len() > maxShown {
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		if len(x) > 200 {
			fmt.Fprintf(b, "%s…(%d chars)", strconv.Quote(x[:200]), len(x))
			return
		}
		b.WriteString(strconv.Quote(x))
	case []byte:
		if len(x) > 32 {
			fmt.Fprintf(b, "h'%s…'(%d bytes)", hex.EncodeToString(x[:32]), len(x))
			return
		}
		fmt.Fprintf(b, "h'%s'", hex.EncodeToString(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(k))
			b.WriteString(": ")
			format(b, x[k])
		}
		b.WriteByte('}')
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	default:
		fmt.Fprint(b, x)
	}
}

// Describe renders a frame received or sent on a connection of the given
// transport with ser, for a transcript: the message name and its list form
// when it decoded, else what the bytes hold and why they did not decode.
// A WebSocket message of the kind the serializer does not use is flagged.
func Describe(ser protocol.Serializer, transport string, f *Frame) string {
	var s string
	switch {
	case f.Type == FramePing:
		s = fmt.Sprintf("RawSocket PING h'%s'", shortHex(f.Payload))
	case f.Type == FramePong:
		s = fmt.Sprintf("RawSocket PONG h'%s'", shortHex(f.Payload))
	case f.Type != FrameMessage:
		s = fmt.Sprintf("RawSocket frame of reserved type %d, %d octets", f.Type, len(f.Payload))
	case f.Msg != nil:
		s = f.Msg.Code().String() + " " + Format(compactRoles(redact(protocol.ToList(f.Msg))))
	default:
		what := ""
		if ser != nil {
			if v, err := DecodeGeneric(ser, f.Payload); err == nil {
				what = Format(redact(v))
				if l, ok := v.([]any); ok && len(l) > 0 {
					if c, ok := l[0].(int64); ok {
						what = protocol.Code(c).String() + " " + what
					}
				}
			}
		}
		if what == "" {
			what = fmt.Sprintf("%d octets h'%s'", len(f.Payload), shortHex(f.Payload))
		}
		if f.Err != nil {
			what += " (invalid: " + f.Err.Error() + ")"
		}
		s = what
	}
	if transport == WebSocket && ser != nil && f.Text != ser.TextFrames() {
		if f.Text {
			s += " [TEXT message]"
		} else {
			s += " [BINARY message]"
		}
	}
	if f.Oversized {
		s += fmt.Sprintf(" [OVERSIZED: %d octets]", len(f.Payload))
	}
	return s
}

func shortHex(p []byte) string {
	if len(p) > 48 {
		return hex.EncodeToString(p[:48]) + "…"
	}
	return hex.EncodeToString(p)
}

// compactRoles shortens Details.roles of HELLO and WELCOME to the feature
// count per role: the full roles fill lines and say little.
func compactRoles(v any) any {
	l, ok := v.([]any)
	if !ok || len(l) != 3 {
		return v
	}
	c, _ := l[0].(int64)
	d, ok := l[2].(map[string]any)
	if c != int64(protocol.CodeHello) && c != int64(protocol.CodeWelcome) || !ok {
		return v
	}
	roles, ok := d["roles"].(map[string]any)
	if !ok {
		return v
	}
	short := map[string]any{}
	for name, r := range roles {
		rd, ok := r.(map[string]any)
		if !ok {
			short[name] = r
			continue
		}
		fs, ok := rd["features"].(map[string]any)
		if !ok {
			short[name] = rd
			continue
		}
		short[name] = fmt.Sprintf("<%d features>", len(fs))
	}
	nd := maps.Clone(d)
	nd["roles"] = short
	return []any{l[0], l[1], nd}
}

// redact hides the signature of an AUTHENTICATE (a ticket is a secret).
func redact(v any) any {
	l, ok := v.([]any)
	if !ok || len(l) < 2 {
		return v
	}
	if c, _ := l[0].(int64); c == int64(protocol.CodeAuthenticate) {
		out := slices.Clone(l)
		if s, ok := out[1].(string); ok {
			out[1] = fmt.Sprintf("<redacted %d chars>", len(s))
		}
		return out
	}
	return v
}
