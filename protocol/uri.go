package protocol

import (
	"unicode"
	"unicode/utf8"
)

// Match policies for SUBSCRIBE and REGISTER (Options "match"). They decide
// which URI shape is valid: exact needs every component non-empty, prefix
// allows the last component to be empty, wildcard allows any component to be
// empty.
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchWildcard = "wildcard"
)

// URIChecker decides whether a URI is valid for a match policy ("" means
// exact).
type URIChecker interface {
	ValidURI(uri, match string) bool
}

// LooseURIs is the default rule: components separated by "." must not
// contain ".", "#" or whitespace. Zaber URIs such as "com.izaber.wamp:x"
// pass it.
var LooseURIs URIChecker = uriRule{strict: false}

// StrictURIs allows only components made of [0-9a-z_].
var StrictURIs URIChecker = uriRule{strict: true}

type uriRule struct{ strict bool }

func (r uriRule) ValidURI(uri, match string) bool {
	// Components are split on '.'; empty ones are allowed per policy.
	start := 0
	for i := 0; i <= len(uri); i++ {
		if i < len(uri) && uri[i] != '.' {
			continue
		}
		comp := uri[start:i]
		if comp == "" {
			if match != MatchWildcard && !(match == MatchPrefix && i == len(uri)) {
				return false
			}
		} else if !r.component(comp) {
			return false
		}
		start = i + 1
	}
	return true
}

func (r uriRule) component(c string) bool {
	if r.strict {
		for i := 0; i < len(c); i++ {
			b := c[i]
			if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(c); {
		b := c[i]
		if b < utf8.RuneSelf {
			if b == '#' || b == ' ' || b >= '\t' && b <= '\r' || b == 0x1c || b == 0x1d || b == 0x1e || b == 0x1f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(c[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if unicode.IsSpace(r) {
			return false
		}
		i += size
	}
	return true
}
