// Package protocol is the bottom layer of izaber-wamp: every WAMP v2 message
// as a Go type, conversion to and from the generic list form with validation,
// and the JSON, MessagePack and CBOR serializers.
//
// It performs no I/O. The transport package moves the bytes that a
// Serializer produces; the session package gives the messages meaning.
//
// # Names
//
// The URIs and names the specification defines live here once: error and
// close URIs (URINoSuchProcedure, URICloseNormal, ...), meta API procedures
// and topics (MetaSessionGet, ...), role and feature names (RoleCallee,
// FeatureCallCanceling, ...), and the role/feature lists this module
// announces: ClientRoles (HELLO, package session) and RouterRoles
// (WELCOME, package router and session.Accept). Other packages refer to
// these constants rather than spelling the strings again; HasFeature reads
// an announcement.
//
// # Values
//
// Payload values (Args, Kwargs, Details, Options) use a small set of Go types
// after decoding, whatever the serializer: nil, bool, int64 (uint64 for
// integers above math.MaxInt64), float64, string, []byte, List and Dict.
// Decoding the same message from JSON, MessagePack or CBOR gives equal
// values. Integers are exact (no float64 rounding); numbers become float64
// only when the format says float (JSON: a fraction or an exponent), and the
// encoders keep floats floats (JSON writes 2.0, not 2).
//
// Encoding accepts those types plus the other Go integer and float types,
// named types, slices, arrays and string-keyed maps of anything encodable;
// structs and json.Marshaler/encoding.TextMarshaler values are converted
// through encoding/json, so they look the same in every format. Nil maps
// and slices encode as empty dicts and lists.
//
// JSON carries binary as a string of a NUL character followed by base64, both
// ways; a text string starting with NUL therefore cannot be sent as JSON and
// Marshal refuses it. MessagePack and CBOR carry binary natively.
//
// # Validation
//
// FromList, every Unmarshal and Marshal check the element count per message
// type (the lengths autobahn/crossbar accept, plus ABORT's optional spec
// payload), IDs (integers in [1, 2^53]; 0 only as the Request of the
// UNSUBSCRIBED/UNREGISTERED revocation form; floats never), URIs (LooseURIs
// by default; SUBSCRIBE and REGISTER allow the prefix and wildcard shapes
// their Options "match" asks for), dict fields, and ERROR.RequestType.
// Parser{URIs: StrictURIs} applies the strict URI rule instead.
// Options/Details keys are not checked here.
//
// Every failure is a *ValidationError (naming message and field), a
// *DecodeError (malformed bytes) or an *EncodeError (a value the format cannot
// carry); all match ErrInvalidMessage with errors.Is.
//
// # Hostile input
//
// Decoders never panic and never allocate from a declared length that the
// remaining input cannot hold. Nesting is limited to 64 lists/dicts (the
// message itself included), strings must be valid UTF-8, MessagePack
// extension types, CBOR tags and non-string map keys are refused. JSON is
// parsed by a scanner of this package; MessagePack is walked with the
// github.com/vmihailenco/msgpack/v5 decoder primitives; CBOR is first checked
// by github.com/fxamacker/cbor/v2 (DecMode.Wellformed with this package's
// limits) and then walked. The fuzz targets (FuzzJSONUnmarshal,
// FuzzMsgPackUnmarshal, FuzzCBORUnmarshal, FuzzFromList) check that anything
// accepted re-encodes to an equal message.
//
// Optional trailing Args/Kwargs are omitted on the wire when empty (Args is
// sent as [] when only Kwargs is set) and accepted when absent; decoded
// messages have nil Args/Kwargs when the peer sent none or empty ones.
package protocol
