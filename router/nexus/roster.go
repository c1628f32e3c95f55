package nexus

import (
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

type rosterEntry struct {
	name       string
	session    protocol.ID
	authid     string  // whose quota the entry counts against
	created    float64 // Unix seconds
	seq        uint64  // creation order, for a stable query order
	visibility any     // "*", a role, or a list of them
	data       any
	uuid       string
	owner      string
}

func (e *rosterEntry) key() string {
	return strconv.FormatUint(e.session, 10) + "_" + e.name
}

// dict is the record returned by system.roster.register.
func (e *rosterEntry) dict() protocol.Dict {
	return protocol.Dict{
		"key":        e.key(),
		"name":       e.name,
		"session_id": int64(e.session),
		"created":    e.created,
		"visibility": e.visibility,
		"data":       e.data,
		"uuid":       e.uuid,
		"owner":      e.owner,
	}
}

// visibleTo reports whether a session of role may see e.
func (e *rosterEntry) visibleTo(role string) bool {
	if bypassRole(role) {
		return true
	}
	switch v := e.visibility.(type) {
	case string:
		return v == "*" || v == role
	case protocol.List:
		for _, x := range v {
			if s, ok := x.(string); ok && (s == "*" || s == role) {
				return true
			}
		}
	}
	return false
}

var errVisibility = errors.New("visibility must be a format like `['*']`")

// normVisibility applies Nexus's rule: nil becomes "*", any other falsy
// value is an error. Only strings and lists are meaningful.
func normVisibility(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return "*", nil
	case string:
		if x == "" {
			return nil, errVisibility
		}
		return x, nil
	case protocol.List:
		if len(x) == 0 {
			return nil, errVisibility
		}
		return x, nil
	}
	return nil, errVisibility
}

// roster holds the roster entries of live sessions, one per (session, name).
//
// Ownership: mu guards entries, perUser and seq.
type roster struct {
	mu      sync.Mutex
	seq     uint64
	entries map[protocol.ID]map[string]*rosterEntry // by session, then name
	perUser map[string]int                          // entries by authid
}

func newRoster() *roster {
	return &roster{entries: map[protocol.ID]map[string]*rosterEntry{}, perUser: map[string]int{}}
}

// register adds or replaces the entry of (session, name); a new entry
// must keep authid within limit entries (negative: no limit).
func (r *roster) register(session protocol.ID, authid, owner, name string, data, visibility any, now time.Time, limit int) (protocol.Dict, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.entries[session]
	e := m[name]
	if e == nil {
		if err := overCount("roster entries", "roster_entries", r.perUser[authid], limit); err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]*rosterEntry{}
			r.entries[session] = m
		}
		r.seq++
		e = &rosterEntry{name: name, session: session, authid: authid, seq: r.seq, uuid: newUUID(), owner: owner,
			created: float64(now.UnixNano()) / 1e9}
		m[name] = e
		r.perUser[authid]++
	}
	e.data = data
	e.visibility = visibility
	return e.dict(), nil
}

func (r *roster) unregister(session protocol.ID, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[session][name]; e != nil {
		delete(r.entries[session], name)
		r.release(e.authid, 1)
		if len(r.entries[session]) == 0 {
			delete(r.entries, session)
		}
	}
}

// release gives back n entries of authid's quota. Caller holds mu.
func (r *roster) release(authid string, n int) {
	if r.perUser[authid] -= n; r.perUser[authid] <= 0 {
		delete(r.perUser, authid)
	}
}

// dropSession removes every entry of session.
func (r *roster) dropSession(session protocol.ID) {
	r.mu.Lock()
	for _, e := range r.entries[session] {
		r.release(e.authid, 1)
	}
	delete(r.entries, session)
	r.mu.Unlock()
}

// query returns the data of the entries named name that role may see, in
// registration order.
func (r *roster) query(name, role string) protocol.List {
	type hit struct {
		seq  uint64
		data any
	}
	r.mu.Lock()
	var hits []hit
	for _, m := range r.entries {
		if e := m[name]; e != nil && e.visibleTo(role) {
			hits = append(hits, hit{e.seq, e.data})
		}
	}
	r.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool { return hits[i].seq < hits[j].seq })
	out := make(protocol.List, 0, len(hits))
	for _, h := range hits {
		out = append(out, h.data)
	}
	return out
}
