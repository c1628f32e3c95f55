package idring

import "testing"

func TestRing(t *testing.T) {
	var r Ring
	if r.Has(0) || r.Has(1) {
		t.Fatal("empty ring has ids")
	}
	for id := uint64(1); id <= Size+10; id++ {
		r.Add(id)
	}
	for id := uint64(1); id <= 10; id++ {
		if r.Has(id) {
			t.Errorf("forgotten id %d still there", id)
		}
	}
	for id := uint64(11); id <= Size+10; id++ {
		if !r.Has(id) {
			t.Errorf("id %d missing", id)
		}
	}
}
