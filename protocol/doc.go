// Package protocol is the bottom layer of izaber-wamp: every WAMP v2 message
// as a Go type, conversion to and from the generic list form with validation,
// and the JSON, MessagePack and CBOR serializers.
//
// It performs no I/O. The transport package moves the bytes that a
// Serializer produces; the session package gives the messages meaning.
//
// Payload values (Args, Kwargs, Details, Options) use a small set of Go types
// after decoding, whatever the serializer: nil, bool, int64 (uint64 for
// integers above math.MaxInt64), float64, string, []byte, List and Dict.
// Encoding accepts those plus the other Go integer, float and slice/map types.
package protocol
