package protocol

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var msgCmp = cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateNaNs()}

// encodeDecode marshals m with s and unmarshals the bytes, failing the
// test on an error; it returns both.
func encodeDecode(t *testing.T, s Serializer, m Message) ([]byte, Message) {
	t.Helper()
	b, err := s.Marshal(m)
	if err != nil {
		t.Fatalf("%s %v: Marshal: %v", s.Name(), m.Code(), err)
	}
	got, err := s.Unmarshal(b)
	if err != nil {
		t.Fatalf("%s %v: Unmarshal(%q): %v", s.Name(), m.Code(), b, err)
	}
	return b, got
}

func TestRoundTripAllSerializers(t *testing.T) {
	seen := map[Code]bool{}
	for _, s := range []Serializer{JSON, MsgPack, CBOR} {
		for _, m := range sampleMessages() {
			seen[m.Code()] = true
			t.Run(s.Name()+"/"+m.Code().String(), func(t *testing.T) {
				b, err := s.Marshal(m)
				if err != nil {
					t.Fatalf("Marshal: %v", err)
				}
				got, err := s.Unmarshal(b)
				if err != nil {
					t.Fatalf("Unmarshal(%q): %v", b, err)
				}
				if diff := cmp.Diff(m, got, msgCmp); diff != "" {
					t.Errorf("round trip mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
	if len(seen) != len(codeNames) {
		t.Errorf("samples cover %d message types, want %d", len(seen), len(codeNames))
	}
}

func TestListRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		got, err := FromList(ToList(m))
		if err != nil {
			t.Errorf("%v: FromList: %v", m.Code(), err)
			continue
		}
		if diff := cmp.Diff(m, got, msgCmp); diff != "" {
			t.Errorf("%v mismatch (-want +got):\n%s", m.Code(), diff)
		}
	}
}

// TestRoundTripBigPayloads covers the right-sized-buffer path of Marshal,
// including a payload whose JSON form outgrows the estimate (escapes).
func TestRoundTripBigPayloads(t *testing.T) {
	blob := make([]byte, 70000)
	for i := range blob {
		blob[i] = byte(i * 31)
	}
	ctl := strings.Repeat("\x01\"\\é", 10000)
	msgs := []Message{
		&Call{Request: 1, Procedure: "com.x", Args: List{blob}},
		&Result{Request: 1, Args: List{ctl, blob[:100]}, Kwargs: Dict{"k": ctl}},
		&Event{Subscription: 1, Publication: 2, Args: List{strings.Repeat("a", 20000)}},
		&Yield{Request: 3, Kwargs: Dict{"blob": blob, "nested": List{blob}}},
	}
	for _, s := range serializers {
		for _, m := range msgs {
			_, got := encodeDecode(t, s, m)
			// ToList maps the samples' nil dicts to the empty ones decoded.
			if !sameValue(ToList(m), ToList(got)) {
				t.Errorf("%s %v: round trip changed the message", s.Name(), m.Code())
			}
		}
	}
}

// TestUnmarshalKeepsNothing: a decoded message shares no memory with the
// input, which the caller may reuse at once (the transport decodes from
// its read buffers).
func TestUnmarshalKeepsNothing(t *testing.T) {
	big := strings.Repeat("x", 5000) // beyond the inputs copied whole
	msgs := append(sampleMessages(),
		&Call{Request: 1, Procedure: "com.x", Args: List{big, []byte(big), "short", []byte("bin")},
			Kwargs: Dict{"k": big, "b": []byte("kw")}})
	for _, s := range []Serializer{JSON, MsgPack, CBOR} {
		for _, m := range msgs {
			b, got := encodeDecode(t, s, m)
			for i := range b {
				b[i] = '#'
			}
			if diff := cmp.Diff(m, got, msgCmp); diff != "" {
				t.Errorf("%s %v changed with its input (-want +got):\n%s", s.Name(), m.Code(), diff)
			}
		}
	}
}

// TestAppendMarshal: AppendMarshal appends what Marshal returns, also for
// payloads that move to a buffer of their own, and leaves b's contents.
func TestAppendMarshal(t *testing.T) {
	big := make([]byte, 70000)
	msgs := append(sampleMessages(), &Call{Request: 1, Procedure: "com.x", Args: List{big}})
	for _, s := range []Serializer{JSON, MsgPack, CBOR} {
		for _, m := range msgs {
			want, err := s.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix")
			got, err := AppendMarshal(s, append(make([]byte, 0, 64), prefix...), m)
			if err != nil {
				t.Fatalf("%s %v: %v", s.Name(), m.Code(), err)
			}
			if string(got[:len(prefix)]) != "prefix" || len(got)-len(prefix) != len(want) {
				t.Fatalf("%s %v: appended %d bytes, want %d", s.Name(), m.Code(), len(got)-len(prefix), len(want))
			}
			// Dicts may come out in another order: compare decoded.
			back, err := s.Unmarshal(got[len(prefix):])
			if err != nil {
				t.Fatalf("%s %v: appended bytes do not decode: %v", s.Name(), m.Code(), err)
			}
			if diff := cmp.Diff(m, back, msgCmp); diff != "" {
				t.Errorf("%s %v: (-want +got):\n%s", s.Name(), m.Code(), diff)
			}
		}
		if _, err := AppendMarshal(s, nil, &Call{Request: 0, Procedure: "com.x"}); err == nil {
			t.Errorf("%s: invalid message encoded", s.Name())
		}
	}
}
