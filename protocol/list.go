package protocol

import (
	"fmt"
	"math"
	"strconv"
)

// Parser converts generic lists to messages with a configurable URI rule.
// The zero value uses LooseURIs.
type Parser struct {
	// URIs checks every URI field; nil means LooseURIs.
	URIs URIChecker
}

// FromList converts the generic list form of a message, as produced by a
// decoder, into a typed message, validating it with the loose URI rule.
// Every failure is a *ValidationError matching ErrInvalidMessage; a
// message whose only fault is a URI is returned with its *URIError.
func FromList(l List) (Message, error) { return Parser{}.FromList(l) }

// Validate checks a message before it is sent, with the loose URI rule: IDs
// in range, URIs well formed, ERROR.RequestType allowed, match policy known.
func Validate(m Message) error { return Parser{}.Validate(m) }

func (p Parser) checker() URIChecker {
	if p.URIs == nil {
		return LooseURIs
	}
	return p.URIs
}

// ToList returns the generic list form of m: the type code as int64 followed
// by the fields in wire order. Nil dicts become empty dicts; empty trailing
// Args/Kwargs are omitted (Args is sent as an empty list when only Kwargs is
// set). It returns nil for a message type this package does not define.
func ToList(m Message) List {
	if m == nil {
		return nil
	}
	w := walker{op: opList, list: make(List, 1, maxElems)}
	w.list[0] = int64(m.Code())
	if !walk(m, &w) {
		return nil
	}
	return w.list
}

func dict(d Dict) Dict {
	if d == nil {
		return Dict{}
	}
	return d
}

// elem is one top-level element of a message. Decoders fill fields
// directly so that IDs and URIs are not boxed into interfaces on the way.
type elem struct {
	kind elemKind
	n    uint64 // fUint
	s    string // fString
	l    List   // fList
	v    any    // fAny
}

type elemKind uint8

const (
	fAny    elemKind = iota // v holds the value
	fUint                   // a non-negative integer in n
	fString                 // a string in s
	fList                   // a list in l (a slice in an interface costs an allocation)
)

// maxElems is the longest message (ERROR with Args and Kwargs).
const maxElems = 7

func toElem(v any) elem {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return elem{kind: fUint, n: uint64(x)}
		}
	case uint64:
		return elem{kind: fUint, n: x}
	case string:
		return elem{kind: fString, s: x}
	}
	return elem{v: v}
}

// typeName names the WAMP type of f for error messages.
func (f *elem) typeName() string {
	switch f.kind {
	case fUint:
		return "integer"
	case fString:
		return "string"
	case fList:
		return "list"
	}
	return typeName(f.v)
}

func fieldID(c Code, field string, f *elem, zeroOK bool) (ID, error) {
	switch f.kind {
	case fUint:
		if f.n > MaxID || f.n == 0 && !zeroOK {
			return 0, invalid(c, field, "ID "+strconv.FormatUint(f.n, 10)+" out of range [1, 2^53]")
		}
		return f.n, nil
	case fString, fList:
		return 0, invalid(c, field, "ID is "+f.typeName()+", want an integer")
	}
	return toID(c, field, f.v, zeroOK)
}

func toID(c Code, field string, v any, zeroOK bool) (ID, error) {
	n, ok := integer(v)
	if !ok {
		switch v.(type) {
		case float64, float32:
			return 0, invalid(c, field, "ID is a float, want an integer")
		}
		return 0, invalid(c, field, "ID is "+typeName(v)+", want an integer")
	}
	if n.neg || n.u > MaxID || n.u == 0 && !zeroOK {
		return 0, invalid(c, field, "ID "+n.String()+" out of range [1, 2^53]")
	}
	return n.u, nil
}

// typeName names the WAMP type of a decoded value for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64, uint64, int, int32, int16, int8, uint, uint32, uint16, uint8:
		return "integer"
	case float64, float32:
		return "float"
	case string:
		return "string"
	case []byte:
		return "binary"
	case List:
		return "list"
	case Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// FromList converts a generic list into a typed message and validates it
// with p's URI rule. A message whose only fault is a URI that breaks the
// rule is returned together with a *URIError.
func (p Parser) FromList(l List) (Message, error) {
	if len(l) == 0 {
		return nil, invalid(0, "", "empty message")
	}
	first := toElem(l[0])
	code, err := messageCode(&first)
	if err != nil {
		return nil, err
	}
	if err := checkArity(code, len(l)); err != nil {
		return nil, err
	}
	var fs [maxElems]elem
	for i, v := range l {
		fs[i] = toElem(v)
	}
	return p.fromElems(code, fs[:len(l)])
}

func messageCode(f *elem) (Code, error) {
	switch f.kind {
	case fUint:
		if f.n > 0 && f.n <= math.MaxInt32 && Code(f.n).Known() {
			return Code(f.n), nil
		}
		return 0, invalid(0, "", "unknown message type "+strconv.FormatUint(f.n, 10))
	case fAny:
		switch c := f.v.(type) {
		case int64, int, int32, int16, int8, uint, uint32, uint16, uint8:
			n, err := toID(0, "", c, false)
			if err != nil || n > math.MaxInt32 || !Code(n).Known() {
				return 0, invalid(0, "", fmt.Sprintf("unknown message type %v", c))
			}
			return Code(n), nil
		}
	}
	return 0, invalid(0, "", "message type is "+f.typeName()+", want an integer")
}

func checkArity(code Code, n int) error {
	a := arity[code]
	if n < int(a[0]) || n > int(a[1]) {
		want := strconv.Itoa(int(a[0]))
		if a[1] == a[0]+1 {
			want += " or " + strconv.Itoa(int(a[1]))
		} else if a[1] > a[0] {
			want += " to " + strconv.Itoa(int(a[1]))
		}
		return invalid(code, "", strconv.Itoa(n)+" elements, want "+want)
	}
	return nil
}

// fromElems builds and validates a message from its elements; the code
// and the arity have been checked.
func (p Parser) fromElems(code Code, fs []elem) (Message, error) {
	m := newMessage[code]()
	w := walker{op: opRead, code: code, elems: fs, n: 1, uris: p.checker()}
	walk(m, &w)
	if w.err != nil {
		return nil, w.err
	}
	if w.uriErr != nil {
		return m, w.uriErr // well formed but for a URI: see URIError
	}
	return m, nil
}

// decodeElems is what the serializers call with the elements of a
// top-level list.
// frameDecoder is one format's decoder as unmarshalWith drives it.
type frameDecoder interface {
	reset(data []byte)
	// message decodes a top-level list of at most maxElems elements;
	// ok is false when the input is something else.
	message() (n int, ok bool, err error)
	// elems returns the n elements message decoded.
	elems(n int) []elem
	// document decodes exactly one value of any shape.
	document() (any, error)
}

// unmarshalWith is Unmarshal for every format: the element-wise fast path,
// or, for input that is not a short list, the generic path, which gives
// the precise error.
func unmarshalWith(d frameDecoder, data []byte) (Message, error) {
	d.reset(data)
	n, ok, err := d.message()
	if err != nil {
		return nil, err
	}
	if !ok {
		d.reset(data)
		v, err := d.document()
		if err != nil {
			return nil, err
		}
		return decodeMessage(v)
	}
	return decodeElems(d.elems(n))
}

func decodeElems(fs []elem) (Message, error) {
	if len(fs) == 0 {
		return nil, invalid(0, "", "empty message")
	}
	code, err := messageCode(&fs[0])
	if err != nil {
		return nil, err
	}
	if err := checkArity(code, len(fs)); err != nil {
		return nil, err
	}
	return Parser{}.fromElems(code, fs)
}

func nonEmpty(d Dict) Dict {
	if len(d) == 0 {
		return nil
	}
	return d
}

// Validate checks a message before it is sent, with p's URI rule.
func (p Parser) Validate(m Message) error { return p.validate(m) }

func (p Parser) validate(m Message) error {
	if m == nil {
		return invalid(0, "", "nil message")
	}
	w := walker{op: opValidate, code: m.Code(), uris: p.checker()}
	if !walk(m, &w) {
		return invalid(0, "", fmt.Sprintf("nil or unsupported message %T", m))
	}
	return w.err
}

func checkID(c Code, field string, id ID) error {
	if id == 0 || id > MaxID {
		return invalid(c, field, "ID "+strconv.FormatUint(id, 10)+" out of range [1, 2^53]")
	}
	return nil
}

func uri(u URIChecker, c Code, field, s, match string) *URIError {
	if !u.ValidURI(s, match) {
		reason := "invalid URI " + quote(s)
		if match == MatchExact {
			match = ""
		}
		if match != "" {
			reason += " for match " + strconv.Quote(match)
		}
		return &URIError{ValidationError: ValidationError{Message: c, Field: field, Reason: reason}, URI: s, Match: match}
	}
	return nil
}

// quote quotes s for an error message, shortened when long.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
