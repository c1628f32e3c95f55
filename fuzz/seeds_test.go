package fuzz

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz")

// TestSeedCorpus keeps the committed seed corpus (testdata/fuzz/<Target>/)
// equal to the seeds in the code; go test -run TestSeedCorpus -update
// rewrites it. Inputs the fuzzer finds are added next to them by hand
// (as regression-<name> files), which this test leaves alone.
func TestSeedCorpus(t *testing.T) {
	for target, seeds := range map[string][][]byte{
		"FuzzRouterSessions": routerSeeds(),
		"FuzzHostileRouter":  clientSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i, seed := range seeds {
			path := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(seed)) + ")\n"
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := readCorpusFile(path)
			if err != nil || !sameInput(got, seed) {
				t.Errorf("%s is not the seed in the code (err %v); run go test ./fuzz -run TestSeedCorpus -update", path, err)
			}
		}
	}
}

// readCorpusFile reads a one-value go fuzz corpus file.
func readCorpusFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	body, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
	body, ok2 := strings.CutSuffix(body, ")\n")
	if !ok || !ok2 {
		return nil, fmt.Errorf("not a corpus file")
	}
	s, err := strconv.Unquote(body)
	return []byte(s), err
}

// sameInput compares two inputs record by record; frames are equal when
// their bytes are, or when they decode to the same message (the encoders
// write dict keys in map order, so seeds are not byte-stable).
func sameInput(a, b []byte) bool {
	ra, rb := records(a), records(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if ra[i].sel != rb[i].sel {
			return false
		}
		if string(ra[i].frame) == string(rb[i].frame) {
			continue
		}
		same := false
		for _, s := range serializers {
			ma, ea := s.Unmarshal(ra[i].frame)
			mb, eb := s.Unmarshal(rb[i].frame)
			if ea == nil && eb == nil && reflect.DeepEqual(protocol.ToList(ma), protocol.ToList(mb)) {
				same = true
				break
			}
		}
		if !same {
			return false
		}
	}
	return true
}
