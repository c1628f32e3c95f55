package protocol

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A message whose only fault is an invalid URI is decoded, in every format
// and by FromList, and returned with a *URIError naming the field, so that
// a router can answer wamp.error.invalid_uri; any other fault still costs
// the message.
func TestInvalidURIKeepsTheMessage(t *testing.T) {
	tests := []struct {
		name  string
		in    []any
		want  Message
		field string
		uri   string
		match string
	}{
		{"hello realm", []any{int64(1), "realm..x", Dict{}}, &Hello{Realm: "realm..x"}, "Realm", "realm..x", ""},
		{"call", []any{int64(48), int64(7), Dict{}, "a..b", List{"x"}}, &Call{Request: 7, Procedure: "a..b", Args: List{"x"}}, "Procedure", "a..b", ""},
		{"call empty", []any{int64(48), int64(1), Dict{}, ""}, &Call{Request: 1, Procedure: ""}, "Procedure", "", ""},
		{"register whitespace", []any{int64(64), int64(2), Dict{}, "a b"}, &Register{Request: 2, Procedure: "a b"}, "Procedure", "a b", ""},
		{"register prefix", []any{int64(64), int64(2), Dict{"match": "prefix"}, "a..b"}, &Register{Request: 2, Options: Dict{"match": "prefix"}, Procedure: "a..b"}, "Procedure", "a..b", "prefix"},
		{"subscribe hash", []any{int64(32), int64(3), Dict{}, "a.#"}, &Subscribe{Request: 3, Topic: "a.#"}, "Topic", "a.#", ""},
		{"publish", []any{int64(16), int64(4), Dict{"acknowledge": true}, "a..b", List{int64(1)}, Dict{"k": "v"}},
			&Publish{Request: 4, Options: Dict{"acknowledge": true}, Topic: "a..b", Args: List{int64(1)}, Kwargs: Dict{"k": "v"}}, "Topic", "a..b", ""},
		{"error uri", []any{int64(8), int64(68), int64(5), Dict{}, "x..y"}, &Error{RequestType: CodeInvocation, Request: 5, URI: "x..y"}, "URI", "x..y", ""},
		{"goodbye reason", []any{int64(6), Dict{}, "a b"}, &Goodbye{Reason: "a b"}, "Reason", "a b", ""},
	}
	for _, tt := range tests {
		bs := foreignBytes(t, tt.in)
		check := func(how string, m Message, err error) {
			t.Helper()
			var ue *URIError
			if !errors.As(err, &ue) {
				t.Fatalf("%s %s: err = %v, want a *URIError", tt.name, how, err)
			}
			if ue.Message != tt.want.Code() || ue.Field != tt.field || ue.URI != tt.uri || ue.Match != tt.match {
				t.Errorf("%s %s: URIError %v.%s URI %q match %q, want %v.%s %q %q", tt.name, how, ue.Message, ue.Field, ue.URI, ue.Match, tt.want.Code(), tt.field, tt.uri, tt.match)
			}
			var ve *ValidationError
			if !errors.Is(err, ErrInvalidMessage) || !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("%s %s: %v does not match ErrInvalidMessage and *ValidationError", tt.name, how, err)
			}
			if diff := cmp.Diff(ToList(tt.want), ToList(m)); diff != "" {
				t.Errorf("%s %s: message (-want +got):\n%s", tt.name, how, diff)
			}
		}
		m, err := FromList(tt.in)
		check("FromList", m, err)
		for ser, b := range bs {
			m, err := ser.Unmarshal(b)
			check(ser.Name(), m, err)
		}
	}

	// Other faults win, before or after the URI.
	bad := [][]any{
		{int64(48), int64(0), Dict{}, "a..b"},                 // ID 0
		{int64(48), int64(1), Dict{}, "a..b", "not a list"},   // Args
		{int64(48), int64(1), Dict{"timeout": "x"}, "a..b"},   // typed option
		{int64(32), int64(1), Dict{"match": "regex"}, "a..b"}, // match policy
		{int64(1), "realm..x", List{}},                        // Details
		{int64(16), int64(1), Dict{}, "a..b", List{}, List{}}, // Kwargs
	}
	for _, l := range bad {
		for ser, b := range foreignBytes(t, l) {
			m, err := ser.Unmarshal(b)
			var ue *URIError
			if m != nil || err == nil || errors.As(err, &ue) {
				t.Errorf("%s %v: got %v, %v; want no message and a non-URI error", ser.Name(), l, m, err)
			}
		}
	}

	// Sending stays strict.
	if _, err := JSON.Marshal(&Call{Request: 1, Procedure: "a..b"}); !errors.As(err, new(*URIError)) {
		t.Errorf("Marshal of an invalid URI: %v, want a *URIError", err)
	}
}
