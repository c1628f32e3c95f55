package protocol

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

func (cborSerializer) Marshal(m Message) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	bp := getBuf()
	e := cborEncoder{b: *bp}
	err := writeMessage(&e, m)
	*bp = e.b
	var out []byte
	if err == nil {
		out = finish(e.b)
	}
	putBuf(bp)
	return out, err
}

// cborDecMode decodes into the normalized value types. Well-formedness
// (including every declared length) is checked before anything is
// allocated; tags and non-string map keys are refused.
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  maxDepth,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		BigIntDec:        cbor.BigIntDecodePointer,
		DefaultMapType:   reflect.TypeOf(Dict(nil)),
		UTF8:             cbor.UTF8RejectInvalid,
		NaN:              cbor.NaNDecodeAllowed,
		Inf:              cbor.InfDecodeAllowed,
	}.DecMode()
	if err != nil {
		panic("protocol: cbor options: " + err.Error())
	}
	return dm
}()

func (cborSerializer) Unmarshal(data []byte) (Message, error) {
	var v any
	if err := cborDecMode.Unmarshal(data, &v); err != nil {
		return nil, &DecodeError{Format: "cbor", Offset: -1, Reason: trimCBORError(err.Error())}
	}
	v, err := cborNormalize(v, 0)
	if err != nil {
		return nil, err
	}
	return decodeMessage(v)
}

func trimCBORError(s string) string {
	const p = "cbor: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// cborNormalize turns integers too large for int64 (decoded as *big.Int)
// into uint64 and rejects anything outside the normalized value types.
// Lists and dicts are fixed up in place.
func cborNormalize(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return v, nil
	case List:
		for i, e := range x {
			switch e.(type) {
			case nil, bool, int64, float64, string, []byte:
				continue
			}
			n, err := cborNormalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case Dict:
		for k, e := range x {
			switch e.(type) {
			case nil, bool, int64, float64, string, []byte:
				continue
			}
			n, err := cborNormalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case *big.Int:
		if x.Sign() >= 0 && x.IsUint64() {
			return x.Uint64(), nil
		}
		return nil, &DecodeError{Format: "cbor", Offset: -1, Reason: "integer out of range"}
	case big.Int:
		return cborNormalize(&x, depth)
	}
	return nil, &DecodeError{Format: "cbor", Offset: -1, Reason: "unsupported value of type " + reflect.TypeOf(v).String()}
}

// cborEncoder appends CBOR (RFC 8949, definite lengths, smallest integer
// heads, 64-bit floats) to b.
type cborEncoder struct{ b []byte }

const (
	cborUint   = 0 << 5
	cborNegInt = 1 << 5
	cborBytes  = 2 << 5
	cborText   = 3 << 5
	cborArray  = 4 << 5
	cborMap    = 5 << 5
)

func (e *cborEncoder) head(c Code, n int) {
	e.b = append(e.b, cborArray|byte(n))
	e.major(cborUint, uint64(c))
}

func (e *cborEncoder) id(v uint64)        { e.major(cborUint, v) }
func (e *cborEncoder) str(s string) error { return e.text(s) }
func (e *cborEncoder) dict(d Dict) error  { return e.object(d, 2) }
func (e *cborEncoder) list(l List) error  { return e.array(l, 2) }

func (e *cborEncoder) major(m byte, v uint64) {
	switch {
	case v < 24:
		e.b = append(e.b, m|byte(v))
	case v <= math.MaxUint8:
		e.b = append(e.b, m|24, byte(v))
	case v <= math.MaxUint16:
		e.b = append(e.b, m|25)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(v))
	case v <= math.MaxUint32:
		e.b = append(e.b, m|26)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(v))
	default:
		e.b = append(e.b, m|27)
		e.b = binary.BigEndian.AppendUint64(e.b, v)
	}
}

func (e *cborEncoder) int(v int64) {
	if v >= 0 {
		e.major(cborUint, uint64(v))
	} else {
		e.major(cborNegInt, uint64(^v))
	}
}

func (e *cborEncoder) text(s string) error {
	if !utf8.ValidString(s) {
		return &EncodeError{Format: "cbor", Reason: "invalid UTF-8 in string"}
	}
	e.major(cborText, uint64(len(s)))
	e.b = append(e.b, s...)
	return nil
}

func (e *cborEncoder) array(l List, depth int) error {
	if depth > maxDepth {
		return tooDeep("cbor")
	}
	e.major(cborArray, uint64(len(l)))
	for _, v := range l {
		if err := e.value(v, depth); err != nil {
			return err
		}
	}
	return nil
}

func (e *cborEncoder) object(d Dict, depth int) error {
	if depth > maxDepth {
		return tooDeep("cbor")
	}
	e.major(cborMap, uint64(len(d)))
	for k, v := range d {
		if err := e.text(k); err != nil {
			return err
		}
		if err := e.value(v, depth); err != nil {
			return err
		}
	}
	return nil
}

func (e *cborEncoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, 0xf6)
	case bool:
		if v {
			e.b = append(e.b, 0xf5)
		} else {
			e.b = append(e.b, 0xf4)
		}
	case string:
		return e.text(v)
	case int64:
		e.int(v)
	case int:
		e.int(int64(v))
	case uint64:
		e.major(cborUint, v)
	case float64:
		e.b = append(e.b, 0xfb)
		e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(v))
	case []byte:
		e.major(cborBytes, uint64(len(v)))
		e.b = append(e.b, v...)
	case List:
		return e.array(v, depth+1)
	case Dict:
		return e.object(v, depth+1)
	case int32:
		e.int(int64(v))
	case int16:
		e.int(int64(v))
	case int8:
		e.int(int64(v))
	case uint:
		e.major(cborUint, uint64(v))
	case uint32:
		e.major(cborUint, uint64(v))
	case uint16:
		e.major(cborUint, uint64(v))
	case uint8:
		e.major(cborUint, uint64(v))
	case float32:
		return e.value(float64(v), depth)
	default:
		if depth >= maxDepth {
			return tooDeep("cbor")
		}
		g, err := toGeneric("cbor", v)
		if err != nil {
			return err
		}
		return e.value(g, depth+1)
	}
	return nil
}
