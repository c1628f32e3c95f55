package protocol

import (
	"fmt"
)

// The three serializers. They are stateless values, safe for concurrent use.
var (
	// JSON is "wamp.2.json", RawSocket id 1, text frames. Binary values
	// travel as a string holding a NUL character followed by base64.
	JSON Serializer = jsonSerializer{}
	// MsgPack is "wamp.2.msgpack", RawSocket id 2, binary frames.
	MsgPack Serializer = msgpackSerializer{}
	// CBOR is "wamp.2.cbor", RawSocket id 3, binary frames.
	CBOR Serializer = cborSerializer{}
)

var allSerializers = [...]Serializer{JSON, MsgPack, CBOR}

// SerializerByName returns the serializer named "json", "msgpack" or "cbor".
func SerializerByName(name string) (Serializer, error) {
	for _, s := range allSerializers {
		if s.Name() == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("protocol: unknown serializer %q", name)
}

// SerializerByRawSocketID returns the serializer with RawSocket id 1, 2 or 3.
func SerializerByRawSocketID(id byte) (Serializer, error) {
	for _, s := range allSerializers {
		if s.RawSocketID() == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("protocol: unknown RawSocket serializer id %d", id)
}

// SerializerBySubprotocol returns the serializer for a WebSocket subprotocol
// such as "wamp.2.json". Batched variants are not supported.
func SerializerBySubprotocol(sp string) (Serializer, error) {
	for _, s := range allSerializers {
		if s.Subprotocol() == sp {
			return s, nil
		}
	}
	return nil, fmt.Errorf("protocol: unknown WebSocket subprotocol %q", sp)
}

type jsonSerializer struct{}

func (jsonSerializer) Name() string        { return "json" }
func (jsonSerializer) Subprotocol() string { return "wamp.2.json" }
func (jsonSerializer) RawSocketID() byte   { return 1 }
func (jsonSerializer) TextFrames() bool    { return true }
func (jsonSerializer) String() string      { return "json" }

type msgpackSerializer struct{}

func (msgpackSerializer) Name() string        { return "msgpack" }
func (msgpackSerializer) Subprotocol() string { return "wamp.2.msgpack" }
func (msgpackSerializer) RawSocketID() byte   { return 2 }
func (msgpackSerializer) TextFrames() bool    { return false }
func (msgpackSerializer) String() string      { return "msgpack" }

type cborSerializer struct{}

func (cborSerializer) Name() string        { return "cbor" }
func (cborSerializer) Subprotocol() string { return "wamp.2.cbor" }
func (cborSerializer) RawSocketID() byte   { return 3 }
func (cborSerializer) TextFrames() bool    { return false }
func (cborSerializer) String() string      { return "cbor" }

// decodeMessage validates the generic form produced by a decoder.
func decodeMessage(v any) (Message, error) {
	l, ok := v.(List)
	if !ok {
		return nil, invalid(0, "", "message is "+typeName(v)+", want a list")
	}
	return FromList(l)
}
