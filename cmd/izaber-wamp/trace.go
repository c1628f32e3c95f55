package main

// --trace: every WAMP message on stderr.

import (
	"fmt"
	"sync"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// tracer returns the izaber.Config.Trace hook of --trace: each WAMP
// message sent ("-->") and received ("<--") on stderr, one line of JSON in
// the message's wire list form. The client redacts the AUTHENTICATE
// signature (the password, ticket or API key); the values of
// secret-looking keys anywhere in a message (the plaintext_key of a new
// API key or OTP, ...) are redacted here.
func (e *env) tracer() func(client.Direction, protocol.Message) {
	var mu sync.Mutex // one line at a time: the hook runs on the reader and the writer
	return func(dir client.Direction, m protocol.Message) {
		arrow := "-->"
		if dir == client.Received {
			arrow = "<--"
		}
		var line []byte
		var buf lineBuffer
		if err := writeJSON(&buf, redactSecrets(toJSON(protocol.ToList(m)), ""), false); err != nil {
			line = fmt.Appendf(nil, "(cannot print: %v)\n", err)
		} else {
			line = buf.b
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(e.stderr, "%s %s %s", arrow, m.Code(), line)
	}
}

// lineBuffer collects one write.
type lineBuffer struct{ b []byte }

// Write appends p.
func (l *lineBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	return len(p), nil
}
