package transport

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Outbox sizes.
const (
	// sendBuffer is how many bytes may wait in a connection's outbox before
	// Send waits (bounded by its context) for the writer to catch up.
	sendBuffer = 1 << 20
	// maxGather bounds one write: bytes and slices.
	maxGather    = 256 << 10
	maxGatherVec = 256
	// copyAbove is the size from which a chunk that must be copied gets a
	// buffer of its own rather than space in the shared copy buffer.
	copyAbove = 64 << 10
	// inlineTries bounds the non-blocking writes a sender makes on behalf
	// of everyone before handing the rest to the writer goroutine.
	inlineTries = 3
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// outbox is a connection's outbound queue and the only path to its
// socket's write side.
//
// Whoever queues something then calls flush, which writes at once when
// nobody else is writing: on TCP and Unix sockets with writev calls that
// never wait for the socket, so a sender (or a router goroutine delivering
// to many connections) never blocks on a slow peer. What the socket does not
// take at once is written by a writer goroutine started for the purpose,
// which exits when the queue is empty. Everything queued while a write is in
// progress goes out with the next write: writes coalesce. On TLS
// connections and other platforms every write is made by the writer
// goroutine.
//
// Ownership: every field below mu is guarded by mu. The goroutine that set
// writing (an inline flusher or the writer goroutine) alone writes to the
// socket and owns iov.
type outbox struct {
	conn    io.Writer      // the socket
	rw      *rawWriter     // non-nil: non-blocking writes (TCP, Unix)
	vec     bool           // conn gathers net.Buffers with writev
	copyAll bool           // copy every chunk (TLS: one record per write)
	written *atomic.Uint64 // bytes written, keep-alive evidence
	onErr   func(error)    // a write failed: end the connection

	mu      sync.Mutex
	q       [][]byte // chunks to write; q[head][off:] is next
	head    int
	off     int
	pending int          // bytes in q not yet written
	queued  atomic.Int64 // pending, for reading without mu (room)
	flying  int          // bytes handed to the write in progress
	enq     int64        // bytes ever queued
	sent    int64        // bytes ever written
	ends    []int64      // enq at the end of each queued message not yet fully written
	lastEnd int64        // the last message end already written
	cbuf    *[]byte      // copy buffer (pooled); chunks may point into it
	writing bool
	corked  int
	held    atomic.Bool // writes wait for release (read without mu, written under it)
	since   int64       // unix nanoseconds: last progress, or when the queue filled
	wake    chan struct{}
	waiters int
	closed  bool
	err     error // why the outbox closed

	wg  sync.WaitGroup // the writer goroutine
	iov [][]byte       // owned by the goroutine that is writing
}

func newOutbox(conn io.Writer, written *atomic.Uint64, onErr func(error)) *outbox {
	o := &outbox{conn: conn, written: written, onErr: onErr}
	if nc, ok := conn.(net.Conn); ok {
		o.rw = newRawWriter(nc)
		switch nc.(type) {
		case *net.TCPConn, *net.UnixConn:
			o.vec = true
		}
	}
	o.copyAll = !o.vec
	return o
}

// addLocked queues b (referenced, or copied when copy or copyAll).
func (o *outbox) addLocked(b []byte, copyIt bool) {
	if len(b) == 0 {
		return
	}
	if copyIt || o.copyAll {
		o.copyLocked(b)
		return
	}
	o.countLocked(len(b))
	o.q = append(o.q, b)
}

// countLocked accounts for n bytes being queued.
func (o *outbox) countLocked(n int) {
	if o.pending == 0 {
		o.since = time.Now().UnixNano()
	}
	o.pending += n
	o.queued.Store(int64(o.pending))
	o.enq += int64(n)
}

// copyLocked queues a copy of b, which it does not keep (so that a frame
// header on the caller's stack stays there).
func (o *outbox) copyLocked(b []byte) {
	if len(b) == 0 {
		return
	}
	o.countLocked(len(b))
	if len(b) >= copyAbove {
		o.q = append(o.q, append([]byte(nil), b...))
		return
	}
	if o.cbuf == nil {
		o.cbuf = copyBufs.Get().(*[]byte)
	}
	buf := *o.cbuf
	if len(buf)+len(b) > cap(buf) {
		// Chunks still point into the old buffer: start a new one and
		// let the old one go with them.
		nb := make([]byte, 0, max(cap(buf), 2*len(b)))
		o.cbuf = &nb
		buf = nb
	}
	start := len(buf)
	buf = append(buf, b...)
	*o.cbuf = buf
	chunk := buf[start:len(buf):len(buf)]
	// Merge with the previous chunk when they are adjacent in the buffer.
	if n := len(o.q); n > o.head {
		last := o.q[n-1]
		if len(last) > 0 && start > 0 && &last[len(last)-1] == &buf[start-1] {
			o.q[n-1] = buf[start-len(last) : len(buf) : len(buf)]
			return
		}
	}
	o.q = append(o.q, chunk)
}

// addMaskedLocked queues a copy of b masked with key (RFC 6455 5.3, the
// key's octets in little-endian order).
func (o *outbox) addMaskedLocked(b []byte, key uint32) {
	if len(b) == 0 {
		return
	}
	o.copyLocked(b)
	last := o.q[len(o.q)-1] // the copy is its end
	maskBytes(last[len(last)-len(b):], key)
}

// maskBytes XORs b with the 4-octet key repeated, eight octets at a time.
func maskBytes(b []byte, key uint32) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key >> (8 * (i % 4)))
	}
}

// endLocked marks the end of a message (a point where the stream may be cut).
func (o *outbox) endLocked() { o.ends = append(o.ends, o.enq) }

// cork holds inline flushes until uncork, so that a batch goes out together.
func (o *outbox) cork() {
	o.mu.Lock()
	o.corked++
	o.mu.Unlock()
}

func (o *outbox) uncork() {
	o.mu.Lock()
	o.corked--
	o.mu.Unlock()
}

// hold makes flush leave what is queued until release.
func (o *outbox) hold() {
	if o.held.Load() {
		return // held already (only the reader holds and releases)
	}
	o.mu.Lock()
	if !o.closed {
		o.held.Store(true)
	}
	o.mu.Unlock()
}

// release ends a hold and writes what it held.
func (o *outbox) release() {
	o.mu.Lock()
	was := o.held.Load()
	o.held.Store(false)
	o.mu.Unlock()
	if was {
		o.flush()
	}
}

// flush writes what is queued if nobody else is writing. It never waits for
// the socket.
func (o *outbox) flush() {
	o.mu.Lock()
	if o.writing || o.corked > 0 || o.pending == 0 || o.closed || o.held.Load() {
		o.mu.Unlock()
		return
	}
	o.writing = true
	if o.rw == nil {
		o.startWriterLocked()
		o.mu.Unlock()
		return
	}
	for tries := 1; ; tries++ {
		bufs := o.gatherLocked()
		o.mu.Unlock()
		n, blocked, err := o.rw.writev(bufs)
		o.mu.Lock()
		o.advanceLocked(n)
		if err != nil {
			o.writing = false
			o.mu.Unlock()
			o.onErr(err)
			return
		}
		if o.pending == 0 || o.closed {
			o.idleLocked()
			o.mu.Unlock()
			return
		}
		if blocked || tries >= inlineTries {
			o.startWriterLocked()
			o.mu.Unlock()
			return
		}
	}
}

func (o *outbox) startWriterLocked() {
	o.wg.Add(1)
	go o.run()
}

// run is the writer goroutine: it writes, waiting for the socket, until the
// queue is empty.
func (o *outbox) run() {
	defer o.wg.Done()
	o.mu.Lock()
	for o.pending > 0 && !o.closed {
		bufs := o.gatherLocked()
		o.mu.Unlock()
		var n int
		var err error
		if o.vec {
			nb := net.Buffers(bufs)
			var k int64
			k, err = nb.WriteTo(o.conn)
			n = int(k)
		} else {
			for _, b := range bufs {
				k, werr := o.conn.Write(b)
				n += k
				if werr != nil {
					err = werr
					break
				}
			}
		}
		o.mu.Lock()
		o.advanceLocked(n)
		if err != nil {
			o.writing = false
			o.mu.Unlock()
			o.onErr(err)
			return
		}
	}
	o.idleLocked()
	o.mu.Unlock()
}

// gatherLocked returns the next chunks to write (in o.iov).
func (o *outbox) gatherLocked() [][]byte {
	iov := o.iov[:0]
	total := 0
	for i := o.head; i < len(o.q) && total < maxGather && len(iov) < maxGatherVec; i++ {
		b := o.q[i]
		if i == o.head {
			b = b[o.off:]
		}
		iov = append(iov, b)
		total += len(b)
	}
	o.iov = iov
	o.flying = total
	return iov
}

// advanceLocked records n bytes written.
func (o *outbox) advanceLocked(n int) {
	o.flying = 0
	clear(o.iov) // let written buffers go
	if n <= 0 {
		return
	}
	o.written.Add(uint64(n))
	if o.closed {
		return // the queue is gone
	}
	o.sent += int64(n)
	o.pending -= n
	o.queued.Store(int64(o.pending))
	o.since = time.Now().UnixNano()
	for n > 0 {
		rest := len(o.q[o.head]) - o.off
		if n < rest {
			o.off += n
			break
		}
		n -= rest
		o.q[o.head] = nil
		o.head++
		o.off = 0
	}
	if o.head == len(o.q) {
		o.q, o.head = o.q[:0], 0
	}
	i := 0
	for i < len(o.ends) && o.ends[i] <= o.sent {
		o.lastEnd = o.ends[i]
		i++
	}
	if i > 0 {
		o.ends = append(o.ends[:0], o.ends[i:]...)
	}
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
}

// idleLocked ends a write turn; an empty queue gives its memory back.
func (o *outbox) idleLocked() {
	o.writing = false
	if o.pending != 0 {
		return
	}
	if cap(o.q) > 64 {
		o.q = nil
	}
	o.head, o.off = 0, 0
	if o.cbuf != nil {
		if cap(*o.cbuf) == 16<<10 {
			*o.cbuf = (*o.cbuf)[:0]
			copyBufs.Put(o.cbuf)
		}
		o.cbuf = nil
	}
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
}

// backlog returns the bytes queued and how long no byte has been written
// while some were queued.
func (o *outbox) backlog() (int, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == 0 {
		return 0, 0
	}
	return o.pending, time.Duration(time.Now().UnixNano() - o.since)
}

// written reports whether the stream up to offset end has been written.
func (o *outbox) writtenUpTo(end int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent >= end
}

// wait waits until at most n bytes are queued, ctx ends (its error) or the
// outbox closes (closedErr).
func (o *outbox) wait(ctx context.Context, n int, closedErr func() error) error {
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return closedErr()
		}
		if o.pending <= n {
			o.mu.Unlock()
			return nil
		}
		if o.wake == nil {
			o.wake = make(chan struct{})
		}
		ch := o.wake
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// room waits, bounded by ctx, until a message of size n may be queued: the
// queue is empty or holds less than sendBuffer bytes with it.
func (o *outbox) room(ctx context.Context, n int, closedErr func() error) error {
	limit := max(sendBuffer-n, 0)
	if q := o.queued.Load(); q == 0 || q <= int64(limit) {
		return nil // without the lock: a send that just fit is not refused
	}
	return o.wait(ctx, limit, closedErr)
}

// discardUnstartedLocked drops every queued message not yet started,
// keeping the rest of the ones being written (by a write in progress too).
func (o *outbox) discardUnstartedLocked() {
	keep := 0
	if from := o.sent + int64(o.flying); from != o.lastEnd {
		keep = o.pending
		for _, e := range o.ends {
			if e >= from {
				keep = int(e - o.sent)
				break
			}
		}
	}
	if keep >= o.pending {
		return
	}
	// Cut the queue after keep bytes.
	rest := keep
	i := o.head
	for ; i < len(o.q) && rest > 0; i++ {
		l := len(o.q[i])
		if i == o.head {
			l -= o.off
		}
		if rest < l {
			end := rest
			if i == o.head {
				end += o.off
			}
			o.q[i] = o.q[i][:end]
			rest = 0
			i++
			break
		}
		rest -= l
	}
	clear(o.q[i:])
	o.q = o.q[:i]
	o.enq -= int64(o.pending - keep)
	o.pending = keep
	o.queued.Store(int64(keep))
	i = 0
	for i < len(o.ends) && o.ends[i] <= o.enq {
		i++
	}
	o.ends = o.ends[:i]
	if o.head == len(o.q) {
		o.q, o.head, o.off = o.q[:0], 0, 0
	}
}

// close discards the queue and wakes every waiter. The writer goroutine,
// if any, returns once its current write ends (the caller closes the
// socket to end it at once) and can be awaited with o.wg.
func (o *outbox) close(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	o.err = err
	clear(o.q)
	o.q, o.head, o.off, o.pending = nil, 0, 0, 0
	o.queued.Store(0)
	o.ends = nil
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
}
