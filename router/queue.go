package router

import (
	"sync"

	"github.com/izaber/wamp/protocol"
)

// outQueue is a session's bounded outbound queue. Routing code pushes
// without ever blocking (under the realm lock); the session's writer
// goroutine takes batches and writes them to the transport. A slow client
// therefore never stalls routing for others: when its queue holds limit
// messages, push fails and the session is dropped.
//
// The slice grows on demand, so an idle session costs almost nothing.
type outQueue struct {
	mu      sync.Mutex
	items   []protocol.Message // guarded by mu
	closing bool               // guarded by mu; no further pushes accepted
	limit   int
	wake    chan struct{} // capacity 1: "items or closing changed"
}

func newOutQueue(limit int) outQueue {
	return outQueue{limit: limit, wake: make(chan struct{}, 1)}
}

// pushResult says what happened to a pushed message.
type pushResult int

const (
	pushOK       pushResult = iota
	pushClosing             // the session is ending; message discarded
	pushOverflow            // the queue is full; the session must be dropped
)

func (q *outQueue) push(m protocol.Message) pushResult {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return pushClosing
	}
	if len(q.items) >= q.limit {
		q.closing = true
		q.mu.Unlock()
		return pushOverflow
	}
	q.items = append(q.items, m)
	q.mu.Unlock()
	q.signal()
	return pushOK
}

// pushLast queues m as the final message (GOODBYE, ABORT) and refuses
// everything after it. It reports false if the queue was already closing.
func (q *outQueue) pushLast(m protocol.Message) bool {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, m)
	q.closing = true
	q.mu.Unlock()
	q.signal()
	return true
}

// close refuses further pushes; the writer finishes what is queued.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the queued messages and whether the queue is closing. The
// returned batch is owned by the caller.
func (q *outQueue) take() ([]protocol.Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.items
	q.items = nil
	return b, q.closing
}
