package protocol

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

func (jsonSerializer) Marshal(m Message) ([]byte, error) {
	// Binary grows by 4/3 as base64.
	return marshalPooled(&jsonEncPool, m, "]")
}

func (jsonSerializer) Unmarshal(data []byte) (Message, error) {
	d := jsonDecoderPool.Get().(*jsonDecoder)
	defer putJSONDecoder(d)
	return unmarshalWith(d, data)
}

func (d *jsonDecoder) elems(n int) []elem { return d.top[:n] }

// jsonEncoder appends JSON to b. It escapes only what JSON requires (no
// HTML escaping), writes []byte as "\u0000"+base64 and keeps floats
// distinguishable from integers ("2.0", never "2").
type jsonEncoder struct{ encBuf }

var jsonEncPool = sync.Pool{New: func() any { return &jsonEncoder{encBuf{b: make([]byte, 0, 1024)}} }}

func (e *jsonEncoder) head(c Code) {
	e.b = append(e.b, '[')
	e.b = strconv.AppendInt(e.b, int64(c), 10)
}

func (e *jsonEncoder) end(int) {} // JSON needs no count

// reserve makes room for n payload bytes, which base64 expands by 4/3.
func (e *jsonEncoder) reserve(n int) { e.grow(n*4/3 + 1024) }

func (e *jsonEncoder) id(v uint64) {
	e.b = append(e.b, ',')
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *jsonEncoder) str(s string) error {
	e.b = append(e.b, ',')
	return e.text(s)
}

func (e *jsonEncoder) dict(d Dict, keys *keyTypes, c Code, field string) (passthruSeen, error) {
	e.b = append(e.b, ',')
	dk := dictKeys{keys: keys, code: c, field: field}
	err := e.object(d, 2, &dk)
	return dk.seen, err
}

func (e *jsonEncoder) list(l List) error {
	e.b = append(e.b, ',')
	return e.array(l, 2)
}

func (e *jsonEncoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		if v {
			e.b = append(e.b, "true"...)
		} else {
			e.b = append(e.b, "false"...)
		}
	case string:
		return e.text(v)
	case int64:
		e.b = strconv.AppendInt(e.b, v, 10)
	case int:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case uint64:
		e.b = strconv.AppendUint(e.b, v, 10)
	case float64:
		return e.float(v)
	case []byte:
		e.b = append(e.b, `"\u0000`...)
		e.b = appendBase64(e.b, v)
		e.b = append(e.b, '"')
	case List:
		return e.array(v, depth+1)
	case Dict:
		return e.object(v, depth+1, nil)
	case int32:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case int16:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case int8:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case uint:
		e.b = strconv.AppendUint(e.b, uint64(v), 10)
	case uint32:
		e.b = strconv.AppendUint(e.b, uint64(v), 10)
	case uint16:
		e.b = strconv.AppendUint(e.b, uint64(v), 10)
	case uint8:
		e.b = strconv.AppendUint(e.b, uint64(v), 10)
	case float32:
		return e.float(float64(v))
	case []string:
		e.b = append(e.b, '[')
		for i, s := range v {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.text(s); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	case map[string]string:
		e.b = append(e.b, '{')
		first := true
		for k, s := range v {
			if !first {
				e.b = append(e.b, ',')
			}
			first = false
			if err := e.key(k); err != nil {
				return err
			}
			if err := e.text(s); err != nil {
				return err
			}
		}
		e.b = append(e.b, '}')
	default:
		if depth >= maxDepth {
			return tooDeep("json")
		}
		g, err := toGeneric("json", v)
		if err != nil {
			return err
		}
		return e.value(g, depth+1)
	}
	return nil
}

func (e *jsonEncoder) array(l List, depth int) error {
	if depth > maxDepth {
		return tooDeep("json")
	}
	e.b = append(e.b, '[')
	for i, v := range l {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		if err := e.value(v, depth); err != nil {
			return err
		}
	}
	e.b = append(e.b, ']')
	return nil
}

func (e *jsonEncoder) object(d Dict, depth int, dk *dictKeys) error {
	if depth > maxDepth {
		return tooDeep("json")
	}
	e.b = append(e.b, '{')
	first := true
	for k, v := range d {
		if !first {
			e.b = append(e.b, ',')
		}
		first = false
		if err := dk.check(k, v); err != nil {
			return err
		}
		if err := e.key(k); err != nil {
			return err
		}
		if err := e.value(v, depth); err != nil {
			return err
		}
	}
	e.b = append(e.b, '}')
	return nil
}

func (e *jsonEncoder) key(k string) error {
	if err := e.quoted(k); err != nil {
		return err
	}
	e.b = append(e.b, ':')
	return nil
}

func (e *jsonEncoder) float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &EncodeError{Format: "json", Reason: "NaN or infinite float"}
	}
	if b, ok := appendShortFloat(e.b, f); ok {
		e.b = b
		return nil
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(e.b)
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'f' {
		for _, c := range e.b[start:] {
			if c == '.' {
				return nil
			}
		}
		e.b = append(e.b, '.', '0')
	}
	return nil
}

// appendShortFloat formats f as an integer m over 10^k (k <= 6, |m| < 2^53)
// when that is exact, trailing zeros trimmed (the test checks the result
// against strconv's shortest form). Both
// m and 10^k are exact float64 values, so a parser's correctly rounded m/10^k
// is f itself.
func appendShortFloat(b []byte, f float64) ([]byte, bool) {
	if f == 0 || math.Abs(f) >= 1e15 {
		return b, false
	}
	for k := 0; k <= 6; k++ {
		s := f * pow10[k]
		if s != math.Trunc(s) || s/pow10[k] != f {
			continue
		}
		m := int64(s)
		if m < 0 {
			b = append(b, '-')
			m = -m
		}
		var tmp [20]byte
		digits := strconv.AppendInt(tmp[:0], m, 10)
		for k > 0 && len(digits) > 1 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
			k-- // f*10^k was inexact at this k, but the decimal is the same
		}
		switch {
		case k == 0:
			b = append(b, digits...)
			b = append(b, '.', '0')
		case len(digits) <= k:
			b = append(b, '0', '.')
			for range k - len(digits) {
				b = append(b, '0')
			}
			b = append(b, digits...)
		default:
			b = append(b, digits[:len(digits)-k]...)
			b = append(b, '.')
			b = append(b, digits[len(digits)-k:]...)
		}
		return b, true
	}
	return b, false
}

// text writes a string value; one starting with NUL would be read back as
// binary, so it is refused.
func (e *jsonEncoder) text(s string) error {
	if len(s) > 0 && s[0] == 0 {
		return &EncodeError{Format: "json", Reason: "a string starting with NUL cannot be sent as JSON text (use []byte)"}
	}
	return e.quoted(s)
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks ASCII bytes that need no escaping inside a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

func (e *jsonEncoder) quoted(s string) error {
	b := append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			e.b = b
			return &EncodeError{Format: "json", Reason: "invalid UTF-8 in string"}
		}
		i += size
	}
	b = append(b, s[start:]...)
	e.b = append(b, '"')
	return nil
}

// jsonDecoder is a scanner over one JSON document producing the normalized
// value types. Container elements are gathered on shared scratch stacks and
// copied out at their exact size.
type jsonDecoder struct {
	data  []byte
	whole string // a copy of a small input; strings are cut from it
	pos   int
	depth int
	items []any
	pairs []pair
	buf   []byte // for strings with escapes
	top   [maxElems]elem
}

// maxShared is the largest input copied whole so that its strings share
// one allocation; larger inputs allocate each string separately (so a
// small string never pins a big message).
const maxShared = 4 << 10

type pair struct {
	k string
	v any
}

var jsonDecoderPool = sync.Pool{New: func() any { return new(jsonDecoder) }}

func getJSONDecoder(data []byte) *jsonDecoder {
	d := jsonDecoderPool.Get().(*jsonDecoder)
	d.reset(data)
	return d
}

func (d *jsonDecoder) reset(data []byte) {
	d.data, d.pos, d.depth = data, 0, 0
	d.whole = ""
	if len(data) <= maxShared {
		d.whole = string(data)
	}
}

// sub returns data[i:j] as a string, cut from the shared copy if any.
func (d *jsonDecoder) sub(i, j int) string {
	if d.whole != "" {
		return d.whole[i:j]
	}
	return string(d.data[i:j])
}

func putJSONDecoder(d *jsonDecoder) {
	d.data, d.whole = nil, ""
	d.top = [maxElems]elem{}
	// Containers clear what they pop; after an error some may be left.
	clear(d.items)
	clear(d.pairs)
	d.items, d.pairs = d.items[:0], d.pairs[:0]
	if cap(d.buf) > maxPooledBuf {
		d.buf = nil
	}
	if cap(d.items) > 4096 || cap(d.pairs) > 4096 {
		return
	}
	jsonDecoderPool.Put(d)
}

func (d *jsonDecoder) fail(reason string) error {
	return &DecodeError{Format: "json", Offset: d.pos, Reason: reason}
}

// document decodes exactly one value with optional surrounding whitespace.
func (d *jsonDecoder) document() (any, error) {
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.fail("unexpected data after the value")
	}
	return v, nil
}

// message decodes a top-level list of at most maxElems elements into
// d.top. ok is false when the input is something else.
func (d *jsonDecoder) message() (n int, ok bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '[' {
		return 0, false, nil
	}
	d.pos++
	d.depth = 1
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		return 0, false, nil
	}
	for {
		if n == maxElems {
			return 0, false, nil
		}
		if err := d.elem(&d.top[n]); err != nil {
			return 0, false, err
		}
		n++
		d.skipSpace()
		if d.pos >= len(d.data) {
			return 0, false, d.fail("unexpected end of input in list")
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			d.pos--
			return 0, false, d.fail("expected ',' or ']' in list")
		}
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return 0, false, d.fail("unexpected data after the value")
	}
	return n, true, nil
}

// elem decodes one top-level element without boxing integers and strings.
func (d *jsonDecoder) elem(e *elem) error {
	d.skipSpace()
	if d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c >= '0' && c <= '9':
			k, i, u, f, err := d.numberRaw()
			if err != nil {
				return err
			}
			switch k {
			case numInt:
				if i >= 0 {
					*e = elem{kind: fUint, n: uint64(i)}
				} else {
					*e = elem{v: i}
				}
			case numUint:
				*e = elem{kind: fUint, n: u}
			default:
				*e = elem{v: f}
			}
			return nil
		case c == '"':
			s, b, err := d.stringRaw()
			if err != nil {
				return err
			}
			if b != nil {
				*e = elem{v: b}
			} else {
				*e = elem{kind: fString, s: s}
			}
			return nil
		case c == '[':
			l, err := d.list()
			*e = elem{kind: fList, l: l}
			return err
		}
	}
	v, err := d.value()
	*e = elem{v: v}
	return err
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.fail("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		s, b, err := d.stringRaw()
		if b != nil {
			return b, err
		}
		return s, err
	case c == '[':
		return d.array()
	case c == '{':
		return d.object()
	case c == '-' || c >= '0' && c <= '9':
		k, i, u, f, err := d.numberRaw()
		if err != nil {
			return nil, err
		}
		switch k {
		case numInt:
			return i, nil
		case numUint:
			return u, nil
		}
		return f, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, d.fail("invalid character " + strconv.QuoteRune(rune(d.data[d.pos])))
}

func (d *jsonDecoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.fail("invalid literal")
	}
	d.pos += len(word)
	return nil
}

func (d *jsonDecoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nesting deeper than " + strconv.Itoa(maxDepth))
	}
	return nil
}

func (d *jsonDecoder) array() (any, error) {
	l, err := d.list()
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (d *jsonDecoder) list() (List, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '['
	start := len(d.items)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return List{}, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.items = append(d.items, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.fail("unexpected end of input in list")
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			d.pos--
			return nil, d.fail("expected ',' or ']' in list")
		}
	}
	l := make(List, len(d.items)-start)
	copy(l, d.items[start:])
	clear(d.items[start:])
	d.items = d.items[:start]
	d.depth--
	return l, nil
}

func (d *jsonDecoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '{'
	start := len(d.pairs)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return Dict{}, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.fail("expected a string key in dict")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.fail("expected ':' after dict key")
		}
		d.pos++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.pairs = append(d.pairs, pair{k, v})
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.fail("unexpected end of input in dict")
		}
		c := d.data[d.pos]
		d.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			d.pos--
			return nil, d.fail("expected ',' or '}' in dict")
		}
	}
	m := make(Dict, len(d.pairs)-start)
	for _, p := range d.pairs[start:] {
		m[p.k] = p.v
	}
	clear(d.pairs[start:])
	d.pairs = d.pairs[:start]
	d.depth--
	return m, nil
}

const (
	numInt = iota
	numUint
	numFloat
)

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// numberRaw scans a number: an int64, a uint64 above math.MaxInt64, or a
// float64 when it has a fraction or an exponent.
func (d *jsonDecoder) numberRaw() (kind int, i int64, u uint64, f float64, err error) {
	start := d.pos
	data := d.data
	neg := data[d.pos] == '-'
	if neg {
		d.pos++
	}
	digits := d.pos
	if d.pos >= len(data) {
		return 0, 0, 0, 0, d.fail("unexpected end of input in number")
	}
	switch c := data[d.pos]; {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for d.pos < len(data) && data[d.pos] >= '0' && data[d.pos] <= '9' {
			d.pos++
		}
	default:
		return 0, 0, 0, 0, d.fail("invalid number")
	}
	end := d.pos
	isFloat := false
	if d.pos < len(data) && data[d.pos] == '.' {
		isFloat = true
		d.pos++
		if !d.digits() {
			return 0, 0, 0, 0, d.fail("invalid number")
		}
	}
	if d.pos < len(data) && (data[d.pos] == 'e' || data[d.pos] == 'E') {
		isFloat = true
		d.pos++
		if d.pos < len(data) && (data[d.pos] == '+' || data[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			return 0, 0, 0, 0, d.fail("invalid number")
		}
	}
	if isFloat {
		if f, ok := fastFloat(data[start:d.pos]); ok {
			return numFloat, 0, 0, f, nil
		}
		f, err := strconv.ParseFloat(d.sub(start, d.pos), 64)
		if err != nil {
			d.pos = start
			return 0, 0, 0, 0, d.fail("number out of range")
		}
		return numFloat, 0, 0, f, nil
	}
	for _, c := range data[digits:end] {
		x := uint64(c - '0')
		if u > (math.MaxUint64-x)/10 {
			d.pos = start
			return 0, 0, 0, 0, d.fail("integer out of range")
		}
		u = u*10 + x
	}
	if neg {
		if u > 1<<63 {
			d.pos = start
			return 0, 0, 0, 0, d.fail("integer out of range")
		}
		return numInt, -int64(u), 0, 0, nil
	}
	if u > math.MaxInt64 {
		return numUint, 0, u, 0, nil
	}
	return numInt, int64(u), 0, 0, nil
}

// fastFloat converts a syntactically valid JSON number exactly when its
// digits fit in 15 and its decimal exponent is small (both the mantissa and
// the power of ten are then exact float64 values, so one multiplication or
// division rounds correctly).
func fastFloat(b []byte) (float64, bool) {
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	var mant uint64
	digits, exp := 0, 0
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if mant != 0 || b[i] != '0' {
			digits++
		}
		mant = mant*10 + uint64(b[i]-'0')
		if digits > 15 {
			return 0, false
		}
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if mant != 0 || b[i] != '0' {
				digits++
			}
			mant = mant*10 + uint64(b[i]-'0')
			exp--
			if digits > 15 {
				return 0, false
			}
		}
	}
	if i < len(b) {
		i++ // 'e' or 'E'
		eneg := false
		if b[i] == '+' || b[i] == '-' {
			eneg = b[i] == '-'
			i++
		}
		e := 0
		for ; i < len(b); i++ {
			e = e*10 + int(b[i]-'0')
			if e > 400 {
				return 0, false
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	f := float64(mant)
	switch {
	case exp == 0:
	case exp > 0 && exp < len(pow10):
		f *= pow10[exp]
		if f >= 1<<53*1e7 { // keep well inside the exact range
			return 0, false
		}
	case exp < 0 && -exp < len(pow10):
		f /= pow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

func (d *jsonDecoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

// nulPrefix is how a binary value starts on the wire.
const nulPrefix = `"\u0000`

// stringRaw decodes a string value; one starting with NUL is binary and
// comes back as b (non-nil).
func (d *jsonDecoder) stringRaw() (s string, b []byte, err error) {
	if len(d.data)-d.pos >= len(nulPrefix) && string(d.data[d.pos:d.pos+len(nulPrefix)]) == nulPrefix {
		// Fast path: base64 text needs no escapes.
		i := d.pos + len(nulPrefix)
		j := i
		for j < len(d.data) && d.data[j] != '"' && d.data[j] != '\\' {
			j++
		}
		if j < len(d.data) && d.data[j] == '"' {
			b, err := decodeBase64(d.data[i:j])
			if err != nil {
				return "", nil, d.fail("invalid base64 in binary string")
			}
			d.pos = j + 1
			return "", b, nil
		}
	}
	start := d.pos
	s, err = d.str()
	if err != nil {
		return "", nil, err
	}
	if len(s) > 0 && s[0] == 0 {
		b, err := decodeBase64([]byte(s[1:]))
		if err != nil {
			d.pos = start
			return "", nil, d.fail("invalid base64 in binary string")
		}
		return "", b, nil
	}
	return s, nil, nil
}

func decodeBase64(src []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	dst := make([]byte, enc.DecodedLen(len(src)))
	n, err := enc.Decode(dst, src)
	return dst[:n], err
}

// str decodes the string starting at the opening quote at d.pos.
func (d *jsonDecoder) str() (string, error) {
	data := d.data
	start := d.pos + 1
	i := start
	ascii := true
	for i < len(data) {
		c := data[i]
		if c == '"' {
			if !ascii && !utf8.Valid(data[start:i]) {
				return "", d.fail("invalid UTF-8 in string")
			}
			d.pos = i + 1
			return d.sub(start, i), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.pos = i
			return "", d.fail("control character in string")
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	if i >= len(data) {
		return "", d.fail("unterminated string")
	}
	// Slow path: escapes.
	b := append(d.buf[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.buf = b
			if !utf8.Valid(b) {
				return "", d.fail("invalid UTF-8 in string")
			}
			d.pos = i + 1
			return string(b), nil
		case c < 0x20:
			d.pos = i
			return "", d.fail("control character in string")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		i++
		if i >= len(data) {
			break
		}
		switch data[i] {
		case '"', '\\', '/':
			b = append(b, data[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(data[i+1:])
			if !ok {
				d.pos = i
				return "", d.fail("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(data) > i+2 && data[i+1] == '\\' && data[i+2] == 'u' {
					if x, ok := hex4(data[i+3:]); ok {
						r2 = x
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos = i
			return "", d.fail("invalid escape in string")
		}
		i++
	}
	d.buf = b
	d.pos = len(data)
	return "", d.fail("unterminated string")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (e *jsonEncoder) elem(v any) error {
	e.b = append(e.b, ',')
	return e.value(v, 2)
}
