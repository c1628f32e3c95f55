package protocol

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

func (msgpackSerializer) Marshal(m Message) ([]byte, error) {
	return marshalPooled(&msgpackEncPool, m, "")
}

func (msgpackSerializer) Unmarshal(data []byte) (Message, error) {
	d := mpDecoderPool.Get().(*mpDecoder)
	defer d.release()
	return unmarshalWith(d, data)
}

func (d *mpDecoder) elems(n int) []elem { return d.top[:n] }

// MessagePack format codes.
const (
	mpNil     = 0xc0
	mpFalse   = 0xc2
	mpTrue    = 0xc3
	mpBin8    = 0xc4
	mpBin16   = 0xc5
	mpBin32   = 0xc6
	mpFloat32 = 0xca
	mpFloat64 = 0xcb
	mpUint8   = 0xcc
	mpUint16  = 0xcd
	mpUint32  = 0xce
	mpUint64  = 0xcf
	mpInt8    = 0xd0
	mpInt16   = 0xd1
	mpInt32   = 0xd2
	mpInt64   = 0xd3
	mpStr8    = 0xd9
	mpStr16   = 0xda
	mpStr32   = 0xdb
	mpArray16 = 0xdc
	mpArray32 = 0xdd
	mpMap16   = 0xde
	mpMap32   = 0xdf
)

// msgpackEncoder appends MessagePack (spec v5: str and bin distinct) to b,
// with the smallest integer width for each value.
type msgpackEncoder struct{ encBuf }

var msgpackEncPool = sync.Pool{New: func() any { return &msgpackEncoder{encBuf{b: make([]byte, 0, 1024)}} }}

// head starts a fixarray whose count end fills in: messages have at most
// 7 elements, so the header is always the first byte.
func (e *msgpackEncoder) head(c Code) {
	e.start = len(e.b)
	e.b = append(e.b, 0x90)
	e.uint(uint64(c))
}

func (e *msgpackEncoder) end(n int) { e.b[e.start] = 0x90 | byte(n) }

func (e *msgpackEncoder) reserve(n int) { e.grow(n + 1024) }

func (e *msgpackEncoder) id(v uint64)        { e.uint(v) }
func (e *msgpackEncoder) str(s string) error { return e.text(s) }
func (e *msgpackEncoder) dict(d Dict, keys *keyTypes, c Code, field string) (passthruSeen, error) {
	dk := dictKeys{keys: keys, code: c, field: field}
	err := e.object(d, 2, &dk)
	return dk.seen, err
}

func (e *msgpackEncoder) list(l List) error { return e.array(l, 2) }
func (e *msgpackEncoder) lenHead(n int, fix, c16, c32 byte, fixMax int) error {
	switch {
	case n <= fixMax:
		e.b = append(e.b, fix|byte(n))
	case n <= math.MaxUint16:
		e.b = append(e.b, c16)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(n))
	case uint64(n) <= math.MaxUint32:
		e.b = append(e.b, c32)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(n))
	default:
		return &EncodeError{Format: "msgpack", Reason: "value longer than 2^32-1"}
	}
	return nil
}

func (e *msgpackEncoder) uint(v uint64) {
	switch {
	case v <= 0x7f:
		e.b = append(e.b, byte(v))
	case v <= math.MaxUint8:
		e.b = append(e.b, mpUint8, byte(v))
	case v <= math.MaxUint16:
		e.b = append(e.b, mpUint16)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(v))
	case v <= math.MaxUint32:
		e.b = append(e.b, mpUint32)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(v))
	default:
		e.b = append(e.b, mpUint64)
		e.b = binary.BigEndian.AppendUint64(e.b, v)
	}
}

func (e *msgpackEncoder) int(v int64) {
	switch {
	case v >= 0:
		e.uint(uint64(v))
	case v >= -32:
		e.b = append(e.b, byte(v))
	case v >= math.MinInt8:
		e.b = append(e.b, mpInt8, byte(v))
	case v >= math.MinInt16:
		e.b = append(e.b, mpInt16)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(v))
	case v >= math.MinInt32:
		e.b = append(e.b, mpInt32)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(v))
	default:
		e.b = append(e.b, mpInt64)
		e.b = binary.BigEndian.AppendUint64(e.b, uint64(v))
	}
}

func (e *msgpackEncoder) float(f float64) {
	e.b = append(e.b, mpFloat64)
	e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(f))
}

func (e *msgpackEncoder) text(s string) error {
	if !utf8.ValidString(s) {
		return &EncodeError{Format: "msgpack", Reason: "invalid UTF-8 in string"}
	}
	if err := e.lenHead(len(s), 0xa0, mpStr16, mpStr32, 31); err != nil {
		return err
	}
	if len(s) > 31 && len(s) <= math.MaxUint8 {
		// str8 exists for this range; rewrite the str16 header.
		e.b = e.b[:len(e.b)-3]
		e.b = append(e.b, mpStr8, byte(len(s)))
	}
	e.b = append(e.b, s...)
	return nil
}

func (e *msgpackEncoder) bytes(p []byte) error {
	switch {
	case len(p) <= math.MaxUint8:
		e.b = append(e.b, mpBin8, byte(len(p)))
	case len(p) <= math.MaxUint16:
		e.b = append(e.b, mpBin16)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(p)))
	case uint64(len(p)) <= math.MaxUint32:
		e.b = append(e.b, mpBin32)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(p)))
	default:
		return &EncodeError{Format: "msgpack", Reason: "binary longer than 2^32-1"}
	}
	e.b = append(e.b, p...)
	return nil
}

func (e *msgpackEncoder) array(l List, depth int) error {
	if depth > maxDepth {
		return tooDeep("msgpack")
	}
	if err := e.lenHead(len(l), 0x90, mpArray16, mpArray32, 15); err != nil {
		return err
	}
	for _, v := range l {
		if err := e.value(v, depth); err != nil {
			return err
		}
	}
	return nil
}

func (e *msgpackEncoder) object(d Dict, depth int, dk *dictKeys) error {
	if depth > maxDepth {
		return tooDeep("msgpack")
	}
	if err := e.lenHead(len(d), 0x80, mpMap16, mpMap32, 15); err != nil {
		return err
	}
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

func (e *msgpackEncoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, mpNil)
	case bool:
		if v {
			e.b = append(e.b, mpTrue)
		} else {
			e.b = append(e.b, mpFalse)
		}
	case string:
		return e.text(v)
	case int64:
		e.int(v)
	case int:
		e.int(int64(v))
	case uint64:
		e.uint(v)
	case float64:
		e.float(v)
	case []byte:
		return e.bytes(v)
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
		e.uint(uint64(v))
	case uint32:
		e.uint(uint64(v))
	case uint16:
		e.uint(uint64(v))
	case uint8:
		e.uint(uint64(v))
	case float32:
		e.float(float64(v))
	default:
		if depth >= maxDepth {
			return tooDeep("msgpack")
		}
		g, err := toGeneric("msgpack", v)
		if err != nil {
			return err
		}
		return e.value(g, depth+1)
	}
	return nil
}

// mpDecoder walks a MessagePack document with the msgpack library's
// primitives, reading lengths itself so that a declared length can never
// exceed the input that is left (no allocation from a hostile header).
type mpDecoder struct {
	r     bytes.Reader
	dec   *msgpack.Decoder
	data  []byte
	whole string // a copy of a small input; strings are cut from it
	depth int
	top   [maxElems]elem
}

var mpDecoderPool = sync.Pool{New: func() any {
	d := new(mpDecoder)
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

func (d *mpDecoder) release() {
	d.data, d.whole = nil, ""
	d.top = [maxElems]elem{}
	d.r.Reset(nil)
	mpDecoderPool.Put(d)
}

func (d *mpDecoder) offset() int { return len(d.data) - d.r.Len() }

// peek returns the next format code without going through the library:
// the one-byte forms (fixint, fixstr, fixarray, fixmap) are read here
// directly, everything else with the msgpack decoder's primitives. Both
// read the same bytes.Reader, which the decoder uses unbuffered.
func (d *mpDecoder) peek() (byte, error) {
	off := d.offset()
	if off >= len(d.data) {
		return 0, d.fail("unexpected end of input")
	}
	return d.data[off], nil
}

// skip advances past n bytes that peek has shown to be present.
func (d *mpDecoder) skip(n int) {
	_, _ = d.r.Seek(int64(n), io.SeekCurrent)
}

func (d *mpDecoder) fail(reason string) error {
	return &DecodeError{Format: "msgpack", Offset: d.offset(), Reason: reason}
}

func (d *mpDecoder) wrap(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return d.fail("unexpected end of input")
	}
	return d.fail(err.Error())
}

func (d *mpDecoder) reset(data []byte) {
	d.data = data
	d.depth = 0
	d.whole = ""
	if len(data) <= maxShared {
		d.whole = string(data)
	}
	d.r.Reset(data)
	d.dec.Reset(&d.r)
}

// message decodes a top-level array of at most maxElems elements into
// d.top, without boxing integers and strings. ok is false when the input
// is something else.
func (d *mpDecoder) message() (n int, ok bool, err error) {
	c, err := d.peek()
	if err != nil {
		return 0, false, err
	}
	if c < 0x91 || c > 0x90+maxElems {
		return 0, false, nil
	}
	d.skip(1)
	n = int(c & 0x0f)
	d.depth = 1
	for i := range n {
		e := &d.top[i]
		c, err := d.peek()
		if err != nil {
			return 0, false, err
		}
		switch {
		case c <= 0x7f:
			d.skip(1)
			*e = elem{kind: fUint, n: uint64(c)}
		case c >= mpUint8 && c <= mpUint64:
			u, err := d.dec.DecodeUint64()
			if err != nil {
				return 0, false, d.wrap(err)
			}
			*e = elem{kind: fUint, n: u}
		case c >= 0xa0 && c <= 0xbf || c == mpStr8 || c == mpStr16 || c == mpStr32:
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
	if d.r.Len() != 0 {
		return 0, false, d.fail("unexpected data after the value")
	}
	return n, true, nil
}

func (d *mpDecoder) document() (any, error) {
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.r.Len() != 0 {
		return nil, d.fail("unexpected data after the value")
	}
	return v, nil
}

func (d *mpDecoder) value() (any, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		d.skip(1)
		return int64(c), nil
	case c >= 0xe0:
		d.skip(1)
		return int64(int8(c)), nil
	case c >= mpUint8 && c <= mpUint32 || c >= mpInt8 && c <= mpInt64:
		n, err := d.dec.DecodeInt64()
		if err != nil {
			return nil, d.wrap(err)
		}
		return n, nil
	case c == mpUint64:
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return nil, d.wrap(err)
		}
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case c == mpFloat32 || c == mpFloat64:
		f, err := d.dec.DecodeFloat64()
		if err != nil {
			return nil, d.wrap(err)
		}
		return f, nil
	case c == mpNil:
		if err := d.dec.DecodeNil(); err != nil {
			return nil, d.wrap(err)
		}
		return nil, nil
	case c == mpFalse || c == mpTrue:
		b, err := d.dec.DecodeBool()
		if err != nil {
			return nil, d.wrap(err)
		}
		return b, nil
	case c >= 0xa0 && c <= 0xbf || c == mpStr8 || c == mpStr16 || c == mpStr32:
		return d.text()
	case c == mpBin8 || c == mpBin16 || c == mpBin32:
		p, err := d.raw()
		if err != nil {
			return nil, err
		}
		return bytes.Clone(p), nil
	case c >= 0x90 && c <= 0x9f || c == mpArray16 || c == mpArray32:
		return d.array()
	case c >= 0x80 && c <= 0x8f || c == mpMap16 || c == mpMap32:
		return d.object()
	case c >= 0xd4 && c <= 0xd8 || c >= 0xc7 && c <= 0xc9:
		return nil, d.fail("extension types are not supported")
	}
	return nil, d.fail("invalid format code 0x" + strconv.FormatUint(uint64(c), 16))
}

// raw reads a str or bin value and returns the bytes in the input buffer.
func (d *mpDecoder) raw() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, d.wrap(err)
	}
	if n < 0 || n > d.r.Len() {
		return nil, d.fail("declared length " + strconv.Itoa(n) + " exceeds the input")
	}
	off := d.offset()
	if _, err := d.r.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, d.wrap(err)
	}
	return d.data[off : off+n : off+n], nil
}

func (d *mpDecoder) text() (string, error) {
	var p []byte
	if c, err := d.peek(); err != nil {
		return "", err
	} else if c >= 0xa0 && c <= 0xbf {
		off, n := d.offset()+1, int(c&0x1f)
		if n > len(d.data)-off {
			return "", d.fail("declared length " + strconv.Itoa(n) + " exceeds the input")
		}
		d.skip(1 + n)
		p = d.data[off : off+n]
	} else if p, err = d.raw(); err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", d.fail("invalid UTF-8 in string")
	}
	if d.whole != "" {
		off := d.offset() - len(p)
		return d.whole[off : off+len(p)], nil
	}
	return string(p), nil
}

func (d *mpDecoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nesting deeper than " + strconv.Itoa(maxDepth))
	}
	return nil
}

func (d *mpDecoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	var n int
	if c, err := d.peek(); err != nil {
		return nil, err
	} else if c >= 0x90 && c <= 0x9f {
		d.skip(1)
		n = int(c & 0x0f)
	} else if n, err = d.dec.DecodeArrayLen(); err != nil {
		return nil, d.wrap(err)
	}
	if n < 0 || n > d.r.Len() { // every element takes at least one byte
		return nil, d.fail("declared list length " + strconv.Itoa(n) + " exceeds the input")
	}
	l := make(List, n)
	for i := range l {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		l[i] = v
	}
	d.depth--
	return l, nil
}

func (d *mpDecoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	var n int
	if c, err := d.peek(); err != nil {
		return nil, err
	} else if c >= 0x80 && c <= 0x8f {
		d.skip(1)
		n = int(c & 0x0f)
	} else if n, err = d.dec.DecodeMapLen(); err != nil {
		return nil, d.wrap(err)
	}
	if n < 0 || n > d.r.Len()/2 { // every pair takes at least two bytes
		return nil, d.fail("declared dict length " + strconv.Itoa(n) + " exceeds the input")
	}
	m := make(Dict, min(n, 1024))
	for range n {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if !(c >= 0xa0 && c <= 0xbf || c == mpStr8 || c == mpStr16 || c == mpStr32) {
			return nil, d.fail("dict key is not a string")
		}
		k, err := d.text()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(); err != nil {
			return nil, err
		}
	}
	d.depth--
	return m, nil
}

func (e *msgpackEncoder) elem(v any) error { return e.value(v, 2) }
