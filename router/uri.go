package router

import "github.com/zabertech/go-izaber-wamp/protocol"

// validURI checks a URI from a client (or an internal caller) with the
// router's rule, Config.URIs (protocol.LooseURIs by default, as crossbar),
// for a match policy ("exact", "prefix" or "wildcard"; "" is exact). The
// empty URI is never valid, not even as a pattern.
func (rl *Realm) validURI(uri, match string) bool {
	return uri != "" && rl.r.cfg.URIs.ValidURI(uri, match)
}

// sendableURI reports whether the router may put uri in a message of its
// own (an error URI, an internal procedure or topic): the loose rule every
// peer accepts, whatever Config.URIs says.
func sendableURI(uri string) bool {
	return uri != "" && protocol.LooseURIs.ValidURI(uri, matchExact)
}
