// Package logsafe makes strings that come from clients safe to log.
//
// A client chooses its authid, realm, URIs, agent and the messages of its
// ABORTs; logged as they are, a 4 MiB authid is a 4 MiB log line and a
// newline in one forges a log entry. Every log call of the router, auth,
// session and router/nexus packages that records such a string passes it
// through String (or Any), which cuts it to MaxLen bytes and escapes it.
package logsafe

import (
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// MaxLen is the most bytes of a client string a log record keeps.
const MaxLen = 128

// String is a client-supplied string as a log value: its first MaxLen
// bytes (cut at a character boundary, with "…" and the full length
// appended when cut), escaped as in a Go quoted string (control
// characters, invalid UTF-8 and quotes become escapes), without the
// surrounding quotes. The work is done only when a record is written.
type String string

// LogValue implements slog.LogValuer.
func (s String) LogValue() slog.Value { return slog.StringValue(Clean(string(s))) }

// Clean returns s cut and escaped as String logs it.
func Clean(s string) string {
	cut := s
	if len(cut) > MaxLen {
		n := MaxLen
		for n > 0 && !utf8.RuneStart(cut[n]) {
			n--
		}
		cut = cut[:n]
	}
	q := strconv.Quote(cut)
	q = q[1 : len(q)-1]
	if len(cut) < len(s) {
		q += fmt.Sprintf("…(%d bytes)", len(s))
	}
	return q
}

// Any is a client-supplied value of any type (an option a client sent) as
// a log value: its %v form, cut and escaped as String.
func Any(v any) slog.LogValuer { return anyValue{v} }

type anyValue struct{ v any }

func (a anyValue) LogValue() slog.Value {
	if s, ok := a.v.(string); ok {
		return slog.StringValue(Clean(s))
	}
	return slog.StringValue(Clean(fmt.Sprint(a.v)))
}
