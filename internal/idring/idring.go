// Package idring is a small bounded set of recently seen WAMP ids, the
// oldest forgotten first. The router and the session use it to recognise
// late input chunks of progressive call invocations that already ended.
package idring

// Size is how many ids a Ring remembers.
const Size = 64

// Ring remembers the last Size ids added. The zero value is empty and
// ready; it is not safe for concurrent use (its owner's lock guards it).
type Ring struct {
	ids  [Size]uint64
	next int
}

// Add remembers id, forgetting the oldest one when full.
func (r *Ring) Add(id uint64) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % Size
}

// Has reports whether id is among the remembered ones; 0 never is.
func (r *Ring) Has(id uint64) bool {
	if id == 0 {
		return false
	}
	for _, v := range r.ids {
		if v == id {
			return true
		}
	}
	return false
}
