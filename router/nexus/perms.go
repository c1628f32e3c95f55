package nexus

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// perms is a set of Nexus permission letters.
type perms uint8

const (
	permCall        perms = 1 << iota // c
	permRegister                      // r
	permSubscribe                     // s
	permPublish                       // p
	permRosterOps                     // o
	permRosterQuery                   // q
)

const permLetters = "crspoq"

// parsePerms reads a Nexus permission string such as "crsp", "c-s-", "c+r"
// or "". '-' and ' ' are spacers; '+' after a letter marks it elevated (it
// needs a login or auth.reauthenticate within the last two minutes). The
// '!' (documentation required) modifier is refused: this router keeps no
// URI documentation.
func parsePerms(s string) (granted, elevated perms, err error) {
	var last perms
	for _, r := range s {
		switch r {
		case '-', ' ':
			last = 0
			continue
		case '+':
			if last == 0 {
				return 0, 0, fmt.Errorf("permission modifier '+' must follow a letter in %q", s)
			}
			elevated |= last
			continue
		case '!':
			return 0, 0, fmt.Errorf("permission modifier '!' is not supported (documentation-required permissions are not implemented)")
		}
		i := strings.IndexRune(permLetters, r)
		if i < 0 {
			return 0, 0, fmt.Errorf("unknown permission letter %q (want some of %q)", r, permLetters)
		}
		last = 1 << i
		granted |= last
	}
	return granted, elevated, nil
}

// String returns the letters of p in the order crspoq.
func (p perms) String() string {
	var b strings.Builder
	for i := range len(permLetters) {
		if p&(1<<i) != 0 {
			b.WriteByte(permLetters[i])
		}
	}
	return b.String()
}

// segment is one element of a URI pattern: a literal or a regex.
type segment struct {
	lit string
	re  *regexp.Regexp // nil for a literal
}

// pattern is a parsed Nexus URI pattern.
type pattern struct {
	raw    string
	segs   []segment
	prefix bool // trailing "*": one or more further segments
	exact  int  // number of literal segments
}

var errEmptyPattern = errors.New("empty URI pattern")

// parsePattern parses a Nexus URI pattern: segments separated by '.', each a
// literal or a /regex/ (matching one segment, case-insensitively, anchored at
// the start as Python's re.match), with an optional final "*" that matches
// any number (at least one) of further segments.
func parsePattern(s string) (*pattern, error) {
	if s == "" {
		return nil, errEmptyPattern
	}
	p := &pattern{raw: s}
	rest := s
	for rest != "" {
		switch {
		case rest == "*":
			p.prefix = true
			rest = ""
			continue
		case rest[0] == '/':
			end := -1
			for i := 1; i < len(rest); i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
					continue
				}
				if rest[i] == '/' {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("pattern %q: unterminated /regex/", s)
			}
			expr := strings.ReplaceAll(rest[1:end], `\/`, `/`)
			re, err := regexp.Compile(`(?i)^(?:` + expr + `)`)
			if err != nil {
				return nil, fmt.Errorf("pattern %q: bad regex %q: %w", s, expr, err)
			}
			p.segs = append(p.segs, segment{lit: expr, re: re})
			rest = rest[end+1:]
			if rest != "" {
				if rest[0] != '.' {
					return nil, fmt.Errorf("pattern %q: a /regex/ must be a whole segment", s)
				}
				rest = rest[1:]
				if rest == "" {
					return nil, fmt.Errorf("pattern %q: empty segment", s)
				}
			}
		default:
			seg, after, more := strings.Cut(rest, ".")
			if seg == "" {
				return nil, fmt.Errorf("pattern %q: empty segment", s)
			}
			if strings.Contains(seg, "*") {
				return nil, fmt.Errorf("pattern %q: '*' must be the whole last segment", s)
			}
			if more && after == "" {
				return nil, fmt.Errorf("pattern %q: empty segment", s)
			}
			p.segs = append(p.segs, segment{lit: seg})
			p.exact++
			rest = after
		}
	}
	return p, nil
}

// match reports whether the split URI matches p.
func (p *pattern) match(uri []string) bool {
	if p.prefix {
		if len(uri) <= len(p.segs) {
			return false
		}
	} else if len(uri) != len(p.segs) {
		return false
	}
	for i, sg := range p.segs {
		if !sg.matches(uri[i]) {
			return false
		}
	}
	return true
}

// rule grants perms on the URIs that match a pattern; the elevated ones
// only to recently authenticated sessions.
type rule struct {
	pat      *pattern
	perms    perms
	elevated perms // subset of perms
}

// ruleSet is an ordered list of rules resolved like Nexus's URI trie: of all
// the rules matching a URI, the one with the most segments wins (so a full
// match beats any prefix, and a longer prefix a shorter one), then the one
// with the most literal segments. Two best rules that tie are a conflict,
// which denies.
type ruleSet struct {
	rules []rule
}

// newRuleSet parses (pattern, perms) pairs; a pattern given twice is an error.
func newRuleSet(pairs [][2]string) (*ruleSet, error) {
	rs := &ruleSet{}
	seen := map[string]bool{}
	for _, pr := range pairs {
		if seen[pr[0]] {
			return nil, fmt.Errorf("pattern %q given more than once", pr[0])
		}
		seen[pr[0]] = true
		pat, err := parsePattern(pr[0])
		if err != nil {
			return nil, err
		}
		pm, el, err := parsePerms(pr[1])
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pr[0], err)
		}
		rs.rules = append(rs.rules, rule{pat: pat, perms: pm, elevated: el})
	}
	return rs, nil
}

// lookup returns the rule that governs uri, or nil if none matches or the
// best matches conflict.
func (rs *ruleSet) lookup(uri string) *rule {
	if rs == nil {
		return nil
	}
	parts := strings.Split(uri, ".")
	var best *rule
	tie := false
	for i := range rs.rules {
		r := &rs.rules[i]
		if !r.pat.match(parts) {
			continue
		}
		if best == nil {
			best = r
			continue
		}
		a, b := len(r.pat.segs), len(best.pat.segs)
		switch {
		case a > b || (a == b && r.pat.exact > best.pat.exact):
			best, tie = r, false
		case a == b && r.pat.exact == best.pat.exact:
			tie = true
		}
	}
	if tie {
		return nil
	}
	return best
}

// allows reports whether the rule set grants want on uri.
func (rs *ruleSet) allows(uri string, want perms) bool {
	r := rs.lookup(uri)
	return r != nil && r.perms&want == want
}

// A WAMP pattern (a prefix or wildcard registration or subscription) names
// a set of URIs; the role rules decide URI by URI. To decide a pattern
// without trying every URI, the analysis below enumerates one
// representative per class of URIs that every rule treats alike: two URIs
// of the same length that, at each component, either hold the same value or
// both hold a value no literal rule segment there names, are matched by
// exactly the same literal rules. A /regex/ segment over a component the
// pattern leaves free splits classes in ways this does not enumerate; the
// enumeration is then incomplete.

// shapePos is one component of a pattern: a literal, or free (any
// non-empty value starting with start).
type shapePos struct {
	lit   string
	free  bool
	start string
}

// uriShape is the set of concrete URIs a WAMP pattern matches: one
// component per pos, followed, when open, by any number of further
// components.
type uriShape struct {
	pos  []shapePos
	open bool
}

// shapeOf describes the URIs pattern matches under a WAMP match policy:
// "exact", "prefix" (a string prefix: a.b matches a.b, a.bc and a.b.c) or
// "wildcard" (each empty component matches one component).
func shapeOf(pattern, match string) uriShape {
	parts := strings.Split(pattern, ".")
	sh := uriShape{pos: make([]shapePos, len(parts))}
	for i, p := range parts {
		sh.pos[i] = shapePos{lit: p}
		if match == "wildcard" && p == "" {
			sh.pos[i] = shapePos{free: true}
		}
	}
	if match == "prefix" {
		last := len(parts) - 1
		sh.pos[last] = shapePos{free: true, start: parts[last]}
		sh.open = true
	}
	return sh
}

// maxRepresentatives bounds the representatives one pattern decision
// evaluates.
const maxRepresentatives = 4096

// representatives returns concrete URIs, one per class of the URIs sh
// matches that the rules of sets cannot tell apart, and whether they cover
// every such URI (complete). It gives up (nil, false) past limit URIs.
//
// For each length a URI of sh can have (beyond the longest rule, length no
// longer matters), it walks the components in order: at a free component
// it tries each literal that a rule still matching the components chosen
// so far has there, and one fresh value that no such rule names.
func representatives(sh uriShape, sets []*ruleSet, limit int) (uris []string, complete bool) {
	var rules []*pattern
	maxLen := len(sh.pos)
	for _, rs := range sets {
		for i := range rs.rules {
			p := rs.rules[i].pat
			rules = append(rules, p)
			n := len(p.segs)
			if p.prefix {
				n++
			}
			maxLen = max(maxLen, n+1)
		}
	}
	lastLen := len(sh.pos)
	if sh.open {
		lastLen = maxLen
	}
	complete = true
	for n := len(sh.pos); n <= lastLen; n++ {
		at := func(i int) shapePos {
			if i < len(sh.pos) {
				return sh.pos[i]
			}
			return shapePos{free: true}
		}
		var live []*pattern
		for _, p := range rules {
			if p.canMatchLen(n) {
				live = append(live, p)
			}
		}
		parts := make([]string, n)
		// walk chooses component i among the rules in live, which match
		// the components chosen before i.
		var walk func(i int, live []*pattern) bool
		walk = func(i int, live []*pattern) bool {
			if i == n {
				if len(uris) >= limit {
					return false
				}
				uris = append(uris, strings.Join(parts, "."))
				return true
			}
			sp := at(i)
			if !sp.free {
				parts[i] = sp.lit
				var next []*pattern
				for _, p := range live {
					if i >= len(p.segs) || p.segs[i].matches(sp.lit) {
						next = append(next, p)
					}
				}
				return walk(i+1, next)
			}
			var lits []string
			for _, p := range live {
				if i >= len(p.segs) {
					continue
				}
				sg := p.segs[i]
				if sg.re != nil {
					complete = false // which values it takes is not enumerated
					continue
				}
				if strings.HasPrefix(sg.lit, sp.start) && !slices.Contains(lits, sg.lit) {
					lits = append(lits, sg.lit)
				}
			}
			for _, v := range lits {
				parts[i] = v
				var next []*pattern
				for _, p := range live {
					if i >= len(p.segs) || p.segs[i].re == nil && p.segs[i].lit == v {
						next = append(next, p)
					}
				}
				if !walk(i+1, next) {
					return false
				}
			}
			parts[i] = freshValue(sp.start, lits)
			var next []*pattern
			for _, p := range live {
				if i >= len(p.segs) {
					next = append(next, p)
				}
			}
			return walk(i+1, next)
		}
		if !walk(0, live) {
			return nil, false
		}
	}
	return uris, complete
}

// matches reports whether the segment matches the component v.
func (sg segment) matches(v string) bool {
	if sg.re != nil {
		return sg.re.MatchString(v)
	}
	return sg.lit == v
}

// canMatchLen reports whether p can match a URI of n components.
func (p *pattern) canMatchLen(n int) bool {
	if p.prefix {
		return n > len(p.segs)
	}
	return n == len(p.segs)
}

// freshValue returns a component starting with start that equals none of
// taken: it stands for every value no rule names.
func freshValue(start string, taken []string) string {
	v := start + "\x00"
	for slices.Contains(taken, v) {
		v += "\x00"
	}
	return v
}
