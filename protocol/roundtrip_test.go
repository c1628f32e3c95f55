package protocol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var msgCmp = cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateNaNs()}

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
