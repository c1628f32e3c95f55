package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromListRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     List
		code   Code
		field  string
		reason string // substring of the error text
	}{
		{"empty", List{}, 0, "", "empty message"},
		{"code not int", List{"48", int64(1)}, 0, "", "message type is string"},
		{"code float", List{48.0, int64(1), Dict{}, "a"}, 0, "", "message type is float"},
		{"unknown code", List{int64(7), int64(1)}, 0, "", "unknown message type 7"},
		{"unknown code 337", List{int64(337), int64(1)}, 0, "", "unknown message type 337"},
		{"negative code", List{int64(-48)}, 0, "", "unknown message type -48"},
		{"huge code", List{uint64(1 << 63)}, 0, "", "unknown message type"},
		{"CALL too short", List{int64(48), int64(1), Dict{}}, CodeCall, "", "3 elements, want 4 to 6"},
		{"CALL too long", List{int64(48), int64(1), Dict{}, "a", List{}, Dict{}, "x"}, CodeCall, "", "7 elements"},
		{"HELLO too long", List{int64(1), "realm1", Dict{}, Dict{}}, CodeHello, "", "4 elements, want 3"},
		{"SUBSCRIBE 5", List{int64(32), int64(1), Dict{}, "a", List{}}, CodeSubscribe, "", "5 elements, want 4"},
		{"UNSUBSCRIBED 4", List{int64(35), int64(1), Dict{}, Dict{}}, CodeUnsubscribed, "", "want 2 or 3"},
		{"ID zero", List{int64(48), int64(0), Dict{}, "a"}, CodeCall, "Request", "ID 0 out of range"},
		{"ID negative", List{int64(48), int64(-1), Dict{}, "a"}, CodeCall, "Request", "ID -1 out of range"},
		{"ID 2^53+1", List{int64(17), int64(1), int64(MaxID + 1)}, CodePublished, "Publication", "ID 9007199254740993 out of range"},
		{"ID uint64", List{int64(2), uint64(1 << 63), Dict{}}, CodeWelcome, "Session", "out of range"},
		{"ID float", List{int64(48), 1.0, Dict{}, "a"}, CodeCall, "Request", "ID is a float"},
		{"ID string", List{int64(50), "1", Dict{}}, CodeResult, "Request", "ID is string"},
		{"ID bool", List{int64(50), true, Dict{}}, CodeResult, "Request", "ID is bool"},
		{"dict is list", List{int64(48), int64(1), List{}, "a"}, CodeCall, "Options", "list, want a dict"},
		{"dict is null", List{int64(1), "realm1", nil}, CodeHello, "Details", "null, want a dict"},
		{"dict other map", List{int64(1), "realm1", map[any]any{1: 2}}, CodeHello, "Details", "want a dict"},
		{"uri not string", List{int64(48), int64(1), Dict{}, int64(5)}, CodeCall, "Procedure", "integer, want a string"},
		{"uri empty component", List{int64(48), int64(1), Dict{}, "a..b"}, CodeCall, "Procedure", `invalid URI "a..b"`},
		{"uri empty", List{int64(16), int64(1), Dict{}, ""}, CodePublish, "Topic", `invalid URI ""`},
		{"uri hash", List{int64(8), int64(48), int64(1), Dict{}, "wamp.error#x"}, CodeError, "URI", "invalid URI"},
		{"uri space", List{int64(6), Dict{}, "wamp.close normal"}, CodeGoodbye, "Reason", "invalid URI"},
		{"realm bad", List{int64(1), "realm.", Dict{}}, CodeHello, "Realm", "invalid URI"},
		{"abort reason", List{int64(3), Dict{}, "."}, CodeAbort, "Reason", "invalid URI"},
		{"args not list", List{int64(48), int64(1), Dict{}, "a", Dict{}}, CodeCall, "Args", "dict, want a list"},
		{"kwargs not dict", List{int64(48), int64(1), Dict{}, "a", List{}, List{}}, CodeCall, "Kwargs", "list, want a dict"},
		{"error type 50", List{int64(8), int64(50), int64(1), Dict{}, "wamp.error.x"}, CodeError, "RequestType", "50 is not a request type"},
		{"error type string", List{int64(8), "call", int64(1), Dict{}, "wamp.error.x"}, CodeError, "RequestType", "string is not a request type"},
		{"error type 0", List{int64(8), int64(0), int64(1), Dict{}, "wamp.error.x"}, CodeError, "RequestType", "is not a request type"},
		{"unsubscribed 0 without details", List{int64(35), int64(0)}, CodeUnsubscribed, "Request", "ID 0 out of range"},
		{"unregistered bad details", List{int64(67), int64(0), "x"}, CodeUnregistered, "Details", "want a dict"},
		{"subscribe prefix needs prefix match", List{int64(32), int64(1), Dict{}, "a."}, CodeSubscribe, "Topic", "invalid URI"},
		{"subscribe wildcard needs wildcard match", List{int64(32), int64(1), Dict{"match": "prefix"}, "a..b"}, CodeSubscribe, "Topic", `for match "prefix"`},
		{"register unknown match", List{int64(64), int64(1), Dict{"match": "regex"}, "a"}, CodeRegister, "Options.match", `"regex", want one of "exact", "prefix", "wildcard"`},
		{"register match not string", List{int64(64), int64(1), Dict{"match": int64(1)}, "a"}, CodeRegister, "Options.match", "integer, want one of"},
		{"challenge method not string", List{int64(4), nil, Dict{}}, CodeChallenge, "AuthMethod", "null, want a string"},
		{"unsubscribe options not dict", List{int64(34), int64(1), int64(2), List{}}, CodeUnsubscribe, "Options", "want a dict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := FromList(tt.in)
			if err == nil {
				t.Fatalf("FromList(%v) = %v, want error", tt.in, m)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %v does not match ErrInvalidMessage", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			if ve.Message != tt.code || ve.Field != tt.field {
				t.Errorf("got %v.%q, want %v.%q (%v)", ve.Message, ve.Field, tt.code, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
		})
	}
}

func TestFromListAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   List
		want Message
	}{
		{"ID 2^53", List{int64(17), int64(1), int64(MaxID)}, &Published{Request: 1, Publication: MaxID}},
		{"other int types", List{48, uint8(5), Dict{}, "a"}, &Call{Request: 5, Options: Dict{}, Procedure: "a"}},
		{"payload absent", List{int64(50), int64(3), Dict{}}, &Result{Request: 3, Details: Dict{}}},
		{"empty args dropped", List{int64(50), int64(3), Dict{}, List{}}, &Result{Request: 3, Details: Dict{}}},
		{"args empty kwargs set", List{int64(50), int64(3), Dict{}, List{}, Dict{"a": int64(1)}}, &Result{Request: 3, Details: Dict{}, Kwargs: Dict{"a": int64(1)}}},
		{"zaber uri", List{int64(48), int64(1), Dict{}, "com.izaber.wamp:auth.whoami"}, &Call{Request: 1, Options: Dict{}, Procedure: "com.izaber.wamp:auth.whoami"}},
		{"revocation", List{int64(35), int64(0), Dict{"reason": "wamp.x"}}, &Unsubscribed{Details: Dict{"reason": "wamp.x"}}},
		{"unregistered empty details", List{int64(67), int64(4), Dict{}}, &Unregistered{Request: 4}},
		{"unregistered with details", List{int64(67), int64(4), Dict{"x": true}}, &Unregistered{Request: 4, Details: Dict{"x": true}}},
		{"unsubscribe empty options", List{int64(34), int64(4), int64(5), Dict{}}, &Unsubscribe{Request: 4, Subscription: 5}},
		{"subscribe wildcard", List{int64(32), int64(1), Dict{"match": "wildcard"}, ".b."}, &Subscribe{Request: 1, Options: Dict{"match": "wildcard"}, Topic: ".b."}},
		{"register prefix", List{int64(64), int64(1), Dict{"match": "prefix"}, "com.x."}, &Register{Request: 1, Options: Dict{"match": "prefix"}, Procedure: "com.x."}},
		{"abort with payload", List{int64(3), Dict{}, "wamp.x", List{"a"}}, &Abort{Details: Dict{}, Reason: "wamp.x", Args: List{"a"}}},
		{"error on invocation", List{int64(8), int64(68), int64(9), Dict{}, "wamp.error.runtime_error", List{"boom"}}, &Error{RequestType: CodeInvocation, Request: 9, Details: Dict{}, URI: "wamp.error.runtime_error", Args: List{"boom"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromList(tt.in)
			if err != nil {
				t.Fatalf("FromList: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestToListOmitsEmptyPayload(t *testing.T) {
	tests := []struct {
		m    Message
		want List
	}{
		{&Call{Request: 1, Procedure: "a"}, List{int64(48), int64(1), Dict{}, "a"}},
		{&Call{Request: 1, Procedure: "a", Args: List{}, Kwargs: Dict{}}, List{int64(48), int64(1), Dict{}, "a"}},
		{&Call{Request: 1, Procedure: "a", Kwargs: Dict{"k": "v"}}, List{int64(48), int64(1), Dict{}, "a", List{}, Dict{"k": "v"}}},
		{&Call{Request: 1, Procedure: "a", Args: List{"x"}}, List{int64(48), int64(1), Dict{}, "a", List{"x"}}},
		{&Unsubscribed{Request: 3}, List{int64(35), int64(3)}},
		{&Unsubscribed{}, List{int64(35), int64(0), Dict{}}},
		{&Unregister{Request: 1, Registration: 2}, List{int64(66), int64(1), int64(2)}},
		{&Abort{Reason: "wamp.x"}, List{int64(3), Dict{}, "wamp.x"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ToList(tt.m)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.m.Code(), diff)
		}
	}
	if ToList(nil) != nil {
		t.Error("ToList(nil) != nil")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		m     Message
		field string // "" = valid
	}{
		{"ok call", &Call{Request: 1, Procedure: "com.x"}, ""},
		{"call id 0", &Call{Request: 0, Procedure: "com.x"}, "Request"},
		{"call id too big", &Call{Request: MaxID + 1, Procedure: "com.x"}, "Request"},
		{"call bad uri", &Call{Request: 1, Procedure: "com..x"}, "Procedure"},
		{"error bad type", &Error{RequestType: CodeResult, Request: 1, URI: "wamp.error.x"}, "RequestType"},
		{"revocation ok", &Unregistered{Details: Dict{"registration": int64(1)}}, ""},
		{"welcome 0", &Welcome{}, "Session"},
		{"subscribe prefix ok", &Subscribe{Request: 1, Options: Dict{"match": "prefix"}, Topic: "a."}, ""},
		{"register bad match", &Register{Request: 1, Options: Dict{"match": "x"}, Procedure: "a"}, "Options.match"},
		{"event ok", &Event{Subscription: 1, Publication: MaxID}, ""},
		{"interrupt 0", &Interrupt{}, "Request"},
		{"authenticate any", &Authenticate{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.m)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Message != tt.m.Code() {
				t.Fatalf("Validate = %v, want error on %v.%s", err, tt.m.Code(), tt.field)
			}
			for _, s := range []Serializer{JSON, MsgPack, CBOR} {
				if _, err := s.Marshal(tt.m); !errors.Is(err, ErrInvalidMessage) {
					t.Errorf("%s.Marshal accepted an invalid message: %v", s.Name(), err)
				}
			}
		})
	}
	if err := Validate(nil); err == nil {
		t.Error("Validate(nil) = nil")
	}
	for _, m := range []Message{(*Call)(nil), (*Hello)(nil), (*Authenticate)(nil)} {
		if err := Validate(m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Validate(%T nil) = %v", m, err)
		}
		if ToList(m) != nil {
			t.Errorf("ToList(%T nil) != nil", m)
		}
		for _, s := range serializers {
			if _, err := s.Marshal(m); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s.Marshal(%T nil) = %v", s.Name(), m, err)
			}
		}
	}
}

func TestURICheckers(t *testing.T) {
	tests := []struct {
		uri                 string
		loose, prefix, wild bool // LooseURIs with exact, prefix, wildcard
		strict              bool // StrictURIs exact
	}{
		{"com.example.proc", true, true, true, true},
		{"com.izaber.wamp:auth", true, true, true, false},
		{"Com.Example", true, true, true, false},
		{"a", true, true, true, true},
		{"", false, true, true, false},
		{"a.", false, true, true, false},
		{"a..b", false, false, true, false},
		{".a", false, false, true, false},
		{"a.b#", false, false, false, false},
		{"a b", false, false, false, false},
		{"a\tb", false, false, false, false},
		{"a\u00a0b", false, false, false, false},
		{"caf\u00e9.x", true, true, true, false},
		{"a_1.b_2", true, true, true, true},
		{"a-b", true, true, true, false},
		{"\xff", false, false, false, false},
	}
	for _, tt := range tests {
		got := [4]bool{
			LooseURIs.ValidURI(tt.uri, MatchExact),
			LooseURIs.ValidURI(tt.uri, MatchPrefix),
			LooseURIs.ValidURI(tt.uri, MatchWildcard),
			StrictURIs.ValidURI(tt.uri, ""),
		}
		want := [4]bool{tt.loose, tt.prefix, tt.wild, tt.strict}
		if got != want {
			t.Errorf("%q: got exact/prefix/wildcard/strict %v, want %v", tt.uri, got, want)
		}
	}
	if !StrictURIs.ValidURI("a..b", MatchWildcard) || StrictURIs.ValidURI("A..b", MatchWildcard) {
		t.Error("strict wildcard rule wrong")
	}
}

func TestStrictParser(t *testing.T) {
	in := List{int64(48), int64(1), Dict{}, "com.izaber.wamp:x"}
	if _, err := FromList(in); err != nil {
		t.Fatalf("loose FromList: %v", err)
	}
	p := Parser{URIs: StrictURIs}
	_, err := p.FromList(in)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "Procedure" {
		t.Fatalf("strict FromList = %v, want Procedure error", err)
	}
	if err := p.Validate(&Call{Request: 1, Procedure: "Com.X"}); err == nil {
		t.Error("strict Validate accepted upper case")
	}
}

func TestAuthenticateStringHidesSignature(t *testing.T) {
	m := &Authenticate{Signature: "s3cr3t-t1cket", Extra: Dict{"k": "v"}}
	for _, s := range []string{m.String(), m.GoString(), sprintf("%v", m), sprintf("%+v", m), sprintf("%#v", m), sprintf("%s", m)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("signature leaked: %s", s)
		}
		if !strings.Contains(s, "redacted") {
			t.Errorf("no redaction marker: %s", s)
		}
	}
	// Validation errors about an AUTHENTICATE must not quote the signature either.
	_, err := FromList(List{int64(5), "s3cr3t-t1cket", "notadict"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error = %v", err)
	}
}
