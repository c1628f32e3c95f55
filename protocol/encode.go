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
	// head starts the message list with its code; end, called after the
	// last element, completes it with the number of elements, the code
	// included.
	head(c Code)
	end(n int)
	id(v uint64)
	str(s string) error
	// dict writes d, checking its keys against keys (nil: none) as it
	// goes; it reports the passthru keys it saw.
	dict(d Dict, keys *keyTypes, c Code, field string) (passthruSeen, error)
	list(l List) error
	// elem writes one element of any payload type.
	elem(v any) error
	// reserve makes room for a payload of about n bytes (strings and
	// binaries) in a buffer of the message's own (see encBuf).
	reserve(n int)
}

// writeMessage validates m, with the loose URI rule, as it writes it in the
// same layout as ToList: one pass over the message and over each dict.
func writeMessage(mw msgWriter, m Message) error {
	if m == nil {
		return invalid(0, "", "nil message")
	}
	c := m.Code()
	mw.head(c)
	w := walker{op: opWrite, w: mw, code: c, uris: LooseURIs}
	if !walk(m, &w) {
		return invalid(0, "", "nil or unsupported message "+reflect.TypeOf(m).String())
	}
	if w.err == nil {
		mw.end(1 + w.n)
	}
	return w.err
}

// Each format pools its encoders (buffer included). Marshal copies the
// result out, so a pooled buffer never escapes to a caller; maxPooledBuf
// keeps one huge message from pinning memory in the pool.
const maxPooledBuf = 256 << 10

// bigPayload is the payload size from which Marshal encodes into a buffer
// of the message's own, sized for the payload, and hands it over without a
// copy, instead of copying out of a pooled one.
const bigPayload = 16 << 10

// encBuf is the buffer of a pooled encoder. own is set when reserve gave
// the message a buffer of its own, which marshalPooled hands out; pooled is
// the pool's buffer, put back then.
type encBuf struct {
	b      []byte
	own    bool
	pooled []byte
	start  int // where the message begins in b (AppendMarshal appends)
}

// grow moves what is written so far to a buffer of its own with room for
// n more bytes.
func (e *encBuf) grow(n int) {
	if e.own {
		return
	}
	nb := make([]byte, len(e.b), len(e.b)+n)
	copy(nb, e.b)
	e.pooled, e.b, e.own = e.b, nb, true
}

func (e *encBuf) buf() *encBuf { return e }

// bufWriter is a msgWriter that writes into an encBuf; each format's pooled
// encoder is one.
type bufWriter interface {
	msgWriter
	buf() *encBuf
}

// marshalPooled is Marshal for every format: encode (validating) with an
// encoder from pool, append trailer (JSON's closing bracket) and hand out
// the bytes. A message whose payload holds bigPayload bytes or more has
// been moved to a buffer of its own (reserve), which is handed over without
// a copy; otherwise the pooled buffer is copied out and reused.
func marshalPooled(pool *sync.Pool, m Message, trailer string) ([]byte, error) {
	e := pool.Get().(bufWriter)
	eb := e.buf()
	err := writeMessage(e, m)
	eb.b = append(eb.b, trailer...)
	if eb.own {
		out := eb.b
		eb.b, eb.pooled, eb.own = eb.pooled[:0], nil, false
		pool.Put(e)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	var out []byte
	if err == nil {
		out = finish(eb.b)
	}
	if cap(eb.b) <= maxPooledBuf {
		eb.b = eb.b[:0]
		pool.Put(e)
	}
	return out, err
}

// AppendMarshal appends the encoding of m by s to b and returns the
// extended slice, as append does: Marshal without a buffer of the message's
// own, for a caller that copies the bytes on (a connection's outbound
// queue) and reuses b. For a serializer of another package it appends
// what s.Marshal returns.
func AppendMarshal(s Serializer, b []byte, m Message) ([]byte, error) {
	switch s.(type) {
	case jsonSerializer:
		return appendPooled(&jsonEncPool, b, m, "]")
	case msgpackSerializer:
		return appendPooled(&msgpackEncPool, b, m, "")
	case cborSerializer:
		return appendPooled(&cborEncPool, b, m, "")
	}
	out, err := s.Marshal(m)
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}

// appendPooled is AppendMarshal with an encoder from pool writing into dst
// (a message with a big payload may still move to a buffer of its own,
// which is returned).
func appendPooled(pool *sync.Pool, dst []byte, m Message, trailer string) ([]byte, error) {
	e := pool.Get().(bufWriter)
	eb := e.buf()
	saved := eb.b
	eb.b = dst
	err := writeMessage(e, m)
	eb.b = append(eb.b, trailer...)
	out := eb.b
	eb.b, eb.pooled, eb.own = saved[:0], nil, false
	pool.Put(e)
	if err != nil {
		return dst, err
	}
	return out, nil
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

// valueBytes is the size of a string or binary value, 0 for other values.
func valueBytes(v any) int {
	switch v := v.(type) {
	case []byte:
		return len(v)
	case string:
		return len(v)
	}
	return 0
}
