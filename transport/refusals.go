package transport

import (
	"log/slog"
	"sync"
	"time"
)

// Connections refused before any WAMP session exists (too many from one
// address, a failed handshake, no supported subprotocol) are logged, but a
// stranger can cause one per connection attempt: a listener writes at most
// refusalBurst such lines per refusalInterval and counts the rest, which it
// reports in one summary line at the end of the interval.
const (
	refusalBurst    = 20
	refusalInterval = time.Minute
)

// refusalLog is one listener's (or WebSocket handler's) log of refused
// connections. Its methods are safe for concurrent use.
type refusalLog struct {
	log *slog.Logger

	mu         sync.Mutex
	start      time.Time   // of the current interval
	logged     int         // lines written in it
	suppressed int         // refusals not logged in it
	timer      *time.Timer // writes the summary at the interval's end, set while suppressed > 0
}

func newRefusalLog(log *slog.Logger) *refusalLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &refusalLog{log: log}
}

// Info logs one refusal at level Info, or counts it when the interval's
// lines are spent.
func (r *refusalLog) Info(msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.start) >= refusalInterval && r.suppressed == 0 {
		r.start, r.logged = now, 0
	}
	if r.logged < refusalBurst {
		r.logged++
		r.mu.Unlock()
		r.log.Info(msg, args...)
		return
	}
	r.suppressed++
	if r.timer == nil {
		r.timer = time.AfterFunc(r.start.Add(refusalInterval).Sub(now), r.summarise)
	}
	r.mu.Unlock()
}

// summarise writes the count of the refusals not logged in the interval
// that ended, and starts a new one.
func (r *refusalLog) summarise() {
	r.mu.Lock()
	n := r.suppressed
	r.suppressed, r.timer = 0, nil
	r.start, r.logged = time.Now(), 0
	r.mu.Unlock()
	if n > 0 {
		r.log.Info("transport: more connections refused, not logged one by one", "count", n, "interval", refusalInterval)
	}
}
