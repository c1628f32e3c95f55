package protocol

// Temporary library-based codecs; replaced by hand-written ones.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

const maxDepth = 64

func (jsonSerializer) Marshal(m Message) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	v, err := jsonPrep(ToList(m))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &EncodeError{Format: "json", Reason: err.Error()}
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil
}

func jsonPrep(v any) (any, error) {
	switch v := v.(type) {
	case []byte:
		return "\x00" + base64.StdEncoding.EncodeToString(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &EncodeError{Format: "json", Reason: "NaN or infinity"}
		}
	case List:
		out := make(List, len(v))
		for i, x := range v {
			y, err := jsonPrep(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case Dict:
		out := make(Dict, len(v))
		for k, x := range v {
			y, err := jsonPrep(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	}
	return v, nil
}

func (jsonSerializer) Unmarshal(data []byte) (Message, error) {
	if !utf8.Valid(data) {
		return nil, &DecodeError{Format: "json", Offset: -1, Reason: "invalid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &DecodeError{Format: "json", Offset: -1, Reason: err.Error()}
	}
	if dec.More() {
		return nil, &DecodeError{Format: "json", Offset: -1, Reason: "trailing data"}
	}
	v, err := normalize("json", v, 0)
	if err != nil {
		return nil, err
	}
	return decodeMessage(v)
}

func normalize(format string, v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &DecodeError{Format: format, Offset: -1, Reason: "nesting too deep"}
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, []byte:
		return v, nil
	case string:
		if !utf8.ValidString(x) {
			return nil, &DecodeError{Format: format, Offset: -1, Reason: "invalid UTF-8"}
		}
		if format == "json" && len(x) > 0 && x[0] == 0 {
			b, err := base64.StdEncoding.DecodeString(x[1:])
			if err != nil {
				return nil, &DecodeError{Format: format, Offset: -1, Reason: "invalid base64 binary"}
			}
			return b, nil
		}
		return v, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		var u uint64
		if err := json.Unmarshal([]byte(x), &u); err == nil {
			return u, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, &DecodeError{Format: format, Offset: -1, Reason: "number out of range"}
		}
		return f, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case List:
		for i, e := range x {
			n, err := normalize(format, e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case Dict:
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, &DecodeError{Format: format, Offset: -1, Reason: "invalid UTF-8"}
			}
			n, err := normalize(format, e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case map[any]any:
		return nil, &DecodeError{Format: format, Offset: -1, Reason: "map with non-string keys"}
	}
	return nil, &DecodeError{Format: format, Offset: -1, Reason: "unsupported value " + typeName(v)}
}

func (msgpackSerializer) Marshal(m Message) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	b, err := msgpack.Marshal(ToList(m))
	if err != nil {
		return nil, &EncodeError{Format: "msgpack", Reason: err.Error()}
	}
	return b, nil
}

func (msgpackSerializer) Unmarshal(data []byte) (Message, error) {
	var v any
	if err := msgpack.Unmarshal(data, &v); err != nil {
		return nil, &DecodeError{Format: "msgpack", Offset: -1, Reason: err.Error()}
	}
	v, err := normalize("msgpack", v, 0)
	if err != nil {
		return nil, err
	}
	return decodeMessage(v)
}

var cborDec, _ = cbor.DecOptions{
	MaxNestedLevels:  maxDepth,
	DefaultMapType:   reflect.TypeOf(Dict(nil)),
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	TagsMd:           cbor.TagsForbidden,
	IntDec:           cbor.IntDecConvertNone,
	UTF8:             cbor.UTF8RejectInvalid,
	MaxArrayElements: 1 << 24,
	MaxMapPairs:      1 << 24,
}.DecMode()

func (cborSerializer) Marshal(m Message) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	b, err := cbor.Marshal(ToList(m))
	if err != nil {
		return nil, &EncodeError{Format: "cbor", Reason: err.Error()}
	}
	return b, nil
}

func (cborSerializer) Unmarshal(data []byte) (Message, error) {
	var v any
	if err := cborDec.Unmarshal(data, &v); err != nil {
		return nil, &DecodeError{Format: "cbor", Offset: -1, Reason: err.Error()}
	}
	v, err := normalize("cbor", v, 0)
	if err != nil {
		return nil, err
	}
	return decodeMessage(v)
}
