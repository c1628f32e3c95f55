package main

// Failed connections and bad configurations as one sentence each: what
// happened, where, and what to do.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/zabertech/go-izaber-wamp/izaber"
)

// fail reports an error of loading the configuration or connecting and
// returns the exit status: 2 when the configuration is wrong (izaber.ErrConfig:
// a bad izaber.yaml or flag, a malformed URL, an endpoint that is not
// WAMP, a certificate that does not verify), else 3. The izaber package's
// errors are already one sentence naming the URL, the user and what to
// check.
func (e *env) fail(err error) int {
	code := exitConnect
	var bad *usageError
	if errors.Is(err, izaber.ErrConfig) || errors.As(err, &bad) {
		code = exitUsage
	}
	return e.errorf(code, "%s", plain(err.Error()))
}

// plain drops the package prefix of a library message: the command's name
// already says where it comes from.
func plain(msg string) string {
	return strings.TrimPrefix(msg, "izaber: ")
}

// lineHandler is the slog.Handler of a command without -v: records of
// level Warn and above, each one line "izaber-wamp CMD: warning: message
// key=value".
type lineHandler struct {
	name  *string // the command's name, set when it runs
	w     io.Writer
	mu    *sync.Mutex // shared by the handlers derived with WithAttrs
	attrs []slog.Attr
}

// Enabled passes warnings and errors.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle prints one record.
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	level := "warning"
	if r.Level >= slog.LevelError {
		level = "error"
	}
	msg := plain(r.Message)
	if strings.Contains(msg, "; retrying in ") {
		msg += "; Ctrl-C to stop" // the facade's retry notice, said to a person
	}
	b.WriteString(*h.name + ": " + level + ": " + msg)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs returns a handler that adds as to every record.
func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &h2
}

// WithGroup is WithAttrs without grouping: a one-line message has no room
// for it.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }
