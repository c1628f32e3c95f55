package router

import (
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// MatchURI reports whether a registration or subscription of pattern
// under match policy match (protocol.MatchExact, MatchPrefix or
// MatchWildcard) matches the concrete uri, as the router routes: a prefix
// is a string prefix (com.a.b matches com.a.b, com.a.bc and com.a.b.c), a
// wildcard's empty components match exactly one component each. It helps
// a PatternAuthorizer reason about the URIs a pattern reaches.
func MatchURI(pattern, match, uri string) bool {
	switch match {
	case protocol.MatchPrefix:
		return strings.HasPrefix(uri, pattern)
	case protocol.MatchWildcard:
		return newWildcardPattern(pattern).matches(strings.Split(uri, "."))
	}
	return pattern == uri
}

// Match policies of pattern-based registrations and subscriptions.
const (
	matchExact    = "exact"
	matchPrefix   = "prefix"
	matchWildcard = "wildcard"
)

// wildcardPattern is a parsed wildcard URI: empty components match exactly
// one component of any value.
type wildcardPattern struct {
	uri   string
	parts []string
	// runs holds the lengths of the literal component runs, in order; a
	// pattern with longer leading runs is more specific (spec precedence).
	runs []int
}

func newWildcardPattern(uri string) *wildcardPattern {
	p := &wildcardPattern{uri: uri, parts: strings.Split(uri, ".")}
	run := 0
	for _, c := range p.parts {
		if c == "" {
			p.runs = append(p.runs, run)
			run = 0
			continue
		}
		run++
	}
	p.runs = append(p.runs, run)
	return p
}

// matches reports whether the concrete URI, already split into parts,
// matches the pattern.
func (p *wildcardPattern) matches(parts []string) bool {
	if len(parts) != len(p.parts) {
		return false
	}
	for i, c := range p.parts {
		if c != "" && c != parts[i] {
			return false
		}
	}
	return true
}

// moreSpecific reports whether p takes precedence over q: the longest
// literal run before each wildcard wins, compared run by run; ties are
// broken by the URI string so that the choice is deterministic.
func (p *wildcardPattern) moreSpecific(q *wildcardPattern) bool {
	for i := 0; i < len(p.runs) && i < len(q.runs); i++ {
		if p.runs[i] != q.runs[i] {
			return p.runs[i] > q.runs[i]
		}
	}
	if len(p.runs) != len(q.runs) {
		return len(p.runs) < len(q.runs)
	}
	return p.uri < q.uri
}
