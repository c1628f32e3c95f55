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
// # One description per message
//
// Each message type describes its layout once, in its walk method next to
// its struct: its fields in wire order, each with its kind (an ID, a URI,
// a string, a dict with the types of its spec-defined keys, the payload).
// Decoding (FromList, Unmarshal), validation (Validate), the generic list
// form (ToList) and the three encoders are all driven by that description;
// the accepted element counts are derived from it. No reflection is
// involved.
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
//
// The spec-defined Options/Details keys are typed (wamp-protocol-notes
// §1.5, the same checks autobahn and therefore crossbar make): for example
// PUBLISH acknowledge, exclude_me, retain and disclose_me must be bools,
// exclude and eligible lists of IDs, exclude_authid and the other *_authid
// and *_authrole filters lists of strings; CALL timeout a non-negative
// integer, receive_progress and progress bools; SUBSCRIBE and REGISTER
// match one of exact/prefix/wildcard, REGISTER invoke one of
// single/roundrobin/random/first/last; CANCEL and INTERRUPT mode one of
// their modes; EVENT publisher, INVOCATION caller and RESULT callee IDs,
// their *_authid/*_authrole strings; forward_for a list of {session,
// authid, authrole}; HELLO/WELCOME roles dicts whose features are bools;
// the passthru keys strings. Keys not defined by the spec pass through
// unchecked. A wrongly typed key is a *ValidationError whose Field names it,
// such as "PUBLISH.Options.acknowledge: integer, want a bool": on receive
// that is a protocol violation (the router and the session answer it with
// ABORT wamp.error.protocol_violation), on send Marshal refuses the message.
//
// Every failure is a *ValidationError (naming message and field), a
// *DecodeError (malformed bytes) or an *EncodeError (a value the format cannot
// carry); all match ErrInvalidMessage with errors.Is. An invalid URI is a
// *URIError (also a *ValidationError). On receive it is the one fault that
// does not cost the message: FromList and Unmarshal return a message that
// is well formed except for a URI together with its *URIError, so that a
// router can answer ERROR (or, for HELLO's realm, ABORT)
// wamp.error.invalid_uri as the spec asks, where any other fault is a
// protocol violation.
//
// # Liberal about peers
//
// null in the Args or Kwargs position means absent, in every message with
// a payload (fox-wamp sends [RESULT, id, {}, [x], null]); nothing is ever
// sent as null. Empty Args/Kwargs are omitted on the wire (Args is sent as
// [] when only Kwargs is set) and accepted when absent; decoded messages
// have nil Args/Kwargs when the peer sent none, empty ones or null.
//
// CBOR tags: tag 64 (RFC 8746 uint8 typed array, which autobahn-js sends
// for every Uint8Array) decodes as binary; bignums (tags 2 and 3) decode as
// integers when they fit in 64 bits and are refused otherwise; tags whose
// content already is the value in another spelling give their content: 0
// (date/time text), 1 (epoch seconds), 32 (URI), 35 (regular expression),
// 258 (set, as a list) and 55799 (self-described CBOR). Every other tag is
// refused with an error naming it (other typed arrays would be misread
// without the tag). Tags are never sent.
//
// Payload passthru mode (PPT) is decoded and encoded in both of its
// spellings, the specification's ppt_* keys with the payload as the one
// binary element of Args, and autobahn/crossbar's enc_* keys with the
// payload replacing Args; both decode to Args = List{payload} with the keys
// as sent, and are re-encoded in the shape they came in. PassthruOf and
// Passthru.Apply read and build them; see Passthru.
//
// # Hostile input
//
// Decoders never panic and never allocate from a declared length that the
// remaining input cannot hold. Nesting is limited to 64 lists/dicts/tags
// (the message itself included), strings must be valid UTF-8, MessagePack
// extension types, unsupported CBOR tags and non-string map keys are
// refused. JSON is parsed by a scanner of this package; MessagePack is
// walked with the github.com/vmihailenco/msgpack/v5 decoder primitives;
// CBOR is first checked by github.com/fxamacker/cbor/v2 (DecMode.Wellformed
// with this package's limits) and then walked. The fuzz targets
// (FuzzJSONUnmarshal, FuzzMsgPackUnmarshal, FuzzCBORUnmarshal,
// FuzzFromList) check that anything accepted re-encodes to an equal
// message.
package protocol
