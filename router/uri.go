package router

import "strings"

// URI checks use the loose rules of the WAMP spec (wamp-protocol-notes §1.3):
// components are separated by '.', must not contain '.', '#' or whitespace,
// and must not be empty, except where the match policy allows it.

// uriComponentOK reports whether c is a valid non-empty loose component.
func uriComponentOK(c string) bool {
	if c == "" {
		return false
	}
	for _, r := range c {
		switch r {
		case '#', ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0:
			return false
		}
	}
	return true
}

// validURI checks uri for the given match policy: "exact" (every component
// non-empty), "prefix" (the last component may be empty) or "wildcard"
// (any component may be empty, but not the whole URI).
func validURI(uri, match string) bool {
	if uri == "" {
		return false
	}
	parts := strings.Split(uri, ".")
	for i, p := range parts {
		if p == "" {
			switch {
			case match == "wildcard":
				continue
			case match == "prefix" && i == len(parts)-1:
				continue
			default:
				return false
			}
		}
		if !uriComponentOK(p) {
			return false
		}
	}
	return true
}
