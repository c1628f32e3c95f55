package protocol

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

func (cborSerializer) Marshal(m Message) ([]byte, error) {
	return marshalPooled(&cborEncPool, m, "")
}

// cborDecMode holds the resource limits checked by Wellformed before our
// own walker runs: nesting, element counts, every declared length against
// the input, indefinite-length structure. Tags are allowed here; the
// walker decides what each tag gives (cborDecoder.tagged).
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  maxDepth,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
		DefaultMapType:   reflect.TypeOf(Dict(nil)),
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic("protocol: cbor options: " + err.Error())
	}
	return dm
}()

func (cborSerializer) Unmarshal(data []byte) (Message, error) {
	if err := cborDecMode.Wellformed(data); err != nil {
		return nil, &DecodeError{Format: "cbor", Offset: -1, Reason: trimCBORError(err)}
	}
	d := cborDecoderPool.Get().(*cborDecoder)
	defer d.release()
	return unmarshalWith(d, data)
}

func (d *cborDecoder) elems(n int) []elem { return d.top[:n] }

// document is value: Wellformed has already checked that data holds
// exactly one item.
func (d *cborDecoder) document() (any, error) { return d.value() }

func trimCBORError(err error) string {
	s := err.Error()
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of input (" + s + ")"
	}
	const p = "cbor: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// cborDecoder walks CBOR that cborDecMode.Wellformed accepted, producing
// the normalized value types directly. It still checks every bound so
// that it cannot panic whatever the input.
type cborDecoder struct {
	data  []byte
	whole string // a copy of a small input; strings are cut from it
	pos   int
	depth int
	items []any
	top   [maxElems]elem
}

var cborDecoderPool = sync.Pool{New: func() any { return new(cborDecoder) }}

func (d *cborDecoder) reset(data []byte) {
	d.data, d.pos, d.depth = data, 0, 0
	d.whole = ""
	if len(data) <= maxShared {
		d.whole = string(data)
	}
}

func (d *cborDecoder) release() {
	d.data, d.whole = nil, ""
	d.top = [maxElems]elem{}
	clear(d.items)
	d.items = d.items[:0]
	if cap(d.items) > 4096 {
		return
	}
	cborDecoderPool.Put(d)
}

func (d *cborDecoder) fail(reason string) error {
	return &DecodeError{Format: "cbor", Offset: d.pos, Reason: reason}
}

const indefinite = math.MaxUint64

// head reads an initial byte and its argument. For indefinite lengths
// (additional information 31) val is indefinite.
func (d *cborDecoder) head() (major byte, ai byte, val uint64, err error) {
	if d.pos >= len(d.data) {
		return 0, 0, 0, d.fail("unexpected end of input")
	}
	b := d.data[d.pos]
	d.pos++
	major, ai = b>>5, b&0x1f
	var n int
	switch {
	case ai < 24:
		return major, ai, uint64(ai), nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	case ai == 31:
		return major, ai, indefinite, nil
	default:
		return 0, 0, 0, d.fail("invalid additional information")
	}
	if len(d.data)-d.pos < n {
		return 0, 0, 0, d.fail("unexpected end of input")
	}
	for _, c := range d.data[d.pos : d.pos+n] {
		val = val<<8 | uint64(c)
	}
	d.pos += n
	return major, ai, val, nil
}

// length checks a definite length against the remaining input.
func (d *cborDecoder) length(val uint64, unit int) (int, error) {
	if val == indefinite || val > uint64(len(d.data)-d.pos)/uint64(unit) {
		return 0, d.fail("declared length exceeds the input")
	}
	return int(val), nil
}

func (d *cborDecoder) isBreak() bool {
	if d.pos < len(d.data) && d.data[d.pos] == 0xff {
		d.pos++
		return true
	}
	return false
}

// message decodes a top-level array of at most maxElems elements into
// d.top. ok is false for anything else.
func (d *cborDecoder) message() (n int, ok bool, err error) {
	if d.pos >= len(d.data) || d.data[d.pos]>>5 != 4 {
		return 0, false, nil
	}
	_, _, val, err := d.head()
	if err != nil {
		return 0, false, err
	}
	d.depth = 1
	for i := 0; ; i++ {
		if val == indefinite {
			if d.isBreak() {
				n = i
				break
			}
		} else if uint64(i) == val {
			n = i
			break
		}
		if i == maxElems {
			return 0, false, nil
		}
		e := &d.top[i]
		if d.pos >= len(d.data) {
			return 0, false, d.fail("unexpected end of input")
		}
		switch d.data[d.pos] >> 5 {
		case 0:
			_, _, u, err := d.head()
			if err != nil {
				return 0, false, err
			}
			*e = elem{kind: fUint, n: u}
		case 3:
			s, err := d.text()
			if err != nil {
				return 0, false, err
			}
			*e = elem{kind: fString, s: s}
		default:
			v, err := d.value()
			if err != nil {
				return 0, false, err
			}
			*e = elem{v: v}
		}
	}
	if d.pos != len(d.data) {
		return 0, false, d.fail("unexpected data after the value")
	}
	return n, true, nil
}

// chunks returns the content of a byte or text string (major type m) whose
// head has been read, and whether it is one slice of the input.
func (d *cborDecoder) chunks(m byte, val uint64) (p []byte, shared bool, err error) {
	if val != indefinite {
		n, err := d.length(val, 1)
		if err != nil {
			return nil, false, err
		}
		p = d.data[d.pos : d.pos+n : d.pos+n]
		d.pos += n
		return p, true, nil
	}
	var buf []byte
	for !d.isBreak() {
		cm, _, cval, err := d.head()
		if err != nil {
			return nil, false, err
		}
		if cm != m || cval == indefinite {
			return nil, false, d.fail("invalid chunk in indefinite-length string")
		}
		n, err := d.length(cval, 1)
		if err != nil {
			return nil, false, err
		}
		buf = append(buf, d.data[d.pos:d.pos+n]...)
		d.pos += n
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf, false, nil
}

func (d *cborDecoder) text() (string, error) {
	start := d.pos
	_, _, val, err := d.head()
	if err != nil {
		return "", err
	}
	p, shared, err := d.chunks(3, val)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		d.pos = start
		return "", d.fail("invalid UTF-8 in string")
	}
	if shared && d.whole != "" {
		off := d.pos - len(p)
		return d.whole[off:d.pos], nil
	}
	return string(p), nil
}

func (d *cborDecoder) value() (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.fail("unexpected end of input")
	}
	if d.data[d.pos]>>5 == 3 {
		return d.text()
	}
	start := d.pos
	major, ai, val, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		if val <= math.MaxInt64 {
			return int64(val), nil
		}
		return val, nil
	case 1:
		if val == indefinite && ai == 31 {
			break
		}
		if val > math.MaxInt64 {
			d.pos = start
			return nil, d.fail("integer out of range")
		}
		return -1 - int64(val), nil
	case 2:
		p, shared, err := d.chunks(2, val)
		if err != nil {
			return nil, err
		}
		if shared {
			return bytes.Clone(p), nil
		}
		return p, nil
	case 4:
		return d.array(val)
	case 5:
		return d.object(val)
	case 6:
		return d.tagged(start, val)
	case 7:
		switch ai {
		case 20:
			return false, nil
		case 21:
			return true, nil
		case 22, 23:
			return nil, nil
		case 25:
			return halfFloat(uint16(val)), nil
		case 26:
			return float64(math.Float32frombits(uint32(val))), nil
		case 27:
			return math.Float64frombits(val), nil
		}
	}
	d.pos = start
	return nil, d.fail("unsupported data item")
}

// tagged decodes the content of tag number tag, whose head started at
// start. Tags never change how a value is typed elsewhere in this package:
//
//   - 64 (RFC 8746 uint8 typed array, what autobahn-js and the node cbor
//     library send for every Uint8Array) gives the byte string as binary.
//   - 2 and 3 (bignums) give the integer when it fits in 64 bits (int64,
//     or uint64 above math.MaxInt64), and are refused otherwise.
//   - Tags whose content already is the value in another spelling give
//     their content: 0 (date/time text), 1 (epoch seconds), 32 (URI),
//     35 (regular expression), 258 (set, as a list) and 55799 (the
//     self-described CBOR marker).
//   - Every other tag is refused with an error naming it: their content
//     would be misread without the tag (other typed arrays, decimal
//     fractions, big floats) or their meaning is unknown.
func (d *cborDecoder) tagged(start int, tag uint64) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	next := byte(0xff)
	if d.pos < len(d.data) {
		next = d.data[d.pos] >> 5
	}
	refuse := func(reason string) (any, error) {
		d.pos = start
		return nil, d.fail("tag " + strconv.FormatUint(tag, 10) + " " + reason)
	}
	switch tag {
	case 64:
		if next != 2 {
			return refuse("(uint8 typed array) needs a byte string")
		}
		return d.value()
	case 2, 3:
		if next != 2 {
			return refuse("(bignum) needs a byte string")
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		b := v.([]byte)
		for len(b) > 0 && b[0] == 0 {
			b = b[1:]
		}
		if len(b) > 8 {
			return refuse("(bignum) does not fit in 64 bits")
		}
		var n uint64
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		switch {
		case tag == 2 && n <= math.MaxInt64:
			return int64(n), nil
		case tag == 2:
			return n, nil
		case n <= math.MaxInt64:
			return -1 - int64(n), nil
		}
		return refuse("(negative bignum) does not fit in 64 bits")
	case 0, 32, 35:
		if next != 3 {
			return refuse("needs a text string")
		}
		return d.text()
	case 1:
		if next != 0 && next != 1 && next != 7 {
			return refuse("(epoch date/time) needs a number")
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		switch v.(type) {
		case int64, uint64, float64:
			return v, nil
		}
		return refuse("(epoch date/time) needs a number")
	case 258:
		if next != 4 {
			return refuse("(set) needs an array")
		}
		return d.value()
	case 55799:
		return d.value()
	}
	return refuse("is not supported (accepted: 0, 1, 2, 3, 32, 35, 64, 258, 55799)")
}

// halfFloat converts an IEEE 754 half-precision value.
func halfFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

func (d *cborDecoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nesting deeper than " + strconv.Itoa(maxDepth))
	}
	return nil
}

func (d *cborDecoder) array(val uint64) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	if val != indefinite {
		n, err := d.length(val, 1)
		if err != nil {
			return nil, err
		}
		l := make(List, n)
		for i := range l {
			if l[i], err = d.value(); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
	start := len(d.items)
	for !d.isBreak() {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.items = append(d.items, v)
	}
	l := make(List, len(d.items)-start)
	copy(l, d.items[start:])
	clear(d.items[start:])
	d.items = d.items[:start]
	return l, nil
}

func (d *cborDecoder) object(val uint64) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	hint := 0
	if val != indefinite {
		n, err := d.length(val, 2)
		if err != nil {
			return nil, err
		}
		hint = min(n, 1024)
	}
	m := make(Dict, hint)
	for i := uint64(0); ; i++ {
		if val == indefinite {
			if d.isBreak() {
				break
			}
		} else if i == val {
			break
		}
		if d.pos >= len(d.data) || d.data[d.pos]>>5 != 3 {
			return nil, d.fail("dict key is not a string")
		}
		k, err := d.text()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, d.fail("duplicate dict key " + quote(k))
		}
		if m[k], err = d.value(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// cborEncoder appends CBOR (RFC 8949, definite lengths, smallest integer
// heads, 64-bit floats) to b.
type cborEncoder struct{ encBuf }

var cborEncPool = sync.Pool{New: func() any { return &cborEncoder{encBuf{b: make([]byte, 0, 1024)}} }}

const (
	cborUint   = 0 << 5
	cborNegInt = 1 << 5
	cborBytes  = 2 << 5
	cborText   = 3 << 5
	cborArray  = 4 << 5
	cborMap    = 5 << 5
)

// head starts an array whose count end fills in: messages have at most 7
// elements, so the header is always the first byte.
func (e *cborEncoder) head(c Code) {
	e.start = len(e.b)
	e.b = append(e.b, cborArray)
	e.major(cborUint, uint64(c))
}

func (e *cborEncoder) end(n int) { e.b[e.start] = cborArray | byte(n) }

func (e *cborEncoder) reserve(n int) { e.grow(n + 1024) }

func (e *cborEncoder) id(v uint64)        { e.major(cborUint, v) }
func (e *cborEncoder) str(s string) error { return e.text(s) }
func (e *cborEncoder) dict(d Dict, keys *keyTypes, c Code, field string) (passthruSeen, error) {
	dk := dictKeys{keys: keys, code: c, field: field}
	err := e.object(d, 2, &dk)
	return dk.seen, err
}

func (e *cborEncoder) list(l List) error { return e.array(l, 2) }

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

func (e *cborEncoder) object(d Dict, depth int, dk *dictKeys) error {
	if depth > maxDepth {
		return tooDeep("cbor")
	}
	e.major(cborMap, uint64(len(d)))
	for k, v := range d {
		if err := dk.check(k, v); err != nil {
			return err
		}
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
		return e.object(v, depth+1, nil)
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

func (e *cborEncoder) elem(v any) error { return e.value(v, 2) }
