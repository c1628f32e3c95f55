package protocol

import "fmt"

// Code is a WAMP message type code, the first element of every message.
type Code int

// The WAMP v2 message type codes.
const (
	CodeHello        Code = 1
	CodeWelcome      Code = 2
	CodeAbort        Code = 3
	CodeChallenge    Code = 4
	CodeAuthenticate Code = 5
	CodeGoodbye      Code = 6
	CodeError        Code = 8
	CodePublish      Code = 16
	CodePublished    Code = 17
	CodeSubscribe    Code = 32
	CodeSubscribed   Code = 33
	CodeUnsubscribe  Code = 34
	CodeUnsubscribed Code = 35
	CodeEvent        Code = 36
	CodeCall         Code = 48
	CodeCancel       Code = 49
	CodeResult       Code = 50
	CodeRegister     Code = 64
	CodeRegistered   Code = 65
	CodeUnregister   Code = 66
	CodeUnregistered Code = 67
	CodeInvocation   Code = 68
	CodeInterrupt    Code = 69
	CodeYield        Code = 70
)

var codeNames = map[Code]string{
	CodeHello: "HELLO", CodeWelcome: "WELCOME", CodeAbort: "ABORT",
	CodeChallenge: "CHALLENGE", CodeAuthenticate: "AUTHENTICATE",
	CodeGoodbye: "GOODBYE", CodeError: "ERROR", CodePublish: "PUBLISH",
	CodePublished: "PUBLISHED", CodeSubscribe: "SUBSCRIBE",
	CodeSubscribed: "SUBSCRIBED", CodeUnsubscribe: "UNSUBSCRIBE",
	CodeUnsubscribed: "UNSUBSCRIBED", CodeEvent: "EVENT", CodeCall: "CALL",
	CodeCancel: "CANCEL", CodeResult: "RESULT", CodeRegister: "REGISTER",
	CodeRegistered: "REGISTERED", CodeUnregister: "UNREGISTER",
	CodeUnregistered: "UNREGISTERED", CodeInvocation: "INVOCATION",
	CodeInterrupt: "INTERRUPT", CodeYield: "YIELD",
}

// String returns the message name, such as "CALL", or "code(N)" for an
// unknown code.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Known reports whether c is one of the WAMP v2 message codes above.
func (c Code) Known() bool { _, ok := codeNames[c]; return ok }

// ID is a WAMP identifier: a session, request, subscription, registration or
// publication id. Valid IDs are integers in [1, MaxID].
type ID = uint64

// MaxID is the largest valid WAMP ID, 2^53.
const MaxID ID = 1 << 53

// Dict is a WAMP dictionary: Details, Options and ArgumentsKw.
type Dict = map[string]any

// List is a WAMP list: Arguments, and the generic form of a whole message.
type List = []any

// Message is implemented by the pointer types of every WAMP message below.
type Message interface {
	// Code returns the message type code.
	Code() Code
}

// Hello is [HELLO, Realm|uri, Details|dict], sent by a client to open a session.
type Hello struct {
	Realm   string
	Details Dict
}

func (m *Hello) walk(w *walker) {
	w.uri("Realm", &m.Realm)
	w.dict("Details", &m.Details, &helloDetails)
}

// Welcome is [WELCOME, Session|id, Details|dict], the router's acceptance.
type Welcome struct {
	Session ID
	Details Dict
}

func (m *Welcome) walk(w *walker) {
	w.id("Session", &m.Session)
	w.dict("Details", &m.Details, &welcomeDetails)
}

// Abort is [ABORT, Details|dict, Reason|uri]. The spec also allows trailing
// Arguments and ArgumentsKw; they are decoded when present but crossbar
// rejects them, so leave them empty when talking to crossbar.
type Abort struct {
	Details Dict
	Reason  string
	Args    List
	Kwargs  Dict
}

func (m *Abort) walk(w *walker) {
	w.dict("Details", &m.Details, &closeDetails)
	w.uri("Reason", &m.Reason)
	w.payload(nil, &m.Args, &m.Kwargs)
}

// Challenge is [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

func (m *Challenge) walk(w *walker) {
	w.str("AuthMethod", &m.AuthMethod, nil)
	w.dict("Extra", &m.Extra, nil)
}

// Authenticate is [AUTHENTICATE, Signature|string, Extra|dict]. Its
// Signature is a secret (a ticket, an HMAC); never log it.
type Authenticate struct {
	Signature string
	Extra     Dict
}

func (m *Authenticate) walk(w *walker) {
	w.str("Signature", &m.Signature, nil)
	w.dict("Extra", &m.Extra, nil)
}

// Goodbye is [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details Dict
	Reason  string
}

func (m *Goodbye) walk(w *walker) {
	w.dict("Details", &m.Details, &closeDetails)
	w.uri("Reason", &m.Reason)
}

// Error is [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict,
// Error|uri, Arguments|list, ArgumentsKw|dict].
type Error struct {
	RequestType Code
	Request     ID
	Details     Dict
	URI         string
	Args        List
	Kwargs      Dict
}

func (m *Error) walk(w *walker) {
	w.requestType(&m.RequestType)
	w.id("Request", &m.Request)
	w.dict("Details", &m.Details, &errorDetails)
	w.uri("URI", &m.URI)
	w.payload(m.Details, &m.Args, &m.Kwargs)
}

// Publish is [PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list,
// ArgumentsKw|dict].
type Publish struct {
	Request ID
	Options Dict
	Topic   string
	Args    List
	Kwargs  Dict
}

func (m *Publish) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &publishOptions)
	w.uri("Topic", &m.Topic)
	w.payload(m.Options, &m.Args, &m.Kwargs)
}

// Published is [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     ID
	Publication ID
}

func (m *Published) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Publication", &m.Publication)
}

// Subscribe is [SUBSCRIBE, Request|id, Options|dict, Topic|uri].
type Subscribe struct {
	Request ID
	Options Dict
	Topic   string
}

func (m *Subscribe) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &subscribeOptions)
	w.patternURI("Topic", &m.Topic, m.Options)
}

// Subscribed is [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      ID
	Subscription ID
}

func (m *Subscribed) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Subscription", &m.Subscription)
}

// Unsubscribe is [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id].
// Options is autobahn's optional fourth element; it is sent only when non-empty.
type Unsubscribe struct {
	Request      ID
	Subscription ID
	Options      Dict
}

func (m *Unsubscribe) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Subscription", &m.Subscription)
	w.optDict("Options", &m.Options, &forwardOptions)
}

// Unsubscribed is [UNSUBSCRIBED, UNSUBSCRIBE.Request|id] or, when the router
// revokes a subscription, [UNSUBSCRIBED, 0, Details|dict].
type Unsubscribed struct {
	Request ID
	Details Dict
}

func (m *Unsubscribed) walk(w *walker) {
	w.revocation(&m.Request, &m.Details, &unsubscribedDetails)
}

// Event is [EVENT, Subscription|id, Publication|id, Details|dict,
// Arguments|list, ArgumentsKw|dict].
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

func (m *Event) walk(w *walker) {
	w.id("Subscription", &m.Subscription)
	w.id("Publication", &m.Publication)
	w.dict("Details", &m.Details, &eventDetails)
	w.payload(m.Details, &m.Args, &m.Kwargs)
}

// Call is [CALL, Request|id, Options|dict, Procedure|uri, Arguments|list,
// ArgumentsKw|dict].
type Call struct {
	Request   ID
	Options   Dict
	Procedure string
	Args      List
	Kwargs    Dict
}

func (m *Call) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &callOptions)
	w.uri("Procedure", &m.Procedure)
	w.payload(m.Options, &m.Args, &m.Kwargs)
}

// Cancel is [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request ID
	Options Dict
}

func (m *Cancel) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &cancelOptions)
}

// Result is [RESULT, CALL.Request|id, Details|dict, Arguments|list,
// ArgumentsKw|dict].
type Result struct {
	Request ID
	Details Dict
	Args    List
	Kwargs  Dict
}

func (m *Result) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Details", &m.Details, &resultDetails)
	w.payload(m.Details, &m.Args, &m.Kwargs)
}

// Register is [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request   ID
	Options   Dict
	Procedure string
}

func (m *Register) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &registerOptions)
	w.patternURI("Procedure", &m.Procedure, m.Options)
}

// Registered is [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      ID
	Registration ID
}

func (m *Registered) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Registration", &m.Registration)
}

// Unregister is [UNREGISTER, Request|id, REGISTERED.Registration|id].
// Options is autobahn's optional fourth element; it is sent only when non-empty.
type Unregister struct {
	Request      ID
	Registration ID
	Options      Dict
}

func (m *Unregister) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Registration", &m.Registration)
	w.optDict("Options", &m.Options, &forwardOptions)
}

// Unregistered is [UNREGISTERED, UNREGISTER.Request|id] or, when the router
// revokes a registration, [UNREGISTERED, 0, Details|dict].
type Unregistered struct {
	Request ID
	Details Dict
}

func (m *Unregistered) walk(w *walker) {
	w.revocation(&m.Request, &m.Details, &unregisteredDetails)
}

// Invocation is [INVOCATION, Request|id, REGISTERED.Registration|id,
// Details|dict, Arguments|list, ArgumentsKw|dict].
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

func (m *Invocation) walk(w *walker) {
	w.id("Request", &m.Request)
	w.id("Registration", &m.Registration)
	w.dict("Details", &m.Details, &invocationDetails)
	w.payload(m.Details, &m.Args, &m.Kwargs)
}

// Interrupt is [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request ID
	Options Dict
}

func (m *Interrupt) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &interruptOptions)
}

// Yield is [YIELD, INVOCATION.Request|id, Options|dict, Arguments|list,
// ArgumentsKw|dict].
type Yield struct {
	Request ID
	Options Dict
	Args    List
	Kwargs  Dict
}

func (m *Yield) walk(w *walker) {
	w.id("Request", &m.Request)
	w.dict("Options", &m.Options, &yieldOptions)
	w.payload(m.Options, &m.Args, &m.Kwargs)
}

func (*Hello) Code() Code        { return CodeHello }
func (*Welcome) Code() Code      { return CodeWelcome }
func (*Abort) Code() Code        { return CodeAbort }
func (*Challenge) Code() Code    { return CodeChallenge }
func (*Authenticate) Code() Code { return CodeAuthenticate }
func (*Goodbye) Code() Code      { return CodeGoodbye }
func (*Error) Code() Code        { return CodeError }
func (*Publish) Code() Code      { return CodePublish }
func (*Published) Code() Code    { return CodePublished }
func (*Subscribe) Code() Code    { return CodeSubscribe }
func (*Subscribed) Code() Code   { return CodeSubscribed }
func (*Unsubscribe) Code() Code  { return CodeUnsubscribe }
func (*Unsubscribed) Code() Code { return CodeUnsubscribed }
func (*Event) Code() Code        { return CodeEvent }
func (*Call) Code() Code         { return CodeCall }
func (*Cancel) Code() Code       { return CodeCancel }
func (*Result) Code() Code       { return CodeResult }
func (*Register) Code() Code     { return CodeRegister }
func (*Registered) Code() Code   { return CodeRegistered }
func (*Unregister) Code() Code   { return CodeUnregister }
func (*Unregistered) Code() Code { return CodeUnregistered }
func (*Invocation) Code() Code   { return CodeInvocation }
func (*Interrupt) Code() Code    { return CodeInterrupt }
func (*Yield) Code() Code        { return CodeYield }

// String hides the signature so that secrets never reach logs via %v.
func (a *Authenticate) String() string {
	return fmt.Sprintf("AUTHENTICATE{Signature: <redacted %d bytes>, Extra: %v}", len(a.Signature), a.Extra)
}

// GoString hides the signature from %#v as well.
func (a *Authenticate) GoString() string { return a.String() }
