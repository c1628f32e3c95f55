package protocol

import (
	"errors"
	"fmt"
	"testing"
)

func TestSerializerLookup(t *testing.T) {
	tests := []struct {
		s        Serializer
		name, sp string
		id       byte
		text     bool
	}{
		{JSON, "json", "wamp.2.json", 1, true},
		{MsgPack, "msgpack", "wamp.2.msgpack", 2, false},
		{CBOR, "cbor", "wamp.2.cbor", 3, false},
	}
	for _, tt := range tests {
		if tt.s.Name() != tt.name || tt.s.Subprotocol() != tt.sp || tt.s.RawSocketID() != tt.id || tt.s.TextFrames() != tt.text {
			t.Errorf("%s: got name %q sp %q id %d text %v", tt.name, tt.s.Name(), tt.s.Subprotocol(), tt.s.RawSocketID(), tt.s.TextFrames())
		}
		if s, err := SerializerByName(tt.name); err != nil || s != tt.s {
			t.Errorf("SerializerByName(%q) = %v, %v", tt.name, s, err)
		}
		if s, err := SerializerBySubprotocol(tt.sp); err != nil || s != tt.s {
			t.Errorf("SerializerBySubprotocol(%q) = %v, %v", tt.sp, s, err)
		}
		if s, err := SerializerByRawSocketID(tt.id); err != nil || s != tt.s {
			t.Errorf("SerializerByRawSocketID(%d) = %v, %v", tt.id, s, err)
		}
	}
	if _, err := SerializerByName("ubjson"); err == nil {
		t.Error("SerializerByName(ubjson): no error")
	}
	if _, err := SerializerBySubprotocol("wamp.2.json.batched"); err == nil {
		t.Error("SerializerBySubprotocol(batched): no error")
	}
	if _, err := SerializerByRawSocketID(4); err == nil {
		t.Error("SerializerByRawSocketID(4): no error")
	}
}

func TestValidationErrorText(t *testing.T) {
	_, err := FromList(List{int64(48), int64(1), Dict{}, "a..b"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("err = %v, want *ValidationError matching ErrInvalidMessage", err)
	}
	if want := `protocol: CALL.Procedure: invalid URI "a..b"`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if ve.Message != CodeCall || ve.Field != "Procedure" {
		t.Errorf("got Message %v Field %q", ve.Message, ve.Field)
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func TestRolesDictAndHasFeature(t *testing.T) {
	hello := Dict{"roles": ClientRoles()}
	if !HasFeature(hello, RoleCallee, FeatureCallCanceling) {
		t.Error("client roles lack callee.call_canceling")
	}
	if HasFeature(hello, RoleBroker, FeatureSessionMetaAPI) || HasFeature(nil, RoleCallee, FeatureCallCanceling) {
		t.Error("HasFeature invents a feature")
	}
	// A non-boolean feature value is not an announcement.
	odd := Dict{"roles": Dict{RoleCallee: Dict{"features": Dict{FeatureCallCanceling: int64(1)}}}}
	if HasFeature(odd, RoleCallee, FeatureCallCanceling) {
		t.Error("integer 1 taken as true")
	}
	// Fresh values: modifying one does not change the next.
	r := RouterRoles()
	r[RoleBroker].(Dict)["features"].(Dict)["x"] = true
	if HasFeature(Dict{"roles": RouterRoles()}, RoleBroker, "x") {
		t.Error("RouterRoles shares state between calls")
	}
	// The router keeps no event history, so it must not say so.
	if HasFeature(Dict{"roles": RouterRoles()}, RoleBroker, "event_history") {
		t.Error("router announces event_history")
	}
}
