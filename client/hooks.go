package client

import "sync"

// hookQueue runs the Client's hooks one at a time, in the order the owner
// goroutine queued them, on a goroutine of its own, so that no hook ever
// runs on a session's reader, concurrently with another hook, or while
// the owner waits for it. The queue is unbounded but fed only by lifecycle
// events, restore failures and revocations.
type hookQueue struct {
	mu      sync.Mutex
	q       []func()
	running bool          // the goroutine is running
	closed  bool          // close was called: run what is queued, then stop
	done    chan struct{} // closed when the goroutine (if any) stopped after close
}

func newHookQueue() *hookQueue { return &hookQueue{done: make(chan struct{})} }

// push queues f; it is dropped after close.
func (h *hookQueue) push(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.q = append(h.q, f)
	if !h.running {
		h.running = true
		go h.run()
	}
}

func (h *hookQueue) run() {
	for {
		h.mu.Lock()
		if len(h.q) == 0 {
			h.running = false
			if h.closed {
				close(h.done)
			}
			h.mu.Unlock()
			return
		}
		f := h.q[0]
		h.q[0] = nil
		h.q = h.q[1:]
		h.mu.Unlock()
		f()
	}
}

// close lets the hooks already queued run, drops later ones, and closes
// done once the last one has returned.
func (h *hookQueue) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if !h.running {
		close(h.done)
	}
}
