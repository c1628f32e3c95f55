package protocol

import (
	"encoding/json"
	"testing"
)

// Benchmarks: encode and decode of four messages with each serializer, and
// a baseline doing the same with encoding/json on the generic []any form.
// Compare ratios within one run:
//
//	go test -run '^$' -bench . -benchmem ./protocol/

func benchMessages() []struct {
	name string
	m    Message
} {
	blob := make([]byte, 64<<10)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	return []struct {
		name string
		m    Message
	}{
		{"SmallCall", &Call{Request: 12345, Options: Dict{}, Procedure: "com.izaber.wamp.test.add",
			Args: List{int64(1), "two", 3.5}, Kwargs: Dict{"flag": true, "name": "zaber"}}},
		{"Result", &Result{Request: 12345, Details: Dict{}, Args: List{int64(42), "done"}}},
		{"Event", &Event{Subscription: 5555, Publication: 4503599627370497, Details: Dict{"topic": "com.izaber.events.moved"},
			Args: List{"device 1", 12.5}, Kwargs: Dict{"axis": int64(2)}}},
		{"BinaryCall64K", &Call{Request: 7, Options: Dict{}, Procedure: "com.izaber.wamp.upload", Args: List{blob}}},
	}
}

const baselineName = "encoding_json"

func BenchmarkEncode(b *testing.B) {
	for _, bm := range benchMessages() {
		b.Run(bm.name+"/"+baselineName, func(b *testing.B) {
			l := ToList(bm.m)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(l); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, s := range serializers {
			b.Run(bm.name+"/"+s.Name(), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Marshal(bm.m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages() {
		b.Run(bm.name+"/"+baselineName, func(b *testing.B) {
			data, err := json.Marshal(ToList(bm.m))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var v []any
				if err := json.Unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, s := range serializers {
			b.Run(bm.name+"/"+s.Name(), func(b *testing.B) {
				data, err := s.Marshal(bm.m)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Unmarshal(data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
