package protocol

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The seed corpora live in testdata/fuzz/<Target>/ (one file per message
// type and serializer, plus malformed inputs); f.Add adds the in-memory
// samples too so a plain `go test` exercises them.

func FuzzJSONUnmarshal(f *testing.F)    { fuzzUnmarshal(f, JSON) }
func FuzzMsgPackUnmarshal(f *testing.F) { fuzzUnmarshal(f, MsgPack) }
func FuzzCBORUnmarshal(f *testing.F)    { fuzzUnmarshal(f, CBOR) }

var fuzzCmp = cmp.Options{cmpopts.EquateNaNs()}

func fuzzUnmarshal(f *testing.F, s Serializer) {
	for _, m := range sampleMessages() {
		b, err := s.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := s.Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not match ErrInvalidMessage", err)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("decoded message does not validate: %v", err)
		}
		checkReencode(t, s, m, true)
		// Other serializers may refuse some values (NaN or NUL-led
		// strings in JSON) but must never change a message they accept.
		for _, o := range serializers {
			if o != s {
				checkReencode(t, o, m, false)
			}
		}
	})
}

// checkReencode marshals m with s and requires the decoded copy to be equal.
func checkReencode(t *testing.T, s Serializer, m Message, mustEncode bool) {
	t.Helper()
	b, err := s.Marshal(m)
	if err != nil {
		var ee *EncodeError
		if mustEncode || !errors.As(err, &ee) {
			t.Fatalf("%s: re-encoding a decoded %v failed: %v", s.Name(), m.Code(), err)
		}
		return
	}
	m2, err := s.Unmarshal(b)
	if err != nil {
		t.Fatalf("%s: decoding our own encoding %q failed: %v", s.Name(), b, err)
	}
	if diff := cmp.Diff(m, m2, fuzzCmp); diff != "" {
		t.Fatalf("%s: re-decoded message differs (-first +second):\n%s", s.Name(), diff)
	}
}

// FuzzFromList feeds JSON-decoded generic values to FromList.
func FuzzFromList(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := JSON.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := getJSONDecoder(data)
		v, err := d.document()
		putJSONDecoder(d)
		if err != nil {
			return
		}
		l, ok := v.(List)
		if !ok {
			return
		}
		m, err := FromList(l)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("FromList error %T %v is not a *ValidationError", err, err)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("FromList result does not validate: %v", err)
		}
		m2, err := FromList(ToList(m))
		if err != nil {
			t.Fatalf("FromList(ToList(m)): %v", err)
		}
		if diff := cmp.Diff(m, m2, fuzzCmp); diff != "" {
			t.Fatalf("list round trip differs:\n%s", diff)
		}
		for _, s := range serializers {
			checkReencode(t, s, m, true)
		}
	})
}
