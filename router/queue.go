package router

import (
	"sync"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// outQueue is a session's bounded outbound queue. Routing code pushes
// without ever blocking (under the realm lock); the session's writer
// goroutine takes batches and writes them to the transport. A slow client
// therefore never stalls routing for others: when its queue holds limit
// messages, push fails and the session is dropped.
//
// The slice grows on demand, so an idle session costs almost nothing.
type outQueue struct {
	mu        sync.Mutex
	items     []protocol.Message // guarded by mu
	bytes     int                // guarded by mu; estimated size of items
	closing   bool               // guarded by mu; no further pushes accepted
	limit     int                // most messages queued
	byteLimit int                // most estimated bytes queued
	wake      chan struct{}      // capacity 1: "items or closing changed"
}

func newOutQueue(limit, byteLimit int) outQueue {
	return outQueue{limit: limit, byteLimit: byteLimit, wake: make(chan struct{}, 1)}
}

// pushResult says what happened to a pushed message.
type pushResult int

const (
	pushOK       pushResult = iota
	pushClosing             // the session is ending; message discarded
	pushOverflow            // the queue is full; the session must be dropped
)

// push queues m, whose estimated size is size bytes. A message is refused
// when the queue holds limit messages, or when it would take the queue over
// byteLimit (a single message is always accepted into an empty queue).
func (q *outQueue) push(m protocol.Message, size int) pushResult {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return pushClosing
	}
	if len(q.items) >= q.limit || (len(q.items) > 0 && q.bytes+size > q.byteLimit) {
		q.closing = true
		q.mu.Unlock()
		return pushOverflow
	}
	q.items = append(q.items, m)
	q.bytes += size
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
	q.bytes = 0
	return b, q.closing
}

// messageSize estimates the memory a queued message holds: a fixed
// overhead plus its payload. Only payload-carrying messages are measured.
func messageSize(m protocol.Message) int {
	const overhead = 64
	var args protocol.List
	var kwargs protocol.Dict
	switch m := m.(type) {
	case *protocol.Invocation:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Result:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Error:
		args, kwargs = m.Args, m.Kwargs
	case *protocol.Event:
		args, kwargs = m.Args, m.Kwargs
	default:
		return overhead
	}
	budget := maxSizeNodes
	return overhead + payloadSize(args, 0, &budget) + payloadSize(kwargs, 0, &budget)
}

// maxSizeNodes bounds the values payloadSize visits for one message, so
// that shared or cyclic in-process payloads cannot make it slow.
const maxSizeNodes = 1 << 16

// payloadSize estimates the size of a decoded payload value, visiting at
// most *budget values and 64 levels.
func payloadSize(v any, depth int, budget *int) int {
	if depth > 64 || *budget <= 0 {
		return 0
	}
	*budget--
	switch v := v.(type) {
	case string:
		return len(v) + 16
	case []byte:
		return len(v) + 24
	case protocol.List:
		n := 24
		for _, e := range v {
			n += payloadSize(e, depth+1, budget)
		}
		return n
	case protocol.Dict:
		n := 48
		for k, e := range v {
			n += len(k) + 16 + payloadSize(e, depth+1, budget)
		}
		return n
	}
	return 16
}
