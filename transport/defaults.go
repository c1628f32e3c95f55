package transport

import "github.com/zabertech/go-izaber-wamp/protocol"

// defaultSerializers is the default offer order: CBOR, MsgPack, JSON.
func defaultSerializers() []protocol.Serializer {
	return []protocol.Serializer{protocol.CBOR, protocol.MsgPack, protocol.JSON}
}
