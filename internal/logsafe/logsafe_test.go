package logsafe

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"", ""},
		{"a\nINFO forged=1", `a\nINFO forged=1`},
		{"\x1b[31mred", `\x1b[31mred`},
		{`quote"back\slash`, `quote\"back\\slash`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"héllo wörld", "héllo wörld"},
		{strings.Repeat("x", MaxLen), strings.Repeat("x", MaxLen)},
		{strings.Repeat("x", 4<<20), strings.Repeat("x", MaxLen) + "…(4194304 bytes)"},
		// Cut at a character boundary: MaxLen-1 bytes of x, then é (2 bytes).
		{strings.Repeat("x", MaxLen-1) + "é" + "tail", strings.Repeat("x", MaxLen-1) + "…(133 bytes)"},
	} {
		if got := Clean(tc.in); got != tc.want {
			t.Errorf("Clean(%.40q) = %.60q, want %.60q", tc.in, got, tc.want)
		}
	}
}

func TestLogValues(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&buf, nil))
	lg.Info("login", "authid", String(strings.Repeat("a", 4<<20)+"\n"), "mode", Any(map[string]any{"x": strings.Repeat("b", 1000)}))
	out := buf.String()
	if strings.Count(out, "\n") != 1 || len(out) > 3*MaxLen+200 {
		t.Errorf("%d bytes, %d lines: %.300s", len(out), strings.Count(out, "\n"), out)
	}
}
