package protocol

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// maxDepth is the deepest nesting of lists and dicts accepted, counting the
// message list itself as 1. Decoders reject deeper input; encoders reject
// deeper values (which also stops reference cycles).
const maxDepth = 64

// msgWriter is implemented by each format's encoder; writeMessage drives it
// with the message's description (layout.go).
type msgWriter interface {
	// head starts the message list with n elements, the code included.
	head(c Code, n int)
	id(v uint64)
	str(s string) error
	dict(d Dict) error
	list(l List) error
	// elem writes one element of any payload type.
	elem(v any) error
}

// writeMessage writes m, of n elements after its code as counted by
// prepare, in the same layout as ToList.
func writeMessage(mw msgWriter, m Message, n int) error {
	mw.head(m.Code(), 1+n)
	w := walker{op: opWrite, w: mw}
	walk(m, &w)
	return w.err
}

// prepare validates m before it is sent, with the loose URI rule, and
// returns the number of elements after its code and a lower bound of its
// payload's encoded size (the strings and binaries directly in Args and
// Kwargs).
func prepare(m Message) (n, size int, err error) {
	if isNil(m) {
		return 0, 0, invalid(0, "", "nil message")
	}
	w := walker{op: opValidate, code: m.Code(), uris: LooseURIs}
	if !walk(m, &w) {
		return 0, 0, invalid(0, "", "unsupported message type "+reflect.TypeOf(m).String())
	}
	return w.n, w.size, w.err
}

// Each format pools its encoders (buffer included). Marshal copies the
// result out, so a pooled buffer never escapes to a caller; maxPooledBuf
// keeps one huge message from pinning memory in the pool.
const maxPooledBuf = 256 << 10

// bigPayload is the payload size from which Marshal encodes straight into
// a buffer of its own, sized from the payload size prepare reports, instead of copying out of a
// pooled one.
const bigPayload = 16 << 10

// bufWriter is a msgWriter that writes into a byte slice it owns; each
// format's pooled encoder is one.
type bufWriter interface {
	msgWriter
	buffer() *[]byte
}

// marshalPooled is Marshal for every format: validate, encode with an
// encoder from pool, append trailer (JSON's closing bracket) and hand out
// the bytes. A message with a big payload is encoded straight into a buffer
// of its own of bigCap(size) bytes, which is handed over without a
// copy; otherwise the pooled buffer is copied out and reused.
func marshalPooled(pool *sync.Pool, m Message, bigCap func(n int) int, trailer string) ([]byte, error) {
	n, size, err := prepare(m)
	if err != nil {
		return nil, err
	}
	e := pool.Get().(bufWriter)
	b := e.buffer()
	if size >= bigPayload {
		pooled := *b
		*b = make([]byte, 0, bigCap(size))
		err := writeMessage(e, m, n)
		*b = append(*b, trailer...)
		out := *b
		*b = pooled
		pool.Put(e)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	err = writeMessage(e, m, n)
	*b = append(*b, trailer...)
	var out []byte
	if err == nil {
		out = finish(*b)
	}
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		pool.Put(e)
	}
	return out, err
}

func valueBytes(v any) int {
	switch v := v.(type) {
	case []byte:
		return len(v)
	case string:
		return len(v)
	}
	return 0
}

// finish returns an exact-size copy of a pooled buffer's contents.
func finish(buf []byte) []byte {
	return append([]byte(nil), buf...) // no zeroing pass, unlike make+copy
}

// toGeneric converts a payload value of a type the encoders do not handle
// directly into the decoded value types (nil, bool, int64, uint64, float64,
// string, []byte, List, Dict). Named basic types, other slices, arrays and
// string-keyed maps are converted by reflection; structs and values that
// implement json.Marshaler or encoding.TextMarshaler go through
// encoding/json (so they look the same in every format).
func toGeneric(format string, v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return numberValue(format, string(v))
	case json.RawMessage:
		return jsonValue(format, v)
	case json.Marshaler, encoding.TextMarshaler:
		return viaJSON(format, v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice:
		if rv.IsNil() {
			return List{}, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
		fallthrough
	case reflect.Array:
		n := rv.Len()
		l := make(List, n)
		for i := range n {
			l[i] = rv.Index(i).Interface()
		}
		return l, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &EncodeError{Format: format, Reason: "map with non-string keys (" + rv.Type().String() + ")"}
		}
		d := make(Dict, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			d[it.Key().String()] = it.Value().Interface()
		}
		return d, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct {
			return viaJSON(format, v)
		}
		return rv.Elem().Interface(), nil
	case reflect.Struct:
		return viaJSON(format, v)
	}
	return nil, &EncodeError{Format: format, Reason: "unsupported type " + rv.Type().String()}
}

// viaJSON converts v with encoding/json and decodes the result into generic
// values.
func viaJSON(format string, v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &EncodeError{Format: format, Reason: err.Error()}
	}
	return jsonValue(format, b)
}

func jsonValue(format string, b []byte) (any, error) {
	d := getJSONDecoder(b)
	defer putJSONDecoder(d)
	v, err := d.document()
	if err != nil {
		return nil, &EncodeError{Format: format, Reason: "json: " + err.Error()}
	}
	return v, nil
}

func numberValue(format, s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, &EncodeError{Format: format, Reason: "invalid number " + quote(s)}
	}
	return f, nil
}

func tooDeep(format string) error {
	return &EncodeError{Format: format, Reason: "nesting deeper than " + strconv.Itoa(maxDepth) + " (or a reference cycle)"}
}
