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
// so that the element layout of every message lives in one place.
type msgWriter interface {
	// head starts the message list with n elements, the code included.
	head(c Code, n int)
	id(v uint64)
	str(s string) error
	dict(d Dict) error
	list(l List) error
}

// payloadLen is the number of trailing payload elements to send.
func payloadLen(args List, kwargs Dict) int {
	if len(kwargs) > 0 {
		return 2
	}
	if len(args) > 0 {
		return 1
	}
	return 0
}

func writePayload(w msgWriter, args List, kwargs Dict) error {
	switch payloadLen(args, kwargs) {
	case 2:
		if err := w.list(args); err != nil {
			return err
		}
		return w.dict(kwargs)
	case 1:
		return w.list(args)
	}
	return nil
}

// writeMessage writes m in the same layout as ToList. m must be valid.
func writeMessage(w msgWriter, m Message) error {
	var err error
	// keep records the first error so the layout code stays linear.
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	switch m := m.(type) {
	case *Hello:
		w.head(CodeHello, 3)
		keep(w.str(m.Realm))
		keep(w.dict(m.Details))
	case *Welcome:
		w.head(CodeWelcome, 3)
		w.id(m.Session)
		keep(w.dict(m.Details))
	case *Abort:
		w.head(CodeAbort, 3+payloadLen(m.Args, m.Kwargs))
		keep(w.dict(m.Details))
		keep(w.str(m.Reason))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Challenge:
		w.head(CodeChallenge, 3)
		keep(w.str(m.AuthMethod))
		keep(w.dict(m.Extra))
	case *Authenticate:
		w.head(CodeAuthenticate, 3)
		keep(w.str(m.Signature))
		keep(w.dict(m.Extra))
	case *Goodbye:
		w.head(CodeGoodbye, 3)
		keep(w.dict(m.Details))
		keep(w.str(m.Reason))
	case *Error:
		w.head(CodeError, 5+payloadLen(m.Args, m.Kwargs))
		w.id(uint64(m.RequestType))
		w.id(m.Request)
		keep(w.dict(m.Details))
		keep(w.str(m.URI))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Publish:
		w.head(CodePublish, 4+payloadLen(m.Args, m.Kwargs))
		w.id(m.Request)
		keep(w.dict(m.Options))
		keep(w.str(m.Topic))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Published:
		w.head(CodePublished, 3)
		w.id(m.Request)
		w.id(m.Publication)
	case *Subscribe:
		w.head(CodeSubscribe, 4)
		w.id(m.Request)
		keep(w.dict(m.Options))
		keep(w.str(m.Topic))
	case *Subscribed:
		w.head(CodeSubscribed, 3)
		w.id(m.Request)
		w.id(m.Subscription)
	case *Unsubscribe:
		if len(m.Options) > 0 {
			w.head(CodeUnsubscribe, 4)
		} else {
			w.head(CodeUnsubscribe, 3)
		}
		w.id(m.Request)
		w.id(m.Subscription)
		if len(m.Options) > 0 {
			keep(w.dict(m.Options))
		}
	case *Unsubscribed:
		if m.Request == 0 || len(m.Details) > 0 {
			w.head(CodeUnsubscribed, 3)
			w.id(m.Request)
			keep(w.dict(m.Details))
		} else {
			w.head(CodeUnsubscribed, 2)
			w.id(m.Request)
		}
	case *Event:
		w.head(CodeEvent, 4+payloadLen(m.Args, m.Kwargs))
		w.id(m.Subscription)
		w.id(m.Publication)
		keep(w.dict(m.Details))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Call:
		w.head(CodeCall, 4+payloadLen(m.Args, m.Kwargs))
		w.id(m.Request)
		keep(w.dict(m.Options))
		keep(w.str(m.Procedure))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Cancel:
		w.head(CodeCancel, 3)
		w.id(m.Request)
		keep(w.dict(m.Options))
	case *Result:
		w.head(CodeResult, 3+payloadLen(m.Args, m.Kwargs))
		w.id(m.Request)
		keep(w.dict(m.Details))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Register:
		w.head(CodeRegister, 4)
		w.id(m.Request)
		keep(w.dict(m.Options))
		keep(w.str(m.Procedure))
	case *Registered:
		w.head(CodeRegistered, 3)
		w.id(m.Request)
		w.id(m.Registration)
	case *Unregister:
		if len(m.Options) > 0 {
			w.head(CodeUnregister, 4)
		} else {
			w.head(CodeUnregister, 3)
		}
		w.id(m.Request)
		w.id(m.Registration)
		if len(m.Options) > 0 {
			keep(w.dict(m.Options))
		}
	case *Unregistered:
		if m.Request == 0 || len(m.Details) > 0 {
			w.head(CodeUnregistered, 3)
			w.id(m.Request)
			keep(w.dict(m.Details))
		} else {
			w.head(CodeUnregistered, 2)
			w.id(m.Request)
		}
	case *Invocation:
		w.head(CodeInvocation, 4+payloadLen(m.Args, m.Kwargs))
		w.id(m.Request)
		w.id(m.Registration)
		keep(w.dict(m.Details))
		keep(writePayload(w, m.Args, m.Kwargs))
	case *Interrupt:
		w.head(CodeInterrupt, 3)
		w.id(m.Request)
		keep(w.dict(m.Options))
	case *Yield:
		w.head(CodeYield, 3+payloadLen(m.Args, m.Kwargs))
		w.id(m.Request)
		keep(w.dict(m.Options))
		keep(writePayload(w, m.Args, m.Kwargs))
	default:
		return invalid(0, "", "unsupported message type "+reflect.TypeOf(m).String())
	}
	return err
}

// Each format pools its encoders (buffer included). Marshal copies the
// result out, so a pooled buffer never escapes to a caller; maxPooledBuf
// keeps one huge message from pinning memory in the pool.
const maxPooledBuf = 256 << 10

// bigPayload is the payload size from which Marshal encodes straight into
// a buffer of its own, sized from payloadBytes, instead of copying out of a
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
// of its own of bigCap(payloadBytes) bytes, which is handed over without a
// copy; otherwise the pooled buffer is copied out and reused.
func marshalPooled(pool *sync.Pool, m Message, bigCap func(n int) int, trailer string) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	e := pool.Get().(bufWriter)
	b := e.buffer()
	if n := payloadBytes(m); n >= bigPayload {
		pooled := *b
		*b = make([]byte, 0, bigCap(n))
		err := writeMessage(e, m)
		*b = append(*b, trailer...)
		out := *b
		*b = pooled
		pool.Put(e)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	err := writeMessage(e, m)
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

// payloadBytes adds up the lengths of the strings and binaries directly in
// m's Args and Kwargs: a cheap lower bound of the encoded size.
func payloadBytes(m Message) int {
	var args List
	var kwargs Dict
	switch m := m.(type) {
	case *Call:
		args, kwargs = m.Args, m.Kwargs
	case *Result:
		args, kwargs = m.Args, m.Kwargs
	case *Invocation:
		args, kwargs = m.Args, m.Kwargs
	case *Yield:
		args, kwargs = m.Args, m.Kwargs
	case *Publish:
		args, kwargs = m.Args, m.Kwargs
	case *Event:
		args, kwargs = m.Args, m.Kwargs
	case *Error:
		args, kwargs = m.Args, m.Kwargs
	default:
		return 0
	}
	n := 0
	for _, v := range args {
		n += valueBytes(v)
	}
	for _, v := range kwargs {
		n += valueBytes(v)
	}
	return n
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
