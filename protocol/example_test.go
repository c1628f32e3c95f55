package protocol_test

import (
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

func ExampleSerializer_Marshal() {
	call := &protocol.Call{
		Request:   1,
		Procedure: "com.example.add",
		Args:      protocol.List{2, 3},
	}
	b, err := protocol.JSON.Marshal(call)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: [48,1,{},"com.example.add",[2,3]]
}

func ExampleSerializer_Unmarshal() {
	m, err := protocol.JSON.Unmarshal([]byte(`[48,7,{"receive_progress":true},"com.example.add",[2,3],{"x":"\u0000AQI="}]`))
	if err != nil {
		panic(err)
	}
	call := m.(*protocol.Call)
	fmt.Println(call.Request, call.Procedure, call.Args, call.Options["receive_progress"])
	fmt.Printf("%T %v\n", call.Kwargs["x"], call.Kwargs["x"])
	// Output:
	// 7 com.example.add [2 3] true
	// []uint8 [1 2]
}

func ExampleValidationError() {
	_, err := protocol.MsgPack.Unmarshal([]byte{0x94, 0x30, 0x00, 0x80, 0xa1, 'a'}) // [48, 0, {}, "a"]
	var ve *protocol.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Message, ve.Field, errors.Is(err, protocol.ErrInvalidMessage))
	}
	fmt.Println(err)
	// Output:
	// CALL Request true
	// protocol: CALL.Request: ID 0 out of range [1, 2^53]
}

func ExampleParser() {
	strict := protocol.Parser{URIs: protocol.StrictURIs}
	l := protocol.List{int64(48), int64(1), protocol.Dict{}, "com.izaber.wamp:ping"}
	_, err := protocol.FromList(l) // loose: ':' is fine
	fmt.Println(err)
	_, err = strict.FromList(l)
	fmt.Println(err)
	// Output:
	// <nil>
	// protocol: CALL.Procedure: invalid URI "com.izaber.wamp:ping"
}

func ExamplePassthru() {
	// A caller sends an end-to-end encrypted payload the router must not
	// inspect: the spec's spelling puts it as the one element of Args.
	p := protocol.Passthru{Scheme: "wamp", Serializer: "cbor", Cipher: "xsalsa20poly1305", Payload: []byte{0xca, 0xfe}}
	opts, args := p.Apply(protocol.Dict{"timeout": 5000})
	call := &protocol.Call{Request: 1, Options: opts, Procedure: "com.example.secret", Args: args}
	if err := protocol.Validate(call); err != nil {
		panic(err)
	}
	fmt.Println(opts) // fmt sorts the keys
	fmt.Println(args)

	// autobahn/crossbar's spelling: the payload replaces Args.
	m, err := protocol.JSON.Unmarshal([]byte(`[36,5,6,{"enc_algo":"cryptobox","enc_serializer":"cbor"},"\u0000yv4="]`))
	if err != nil {
		panic(err)
	}
	ev := m.(*protocol.Event)
	got, ok := protocol.PassthruOf(ev.Details, ev.Args)
	fmt.Println(ok, got.Scheme, got.Serializer, got.Autobahn, got.Payload)
	// Output:
	// map[ppt_cipher:xsalsa20poly1305 ppt_scheme:wamp ppt_serializer:cbor timeout:5000]
	// [[202 254]]
	// true cryptobox cbor true [202 254]
}

func ExampleHasFeature() {
	welcome := protocol.Dict{"roles": protocol.RouterRoles()}
	fmt.Println(protocol.HasFeature(welcome, protocol.RoleDealer, protocol.FeatureCallCanceling))
	fmt.Println(protocol.HasFeature(welcome, protocol.RoleBroker, "event_history"))
	// Output:
	// true
	// false
}

func ExampleValidate() {
	// A wrongly typed spec-defined option names the key.
	err := protocol.Validate(&protocol.Publish{Request: 1, Options: protocol.Dict{"acknowledge": 1}, Topic: "com.example.t"})
	fmt.Println(err)
	// Output: protocol: PUBLISH.Options.acknowledge: integer, want a bool
}
