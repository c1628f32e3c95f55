package protocol

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// arity holds the accepted element counts (type code included) per message
// code, as parsed by autobahn/crossbar, plus the spec's ABORT payload.
var arity = [...][2]uint8{
	CodeHello:        {3, 3},
	CodeWelcome:      {3, 3},
	CodeAbort:        {3, 5},
	CodeChallenge:    {3, 3},
	CodeAuthenticate: {3, 3},
	CodeGoodbye:      {3, 3},
	CodeError:        {5, 7},
	CodePublish:      {4, 6},
	CodePublished:    {3, 3},
	CodeSubscribe:    {4, 4},
	CodeSubscribed:   {3, 3},
	CodeUnsubscribe:  {3, 4},
	CodeUnsubscribed: {2, 3},
	CodeEvent:        {4, 6},
	CodeCall:         {4, 6},
	CodeCancel:       {3, 3},
	CodeResult:       {3, 5},
	CodeRegister:     {4, 4},
	CodeRegistered:   {3, 3},
	CodeUnregister:   {3, 4},
	CodeUnregistered: {2, 3},
	CodeInvocation:   {4, 6},
	CodeInterrupt:    {3, 3},
	CodeYield:        {3, 5},
}

// Parser converts generic lists to messages with a configurable URI rule.
// The zero value uses LooseURIs.
type Parser struct {
	// URIs checks every URI field; nil means LooseURIs.
	URIs URIChecker
}

// FromList converts the generic list form of a message, as produced by a
// decoder, into a typed message, validating it with the loose URI rule.
// Every failure is a *ValidationError matching ErrInvalidMessage.
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
	if isNil(m) {
		return nil
	}
	switch m := m.(type) {
	case *Hello:
		return List{int64(CodeHello), m.Realm, dict(m.Details)}
	case *Welcome:
		return List{int64(CodeWelcome), int64(m.Session), dict(m.Details)}
	case *Abort:
		return payload(List{int64(CodeAbort), dict(m.Details), m.Reason}, m.Args, m.Kwargs)
	case *Challenge:
		return List{int64(CodeChallenge), m.AuthMethod, dict(m.Extra)}
	case *Authenticate:
		return List{int64(CodeAuthenticate), m.Signature, dict(m.Extra)}
	case *Goodbye:
		return List{int64(CodeGoodbye), dict(m.Details), m.Reason}
	case *Error:
		return payload(List{int64(CodeError), int64(m.RequestType), int64(m.Request), dict(m.Details), m.URI}, m.Args, m.Kwargs)
	case *Publish:
		return payload(List{int64(CodePublish), int64(m.Request), dict(m.Options), m.Topic}, m.Args, m.Kwargs)
	case *Published:
		return List{int64(CodePublished), int64(m.Request), int64(m.Publication)}
	case *Subscribe:
		return List{int64(CodeSubscribe), int64(m.Request), dict(m.Options), m.Topic}
	case *Subscribed:
		return List{int64(CodeSubscribed), int64(m.Request), int64(m.Subscription)}
	case *Unsubscribe:
		if len(m.Options) > 0 {
			return List{int64(CodeUnsubscribe), int64(m.Request), int64(m.Subscription), m.Options}
		}
		return List{int64(CodeUnsubscribe), int64(m.Request), int64(m.Subscription)}
	case *Unsubscribed:
		if m.Request == 0 || len(m.Details) > 0 {
			return List{int64(CodeUnsubscribed), int64(m.Request), dict(m.Details)}
		}
		return List{int64(CodeUnsubscribed), int64(m.Request)}
	case *Event:
		return payload(List{int64(CodeEvent), int64(m.Subscription), int64(m.Publication), dict(m.Details)}, m.Args, m.Kwargs)
	case *Call:
		return payload(List{int64(CodeCall), int64(m.Request), dict(m.Options), m.Procedure}, m.Args, m.Kwargs)
	case *Cancel:
		return List{int64(CodeCancel), int64(m.Request), dict(m.Options)}
	case *Result:
		return payload(List{int64(CodeResult), int64(m.Request), dict(m.Details)}, m.Args, m.Kwargs)
	case *Register:
		return List{int64(CodeRegister), int64(m.Request), dict(m.Options), m.Procedure}
	case *Registered:
		return List{int64(CodeRegistered), int64(m.Request), int64(m.Registration)}
	case *Unregister:
		if len(m.Options) > 0 {
			return List{int64(CodeUnregister), int64(m.Request), int64(m.Registration), m.Options}
		}
		return List{int64(CodeUnregister), int64(m.Request), int64(m.Registration)}
	case *Unregistered:
		if m.Request == 0 || len(m.Details) > 0 {
			return List{int64(CodeUnregistered), int64(m.Request), dict(m.Details)}
		}
		return List{int64(CodeUnregistered), int64(m.Request)}
	case *Invocation:
		return payload(List{int64(CodeInvocation), int64(m.Request), int64(m.Registration), dict(m.Details)}, m.Args, m.Kwargs)
	case *Interrupt:
		return List{int64(CodeInterrupt), int64(m.Request), dict(m.Options)}
	case *Yield:
		return payload(List{int64(CodeYield), int64(m.Request), dict(m.Options)}, m.Args, m.Kwargs)
	}
	return nil
}

func dict(d Dict) Dict {
	if d == nil {
		return Dict{}
	}
	return d
}

func payload(l List, args List, kwargs Dict) List {
	if len(kwargs) > 0 {
		if args == nil {
			args = List{}
		}
		return append(l, args, kwargs)
	}
	if len(args) > 0 {
		return append(l, args)
	}
	return l
}

// elem is one top-level element of a message. Decoders fill fields
// directly so that IDs and URIs are not boxed into interfaces on the way.
type elem struct {
	kind elemKind
	n    uint64 // fUint
	s    string // fString
	v    any    // fAny
}

type elemKind uint8

const (
	fAny    elemKind = iota // v holds the value
	fUint                   // a non-negative integer in n
	fString                 // a string in s
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
	}
	return typeName(f.v)
}

// listReader extracts typed fields from a message's elements, producing
// ValidationErrors that name the message and field.
type listReader struct {
	code Code
	f    []elem
}

func (r *listReader) id(i int, field string) (ID, error) {
	return fieldID(r.code, field, &r.f[i], false)
}

func fieldID(c Code, field string, f *elem, zeroOK bool) (ID, error) {
	switch f.kind {
	case fUint:
		if f.n > MaxID || f.n == 0 && !zeroOK {
			return 0, invalid(c, field, "ID "+strconv.FormatUint(f.n, 10)+" out of range [1, 2^53]")
		}
		return f.n, nil
	case fString:
		return 0, invalid(c, field, "ID is string, want an integer")
	}
	return toID(c, field, f.v, zeroOK)
}

func toID(c Code, field string, v any, zeroOK bool) (ID, error) {
	var id ID
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return 0, invalid(c, field, "ID "+strconv.FormatInt(v, 10)+" out of range [1, 2^53]")
		}
		id = ID(v)
	case uint64:
		id = v
	case int:
		if v < 0 {
			return 0, invalid(c, field, "ID "+strconv.Itoa(v)+" out of range [1, 2^53]")
		}
		id = ID(v)
	case int32:
		return toID(c, field, int64(v), zeroOK)
	case int16:
		return toID(c, field, int64(v), zeroOK)
	case int8:
		return toID(c, field, int64(v), zeroOK)
	case uint:
		id = ID(v)
	case uint32:
		id = ID(v)
	case uint16:
		id = ID(v)
	case uint8:
		id = ID(v)
	case float64, float32:
		return 0, invalid(c, field, "ID is a float, want an integer")
	default:
		return 0, invalid(c, field, "ID is "+typeName(v)+", want an integer")
	}
	if id > MaxID || id == 0 && !zeroOK {
		return 0, invalid(c, field, "ID "+strconv.FormatUint(id, 10)+" out of range [1, 2^53]")
	}
	return id, nil
}

func (r *listReader) str(i int, field string) (string, error) {
	if r.f[i].kind != fString {
		return "", invalid(r.code, field, r.f[i].typeName()+", want a string")
	}
	return r.f[i].s, nil
}

func (r *listReader) dict(i int, field string) (Dict, error) {
	d, ok := r.f[i].v.(Dict)
	if !ok || r.f[i].kind != fAny {
		return nil, invalid(r.code, field, r.f[i].typeName()+", want a dict")
	}
	return d, nil
}

// payload reads the optional Args and Kwargs starting at index i. Empty
// values come back as nil.
func (r *listReader) payload(i int) (List, Dict, error) {
	var args List
	var kwargs Dict
	if i < len(r.f) {
		a, ok := r.f[i].v.(List)
		if !ok || r.f[i].kind != fAny {
			return nil, nil, invalid(r.code, "Args", r.f[i].typeName()+", want a list")
		}
		if len(a) > 0 {
			args = a
		}
	}
	if i+1 < len(r.f) {
		k, ok := r.f[i+1].v.(Dict)
		if !ok || r.f[i+1].kind != fAny {
			return nil, nil, invalid(r.code, "Kwargs", r.f[i+1].typeName()+", want a dict")
		}
		if len(k) > 0 {
			kwargs = k
		}
	}
	return args, kwargs, nil
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
// with p's URI rule.
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
	r := listReader{code: code, f: fs}
	m, err := r.message()
	if err != nil {
		return nil, err
	}
	if err := p.validate(m); err != nil {
		return nil, err
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

func (r *listReader) message() (Message, error) {
	var err error
	// The helpers record the first error; later extractions are skipped.
	n := len(r.f)
	id := func(i int, field string) ID {
		if err != nil {
			return 0
		}
		var v ID
		v, err = r.id(i, field)
		return v
	}
	str := func(i int, field string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = r.str(i, field)
		return v
	}
	dct := func(i int, field string) Dict {
		if err != nil {
			return nil
		}
		var v Dict
		v, err = r.dict(i, field)
		return v
	}
	pay := func(i int) (List, Dict) {
		if err != nil {
			return nil, nil
		}
		var a List
		var k Dict
		a, k, err = r.payload(i)
		return a, k
	}
	var m Message
	switch r.code {
	case CodeHello:
		m = &Hello{Realm: str(1, "Realm"), Details: dct(2, "Details")}
	case CodeWelcome:
		m = &Welcome{Session: id(1, "Session"), Details: dct(2, "Details")}
	case CodeAbort:
		x := &Abort{Details: dct(1, "Details"), Reason: str(2, "Reason")}
		x.Args, x.Kwargs = pay(3)
		m = x
	case CodeChallenge:
		m = &Challenge{AuthMethod: str(1, "AuthMethod"), Extra: dct(2, "Extra")}
	case CodeAuthenticate:
		m = &Authenticate{Signature: str(1, "Signature"), Extra: dct(2, "Extra")}
	case CodeGoodbye:
		m = &Goodbye{Details: dct(1, "Details"), Reason: str(2, "Reason")}
	case CodeError:
		x := &Error{}
		if err == nil {
			var t ID
			t, err = fieldID(CodeError, "RequestType", &r.f[1], false)
			if err != nil {
				err = invalid(CodeError, "RequestType", r.f[1].typeName()+" is not a request type")
			} else if t > math.MaxInt32 {
				err = invalid(CodeError, "RequestType", strconv.FormatUint(t, 10)+" is not a request type")
			}
			x.RequestType = Code(t)
		}
		x.Request = id(2, "Request")
		x.Details = dct(3, "Details")
		x.URI = str(4, "URI")
		x.Args, x.Kwargs = pay(5)
		m = x
	case CodePublish:
		x := &Publish{Request: id(1, "Request"), Options: dct(2, "Options"), Topic: str(3, "Topic")}
		x.Args, x.Kwargs = pay(4)
		m = x
	case CodePublished:
		m = &Published{Request: id(1, "Request"), Publication: id(2, "Publication")}
	case CodeSubscribe:
		m = &Subscribe{Request: id(1, "Request"), Options: dct(2, "Options"), Topic: str(3, "Topic")}
	case CodeSubscribed:
		m = &Subscribed{Request: id(1, "Request"), Subscription: id(2, "Subscription")}
	case CodeUnsubscribe:
		x := &Unsubscribe{Request: id(1, "Request"), Subscription: id(2, "Subscription")}
		if n > 3 {
			x.Options = nonEmpty(dct(3, "Options"))
		}
		m = x
	case CodeUnsubscribed:
		x := &Unsubscribed{}
		x.Request, x.Details = r.revocable(&err)
		m = x
	case CodeEvent:
		x := &Event{Subscription: id(1, "Subscription"), Publication: id(2, "Publication"), Details: dct(3, "Details")}
		x.Args, x.Kwargs = pay(4)
		m = x
	case CodeCall:
		x := &Call{Request: id(1, "Request"), Options: dct(2, "Options"), Procedure: str(3, "Procedure")}
		x.Args, x.Kwargs = pay(4)
		m = x
	case CodeCancel:
		m = &Cancel{Request: id(1, "Request"), Options: dct(2, "Options")}
	case CodeResult:
		x := &Result{Request: id(1, "Request"), Details: dct(2, "Details")}
		x.Args, x.Kwargs = pay(3)
		m = x
	case CodeRegister:
		m = &Register{Request: id(1, "Request"), Options: dct(2, "Options"), Procedure: str(3, "Procedure")}
	case CodeRegistered:
		m = &Registered{Request: id(1, "Request"), Registration: id(2, "Registration")}
	case CodeUnregister:
		x := &Unregister{Request: id(1, "Request"), Registration: id(2, "Registration")}
		if n > 3 {
			x.Options = nonEmpty(dct(3, "Options"))
		}
		m = x
	case CodeUnregistered:
		x := &Unregistered{}
		x.Request, x.Details = r.revocable(&err)
		m = x
	case CodeInvocation:
		x := &Invocation{Request: id(1, "Request"), Registration: id(2, "Registration"), Details: dct(3, "Details")}
		x.Args, x.Kwargs = pay(4)
		m = x
	case CodeInterrupt:
		m = &Interrupt{Request: id(1, "Request"), Options: dct(2, "Options")}
	case CodeYield:
		x := &Yield{Request: id(1, "Request"), Options: dct(2, "Options")}
		x.Args, x.Kwargs = pay(3)
		m = x
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// revocable reads UNSUBSCRIBED/UNREGISTERED: [code, Request] or the
// router's revocation form [code, 0, Details] (a non-zero Request with
// Details is accepted too, as autobahn does).
func (r *listReader) revocable(errp *error) (ID, Dict) {
	if len(r.f) == 2 {
		id, err := r.id(1, "Request")
		*errp = err
		return id, nil
	}
	id, err := fieldID(r.code, "Request", &r.f[1], true)
	if err != nil {
		*errp = err
		return 0, nil
	}
	d, err := r.dict(2, "Details")
	*errp = err
	if id != 0 {
		// Re-encoded without Details when empty; keep the decoded form
		// identical to what a round trip gives.
		d = nonEmpty(d)
	}
	return id, d
}

func nonEmpty(d Dict) Dict {
	if len(d) == 0 {
		return nil
	}
	return d
}

// Validate checks a message before it is sent, with p's URI rule.
func (p Parser) Validate(m Message) error {
	if isNil(m) {
		return invalid(0, "", "nil message")
	}
	return p.validate(m)
}

func (p Parser) validate(m Message) error {
	u := p.checker()
	switch m := m.(type) {
	case *Hello:
		return uri(u, CodeHello, "Realm", m.Realm, "")
	case *Welcome:
		return checkID(CodeWelcome, "Session", m.Session)
	case *Abort:
		return uri(u, CodeAbort, "Reason", m.Reason, "")
	case *Challenge, *Authenticate:
		return nil
	case *Goodbye:
		return uri(u, CodeGoodbye, "Reason", m.Reason, "")
	case *Error:
		switch m.RequestType {
		case CodeSubscribe, CodeUnsubscribe, CodePublish, CodeRegister, CodeUnregister, CodeCall, CodeInvocation:
		default:
			return invalid(CodeError, "RequestType", strconv.Itoa(int(m.RequestType))+" is not a request type")
		}
		return first(checkID(CodeError, "Request", m.Request), uri(u, CodeError, "URI", m.URI, ""))
	case *Publish:
		return first(checkID(CodePublish, "Request", m.Request), uri(u, CodePublish, "Topic", m.Topic, ""))
	case *Published:
		return first(checkID(CodePublished, "Request", m.Request), checkID(CodePublished, "Publication", m.Publication))
	case *Subscribe:
		if err := checkID(CodeSubscribe, "Request", m.Request); err != nil {
			return err
		}
		match, err := matchPolicy(CodeSubscribe, m.Options)
		if err != nil {
			return err
		}
		return uri(u, CodeSubscribe, "Topic", m.Topic, match)
	case *Subscribed:
		return first(checkID(CodeSubscribed, "Request", m.Request), checkID(CodeSubscribed, "Subscription", m.Subscription))
	case *Unsubscribe:
		return first(checkID(CodeUnsubscribe, "Request", m.Request), checkID(CodeUnsubscribe, "Subscription", m.Subscription))
	case *Unsubscribed:
		if m.Request > MaxID {
			return checkID(CodeUnsubscribed, "Request", m.Request)
		}
		return nil
	case *Event:
		return first(checkID(CodeEvent, "Subscription", m.Subscription), checkID(CodeEvent, "Publication", m.Publication))
	case *Call:
		return first(checkID(CodeCall, "Request", m.Request), uri(u, CodeCall, "Procedure", m.Procedure, ""))
	case *Cancel:
		return checkID(CodeCancel, "Request", m.Request)
	case *Result:
		return checkID(CodeResult, "Request", m.Request)
	case *Register:
		if err := checkID(CodeRegister, "Request", m.Request); err != nil {
			return err
		}
		match, err := matchPolicy(CodeRegister, m.Options)
		if err != nil {
			return err
		}
		return uri(u, CodeRegister, "Procedure", m.Procedure, match)
	case *Registered:
		return first(checkID(CodeRegistered, "Request", m.Request), checkID(CodeRegistered, "Registration", m.Registration))
	case *Unregister:
		return first(checkID(CodeUnregister, "Request", m.Request), checkID(CodeUnregister, "Registration", m.Registration))
	case *Unregistered:
		if m.Request > MaxID {
			return checkID(CodeUnregistered, "Request", m.Request)
		}
		return nil
	case *Invocation:
		return first(checkID(CodeInvocation, "Request", m.Request), checkID(CodeInvocation, "Registration", m.Registration))
	case *Interrupt:
		return checkID(CodeInterrupt, "Request", m.Request)
	case *Yield:
		return checkID(CodeYield, "Request", m.Request)
	}
	return invalid(0, "", fmt.Sprintf("unsupported message type %T", m))
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkID(c Code, field string, id ID) error {
	if id == 0 || id > MaxID {
		return invalid(c, field, "ID "+strconv.FormatUint(id, 10)+" out of range [1, 2^53]")
	}
	return nil
}

func uri(u URIChecker, c Code, field, s, match string) error {
	if !u.ValidURI(s, match) {
		reason := "invalid URI " + quote(s)
		if match != "" && match != MatchExact {
			reason += " for match " + strconv.Quote(match)
		}
		return invalid(c, field, reason)
	}
	return nil
}

func matchPolicy(c Code, opts Dict) (string, error) {
	v, ok := opts["match"]
	if !ok {
		return MatchExact, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid(c, "Options", "match is "+typeName(v)+", want a string")
	}
	switch s {
	case MatchExact, MatchPrefix, MatchWildcard:
		return s, nil
	}
	return "", invalid(c, "Options", "unknown match policy "+quote(s))
}

// quote quotes s for an error message, shortened when long.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// isNil reports whether m is nil or a nil pointer.
func isNil(m Message) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
