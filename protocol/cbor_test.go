package protocol

import (
	"bufio"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCBORTags checks what each accepted CBOR tag decodes to (see
// cborDecoder.tagged); refused tags are in TestUnmarshalRejects.
func TestCBORTags(t *testing.T) {
	call := func(args ...any) Message {
		return &Call{Request: 1, Options: Dict{}, Procedure: "a", Args: List(args)}
	}
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"uint8 typed array", "85 18 30 01 a0 61 61 81 d8 40 43 010203", call([]byte{1, 2, 3})},
		{"empty uint8 typed array", "85 18 30 01 a0 61 61 81 d8 40 40", call([]byte{})},
		{"indefinite uint8 typed array", "85 18 30 01 a0 61 61 81 d8 40 5f 41 01 41 02 ff", call([]byte{1, 2})},
		{"uint8 typed array in kwargs", "86 18 30 01 a0 61 61 80 a1 61 62 d8 40 41 09", &Call{Request: 1, Options: Dict{}, Procedure: "a", Kwargs: Dict{"b": []byte{9}}}},
		{"bignum", "85 18 30 01 a0 61 61 83 c2 41 01 c2 48 8000000000000000 c2 49 00 ffffffffffffffff", call(int64(1), uint64(1<<63), uint64(math.MaxUint64))},
		{"negative bignum", "85 18 30 01 a0 61 61 82 c3 41 01 c3 48 7fffffffffffffff", call(int64(-2), int64(math.MinInt64))},
		{"date text", "85 18 30 01 a0 61 61 81 c0 74 323031332d30332d32315432303a30343a30305a", call("2013-03-21T20:04:00Z")},
		{"epoch int and float", "85 18 30 01 a0 61 61 82 c1 1a 514b67b0 c1 fb 41d452d9ec200000", call(int64(1363896240), 1363896240.5)},
		{"uri and regex", "85 18 30 01 a0 61 61 82 d8 20 63 612f62 d8 23 62 2e2a", call("a/b", ".*")},
		{"set", "85 18 30 01 a0 61 61 81 d9 0102 82 01 02", call(List{int64(1), int64(2)})},
		{"self-described message", "d9 d9f7 85 18 30 01 a0 61 61 81 d8 40 41 07", call([]byte{7})},
		{"tag on the request id", "85 18 30 c2 41 05 a0 61 61 80", &Call{Request: 5, Options: Dict{}, Procedure: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CBOR.Unmarshal(unhex(tt.in))
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			// Tags are never sent: binary goes out as a byte string.
			b, err := CBOR.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := CBOR.Unmarshal(b); err != nil || !sameMessage(got, again) {
				t.Errorf("re-encoded %x: %v, %v", b, again, err)
			}
		})
	}
	// Nested tags count towards the nesting limit.
	deep := unhex("85 18 30 01 a0 61 61 81")
	for range 70 {
		deep = append(deep, 0xd9, 0xd9, 0xf7)
	}
	deep = append(deep, 0x01)
	if _, err := CBOR.Unmarshal(deep); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("70 nested tags: %v", err)
	}
}

// autobahnCBOR holds what each message of testdata/autobahn-cbor.txt
// (produced by autobahn-js's CBORSerializer with
// testdata/autobahn-cbor.js) must decode to, or the error it must give.
var autobahnCBOR = map[string]struct {
	want Message
	err  string
}{
	"call_uint8array_arg": {want: &Call{Request: 1, Options: Dict{}, Procedure: "com.x", Args: List{[]byte{0, 1, 2, 254, 255}}}},
	"publish_uint8array_kwarg": {want: &Publish{Request: 2, Options: Dict{"acknowledge": true}, Topic: "com.t",
		Kwargs: Dict{"blob": []byte{0, 1, 2, 254, 255}, "nested": Dict{"list": List{[]byte{0, 1, 2, 254, 255}}}}}},
	"yield_empty_uint8array": {want: &Yield{Request: 3, Options: Dict{}, Args: List{[]byte{}}}},
	"call_buffer_arg":        {want: &Call{Request: 4, Options: Dict{}, Procedure: "com.x", Args: List{[]byte{7, 8}}}},
	"call_date_arg":          {want: &Call{Request: 5, Options: Dict{}, Procedure: "com.x", Args: List{int64(1500000000)}}},
	"call_bigint_arg":        {want: &Call{Request: 6, Options: Dict{}, Procedure: "com.x", Args: List{uint64(1 << 63), int64(math.MinInt64)}}},
	"call_set_arg":           {want: &Call{Request: 7, Options: Dict{}, Procedure: "com.x", Args: List{List{"a", "b"}}}},
	"publish_enc_payload": {want: &Publish{Request: 8, Options: Dict{"enc_algo": "cryptobox", "enc_serializer": "cbor"}, Topic: "com.t",
		Args: List{[]byte{9, 9}}}},
	"call_ppt_payload": {want: &Call{Request: 9, Options: Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor"}, Procedure: "com.x",
		Args: List{[]byte{1}}}},
	"call_uint16array_arg": {err: "tag 69 is not supported"},
	"call_huge_bigint_arg": {err: "tag 2 (bignum) does not fit in 64 bits"},
}

func TestCBORFromAutobahnJS(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "autobahn-cbor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, hexData, _ := strings.Cut(sc.Text(), " ")
		tt, ok := autobahnCBOR[name]
		if !ok {
			t.Errorf("vector %q has no expectation", name)
			continue
		}
		seen[name] = true
		got, err := CBOR.Unmarshal(unhex(hexData))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s: got %v, %v; want error %q", name, got, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	for name := range autobahnCBOR {
		if !seen[name] {
			t.Errorf("vector %q missing from testdata/autobahn-cbor.txt", name)
		}
	}
}

// TestCBORVectorsCurrent regenerates the autobahn-js vectors when node and
// the pinned autobahn-js are installed (scripts/interop.sh install) and
// checks that the committed file is what autobahn-js produces today.
func TestCBORVectorsCurrent(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "testdata", "interop", "node_modules", "autobahn")); err != nil {
		t.Skip("autobahn-js not installed (scripts/interop.sh install)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	out, err := exec.Command(node, filepath.Join("testdata", "autobahn-cbor.js")).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "autobahn-cbor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("autobahn-js now encodes differently; regenerate testdata/autobahn-cbor.txt:\n%s", out)
	}
}
