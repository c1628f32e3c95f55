package protocol

import (
	"math"
	"strconv"
)

// Each message type describes its wire layout once, in its walk method
// (message.go): the fields in wire order, each with its kind (an ID, a URI,
// a dict with its typed keys, the payload, ...). A walker runs such a
// description for one operation: reading a message from decoded elements,
// validating it, building its generic list, writing it in a format, or
// counting its elements. The kind methods below hold, for each kind of
// field, how every operation treats it; nothing else in the package knows
// a message's layout.
//
// Descriptions are plain method calls on a concrete *walker (no reflection,
// no interface dispatch per field), so a walker on the stack stays there.

// walkOp is the operation a walker performs.
type walkOp uint8

const (
	opRead     walkOp = iota // fill the message from elems, validating it
	opValidate               // validate a filled message
	opWrite                  // validate the message while writing it with w, counting its elements in n
	opList                   // append the generic list form to list
	opArity                  // count the accepted element counts, in n and max
)

// walker runs a message description. Only the fields of its op are used.
type walker struct {
	op   walkOp
	code Code
	err  error        // the first error; later fields are skipped
	n    int          // next element (opRead), elements written (opWrite), fewest accepted (opArity)
	max  int          // opArity: most elements accepted
	seen passthruSeen // the passthru keys of the Options/Details read, validated or written

	elems  []elem     // opRead
	uriErr *URIError  // opRead: the first URI that broke the rule (the message is read on)
	uris   URIChecker // opRead, opValidate, opWrite
	list   List       // opList
	w      msgWriter  // opWrite
}

func (w *walker) fail(field, reason string) {
	w.err = invalid(w.code, field, reason)
}

// walk runs m's description with w; it returns false for nil and for a
// type this package does not define. It is the one place that lists the
// message types; each case is a static call so that w does not escape.
func walk(m Message, w *walker) bool {
	switch m := m.(type) {
	case *Hello:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Welcome:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Abort:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Challenge:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Authenticate:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Goodbye:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Error:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Publish:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Published:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Subscribe:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Subscribed:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Unsubscribe:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Unsubscribed:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Event:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Call:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Cancel:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Result:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Register:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Registered:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Unregister:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Unregistered:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Invocation:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Interrupt:
		if m == nil {
			return false
		}
		m.walk(w)
	case *Yield:
		if m == nil {
			return false
		}
		m.walk(w)
	default:
		return false
	}
	return true
}

// newMessage returns an empty message of a known code.
var newMessage = [...]func() Message{
	CodeHello:        func() Message { return new(Hello) },
	CodeWelcome:      func() Message { return new(Welcome) },
	CodeAbort:        func() Message { return new(Abort) },
	CodeChallenge:    func() Message { return new(Challenge) },
	CodeAuthenticate: func() Message { return new(Authenticate) },
	CodeGoodbye:      func() Message { return new(Goodbye) },
	CodeError:        func() Message { return new(Error) },
	CodePublish:      func() Message { return new(Publish) },
	CodePublished:    func() Message { return new(Published) },
	CodeSubscribe:    func() Message { return new(Subscribe) },
	CodeSubscribed:   func() Message { return new(Subscribed) },
	CodeUnsubscribe:  func() Message { return new(Unsubscribe) },
	CodeUnsubscribed: func() Message { return new(Unsubscribed) },
	CodeEvent:        func() Message { return new(Event) },
	CodeCall:         func() Message { return new(Call) },
	CodeCancel:       func() Message { return new(Cancel) },
	CodeResult:       func() Message { return new(Result) },
	CodeRegister:     func() Message { return new(Register) },
	CodeRegistered:   func() Message { return new(Registered) },
	CodeUnregister:   func() Message { return new(Unregister) },
	CodeUnregistered: func() Message { return new(Unregistered) },
	CodeInvocation:   func() Message { return new(Invocation) },
	CodeInterrupt:    func() Message { return new(Interrupt) },
	CodeYield:        func() Message { return new(Yield) },
}

// arity holds the accepted element counts (type code included) per message
// code, computed from the descriptions.
var arity = func() (a [len(newMessage)][2]uint8) {
	for c, mk := range newMessage {
		if mk == nil {
			continue
		}
		w := walker{op: opArity, code: Code(c)}
		walk(mk(), &w)
		a[c] = [2]uint8{uint8(1 + w.n), uint8(1 + w.max)}
	}
	return a
}()

// count adds to the element counts: lo elements always, hi at most.
func (w *walker) count(lo, hi int) {
	w.n += lo
	w.max += hi
}

// id is an ID field: an integer in [1, MaxID].
func (w *walker) id(field string, p *ID) {
	if w.err != nil {
		return
	}
	switch w.op {
	case opRead:
		*p, w.err = fieldID(w.code, field, &w.elems[w.n], false)
		w.n++
	case opValidate:
		w.err = checkID(w.code, field, *p)
	case opWrite:
		if w.err = checkID(w.code, field, *p); w.err == nil {
			w.w.id(*p)
			w.n++
		}
	case opList:
		w.list = append(w.list, int64(*p))
	case opArity:
		w.count(1, 1)
	}
}

// requestType is ERROR's REQUEST.Type: the code of a request message.
func (w *walker) requestType(p *Code) {
	if w.err != nil {
		return
	}
	const field = "RequestType"
	switch w.op {
	case opRead:
		f := &w.elems[w.n]
		t, err := fieldID(w.code, field, f, false)
		switch {
		case err != nil:
			w.fail(field, f.typeName()+" is not a request type")
		case t > math.MaxInt32:
			w.fail(field, strconv.FormatUint(t, 10)+" is not a request type")
		default:
			*p = Code(t)
			w.checkRequestType(*p)
		}
		w.n++
	case opValidate:
		w.checkRequestType(*p)
	case opWrite:
		if w.checkRequestType(*p); w.err == nil {
			w.w.id(uint64(*p))
			w.n++
		}
	case opList:
		w.list = append(w.list, int64(*p))
	case opArity:
		w.count(1, 1)
	}
}

func (w *walker) checkRequestType(c Code) {
	switch c {
	case CodeSubscribe, CodeUnsubscribe, CodePublish, CodeRegister, CodeUnregister, CodeCall, CodeInvocation:
	default:
		w.fail("RequestType", strconv.Itoa(int(c))+" is not a request type")
	}
}

// str is a string field; check, when not nil, validates it.
func (w *walker) str(field string, p *string, check func(s string) error) {
	if w.err != nil {
		return
	}
	switch w.op {
	case opRead:
		f := &w.elems[w.n]
		if f.kind != fString {
			w.fail(field, f.typeName()+", want a string")
			return
		}
		*p = f.s
		w.n++
		if check != nil {
			w.err = check(*p)
		}
	case opValidate:
		if check != nil {
			w.err = check(*p)
		}
	case opWrite:
		if check != nil {
			if w.err = check(*p); w.err != nil {
				return
			}
		}
		w.err = w.w.str(*p)
		w.n++
	case opList:
		w.list = append(w.list, *p)
	case opArity:
		w.count(1, 1)
	}
}

// uri is a URI field checked with the walker's rule for exact matching.
func (w *walker) uri(field string, p *string) {
	w.str(field, p, func(s string) error { return w.checkURI(field, s, "") })
}

// checkURI checks a URI field. On receive an invalid URI does not stop
// the reading: it is kept in uriErr, so that a message whose only fault it
// is can be answered as the spec says (see URIError).
func (w *walker) checkURI(field, s, match string) error {
	err := uri(w.uris, w.code, field, s, match)
	if err == nil {
		return nil
	}
	if w.op == opRead {
		if w.uriErr == nil {
			w.uriErr = err
		}
		return nil
	}
	return err
}

// patternURI is SUBSCRIBE's and REGISTER's URI: its valid shape depends on
// the match policy in opts (whose type and value were checked with the
// other options).
func (w *walker) patternURI(field string, p *string, opts Dict) {
	w.str(field, p, func(s string) error {
		match, _ := opts["match"].(string)
		if match == "" {
			match = MatchExact
		}
		return w.checkURI(field, s, match)
	})
}

// dict is a required dict field (Details, Options, Extra) whose
// spec-defined keys have the types in keys.
func (w *walker) dict(field string, p *Dict, keys *keyTypes) {
	if w.err != nil {
		return
	}
	switch w.op {
	case opRead:
		if *p = w.readDict(field); w.err == nil && len(*p) > 0 {
			w.err = keys.check(w.code, field, *p, &w.seen)
		}
		w.n++
	case opValidate:
		if len(*p) > 0 {
			w.err = keys.check(w.code, field, *p, &w.seen)
		}
	case opWrite:
		w.writeDict(*p, keys, field)
	case opList:
		w.list = append(w.list, dict(*p))
	case opArity:
		w.count(1, 1)
	}
}

// optDict is an optional trailing dict, sent only when it is not empty
// (autobahn's Options of UNSUBSCRIBE and UNREGISTER). Empty ones decode as
// nil.
func (w *walker) optDict(field string, p *Dict, keys *keyTypes) {
	if w.err != nil {
		return
	}
	switch w.op {
	case opRead:
		if w.n < len(w.elems) {
			if *p = nonEmpty(w.readDict(field)); w.err == nil && len(*p) > 0 {
				w.err = keys.check(w.code, field, *p, &w.seen)
			}
			w.n++
		}
	case opValidate:
		if len(*p) > 0 {
			w.err = keys.check(w.code, field, *p, &w.seen)
		}
	case opWrite:
		if len(*p) > 0 {
			w.writeDict(*p, keys, field)
		}
	case opList:
		if len(*p) > 0 {
			w.list = append(w.list, *p)
		}
	case opArity:
		w.count(0, 1)
	}
}

// writeDict writes a message's Options/Details, checking its typed keys.
func (w *walker) writeDict(d Dict, keys *keyTypes, field string) {
	seen, err := w.w.dict(d, keys, w.code, field)
	w.err = err
	w.seen.add(seen)
	w.n++
}

func (w *walker) readDict(field string) Dict {
	f := &w.elems[w.n]
	d, ok := f.v.(Dict)
	if !ok || f.kind != fAny {
		w.fail(field, f.typeName()+", want a dict")
	}
	return d
}

// revocation is UNSUBSCRIBED's and UNREGISTERED's body: [Request] in reply
// to a request, or the router's revocation form [0, Details] (a non-zero
// Request with Details is accepted too, as autobahn does; empty Details of
// a reply decode as nil so that a round trip is exact).
func (w *walker) revocation(req *ID, details *Dict, keys *keyTypes) {
	if w.err != nil {
		return
	}
	long := *req == 0 || len(*details) > 0
	switch w.op {
	case opRead:
		if len(w.elems)-w.n == 1 {
			w.id("Request", req)
			return
		}
		*req, w.err = fieldID(w.code, "Request", &w.elems[w.n], true)
		if w.err != nil {
			return
		}
		w.n++
		d := w.readDict("Details")
		w.n++
		if *req != 0 {
			d = nonEmpty(d)
		}
		*details = d
		if w.err == nil && len(d) > 0 {
			w.err = keys.check(w.code, "Details", d, &w.seen)
		}
	case opValidate, opWrite:
		if *req > MaxID {
			w.err = checkID(w.code, "Request", *req)
			return
		}
		if w.op == opValidate {
			if len(*details) > 0 {
				w.err = keys.check(w.code, "Details", *details, &w.seen)
			}
			return
		}
		w.w.id(*req)
		w.n++
		if long {
			w.writeDict(*details, keys, "Details")
		}
	case opList:
		w.list = append(w.list, int64(*req))
		if long {
			w.list = append(w.list, dict(*details))
		}
	case opArity:
		w.count(1, 2)
	}
}

// payload is the optional trailing Arguments and ArgumentsKw; opts is the
// message's Options or Details, which say whether the payload is in
// passthru mode (see passthru.go).
//
// On receive, null in either position means absent (fox-wamp sends
// [RESULT, id, {}, [x], null]), and empty values decode as nil. On send,
// empty trailing values are omitted and Args is sent as [] when only
// Kwargs is set; nothing is ever sent as null.
func (w *walker) payload(opts Dict, args *List, kwargs *Dict) {
	if w.err != nil {
		return
	}
	switch w.op {
	case opRead:
		if w.readPayload(opts, args, kwargs); w.err == nil && w.seen != 0 {
			w.err = checkPassthru(w.code, w.seen, opts, *args, *kwargs)
		}
	case opValidate:
		if w.seen != 0 {
			w.err = checkPassthru(w.code, w.seen, opts, *args, *kwargs)
		}
	case opWrite:
		if w.seen != 0 {
			if w.err = checkPassthru(w.code, w.seen, opts, *args, *kwargs); w.err != nil {
				return
			}
		}
		w.writePayload(opts, *args, *kwargs)
	case opList:
		if opaquePayload(opts, *args, *kwargs) {
			w.list = append(w.list, (*args)[0])
			return
		}
		switch payloadLen(*args, *kwargs) {
		case 2:
			a := *args
			if a == nil {
				a = List{}
			}
			w.list = append(w.list, a, *kwargs)
		case 1:
			w.list = append(w.list, *args)
		}
	case opArity:
		w.count(0, 2)
	}
}

func (w *walker) writePayload(opts Dict, args List, kwargs Dict) {
	n := payloadLen(args, kwargs)
	if n == 0 {
		return
	}
	size := 0
	for _, v := range args {
		size += valueBytes(v)
	}
	if len(kwargs) > 0 {
		for _, v := range kwargs {
			size += valueBytes(v)
		}
	}
	if size >= bigPayload {
		w.w.reserve(size)
	}
	if opaquePayload(opts, args, kwargs) {
		w.err = w.w.elem(args[0])
		w.n++
		return
	}
	if w.err = w.w.list(args); w.err != nil {
		return
	}
	w.n++
	if n == 2 {
		_, w.err = w.w.dict(kwargs, nil, w.code, "Kwargs")
		w.n++
	}
}

func (w *walker) readPayload(opts Dict, args *List, kwargs *Dict) {
	rest := w.elems[w.n:]
	if len(rest) > 0 {
		f := &rest[0]
		// autobahn's payload transparency: an opaque payload (binary, or
		// a string) replaces Arguments; it needs Options/Details enc_algo.
		opaque := func() bool { return len(rest) == 1 && hasEncAlgo(opts) }
		switch a := f.v.(type) {
		case List:
			if len(a) > 0 {
				*args = a
			}
		case nil:
			switch {
			case f.kind == fList:
				if len(f.l) > 0 {
					*args = f.l
				}
			case f.kind == fAny: // null: absent
			case f.kind == fString && opaque():
				*args = List{f.s}
			default:
				w.fail("Args", f.typeName()+", want a list")
				return
			}
		case []byte:
			if !opaque() {
				w.fail("Args", "binary, want a list (an opaque payload needs enc_algo and no Kwargs)")
				return
			}
			*args = List{a}
		default:
			w.fail("Args", f.typeName()+", want a list")
			return
		}
	}
	if len(rest) > 1 {
		f := &rest[1]
		switch k := f.v.(type) {
		case Dict:
			if len(k) > 0 {
				*kwargs = k
			}
		case nil:
			if f.kind != fAny {
				w.fail("Kwargs", f.typeName()+", want a dict")
			}
		default:
			w.fail("Kwargs", f.typeName()+", want a dict")
		}
	}
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
