package session

import "fmt"

// local is the key and value an option made by Local carries.
type local struct{ key, value any }

// Local returns an option that sends nothing on the wire: it carries value
// for a layer above the session (package client, package izaber), which
// reads it back with LocalValue. The session accepts it on every request
// and ignores it. As with context.WithValue, key should be a value of an
// unexported type, so that layers cannot collide. izaber.Absolute is such
// an option: one option type, session.Option, serves every layer.
func Local(key, value any) Option {
	return Option{
		name:  fmt.Sprintf("Local(%T)", key),
		kinds: kindAll,
		apply: func(*reqSettings) {},
		local: &local{key: key, value: value},
	}
}

// LocalValue returns the value of the last option in opts made by
// Local(key, value), and whether there is one.
func LocalValue(opts []Option, key any) (value any, ok bool) {
	for i := len(opts) - 1; i >= 0; i-- {
		if l := opts[i].local; l != nil && l.key == key {
			return l.value, true
		}
	}
	return nil, false
}
