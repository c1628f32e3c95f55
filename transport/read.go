package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Read buffers. An idle connection blocks in Read on its small buffer and
// holds nothing else; a busy one borrows a big buffer from bigBufs and gives
// it back when the data slows down. On TCP and Unix sockets (rawReader) the
// big buffer is taken when data is waiting and given back before waiting.
const (
	smallReadBuf = 256
	bigReadBuf   = 16 << 10
	// directRead is the size from which a read goes straight into the
	// caller's slice instead of through the buffer.
	directRead = 4 << 10
)

var bigBufs = sync.Pool{New: func() any { b := make([]byte, bigReadBuf); return &b }}

// msgBufSize is the size up to which a received message that must be
// copied out of the read buffer is copied into a pooled buffer, given back
// once the message is decoded (the decoders keep no reference to their
// input). Only the reader holds one, and only from the read of a message to
// its decoding, so an idle connection holds none.
const msgBufSize = 16 << 10

var msgBufs = sync.Pool{New: func() any { b := make([]byte, msgBufSize); return &b }}

// lazyReader is a buffered reader over a connection whose buffer costs
// smallReadBuf bytes while the connection is idle. Owned by the connection's
// reader (one goroutine at a time).
type lazyReader struct {
	src io.Reader
	// raw, when not nil, reads the socket under src (a TCP or Unix
	// socket) through its raw connection: the buffer is chosen once data
	// is known to be there, so that a busy connection reads into a big
	// buffer at once (not 256 octets first, then the rest) and an idle one
	// waits holding none.
	raw   *rawReader
	small [smallReadBuf]byte
	big   *[]byte
	buf   []byte // small[:] or *big
	r, w  int    // unread bytes are buf[r:w]
	err   error  // error to return once the buffered bytes are consumed
	// drained: the last read from src returned less than it was offered,
	// so src had nothing more then and the next read is likely to wait.
	drained bool
}

func newLazyReader(src countingReader) *lazyReader {
	l := &lazyReader{src: src}
	l.buf = l.small[:]
	if nc, ok := src.r.(net.Conn); ok {
		l.raw = newRawReader(nc, l, src.c)
	}
	return l
}

// buffered is the number of bytes read from the connection and not yet
// consumed.
func (l *lazyReader) buffered() int { return l.w - l.r }

func (l *lazyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.r == l.w {
		if l.err != nil {
			err := l.err
			l.err = nil
			return 0, err
		}
		l.r, l.w = 0, 0
		if l.raw != nil && len(p) < directRead {
			if err := l.raw.fill(); err != nil && l.r == l.w {
				return 0, err
			}
			n := copy(p, l.buf[l.r:l.w])
			l.r += n
			return n, nil
		}
		if l.big != nil && (l.drained || l.raw != nil) {
			// The next read is likely to wait: give the big buffer back
			// rather than hold it while the connection is idle. (When
			// data keeps coming, the small buffer fills up at once and a
			// big one is taken again.)
			bigBufs.Put(l.big)
			l.big, l.buf = nil, l.small[:]
		}
		if len(p) >= directRead {
			n, err := l.src.Read(p)
			l.drained = n < len(p)
			return n, err
		}
		if err := l.fill(); err != nil && l.r == l.w {
			l.err = nil
			return 0, err
		}
	}
	n := copy(p, l.buf[l.r:l.w])
	l.r += n
	return n, nil
}

// fill reads once from src into the free end of the buffer, upgrading to a
// big buffer when the small one filled up. A read error that comes with
// data is kept for later.
func (l *lazyReader) fill() error {
	space := len(l.buf) - l.w
	n, err := l.src.Read(l.buf[l.w:])
	l.w += n
	l.drained = n < space
	if n > 0 && l.big == nil && l.w == len(l.buf) {
		// The small buffer filled up: more is likely waiting.
		b := bigBufs.Get().(*[]byte)
		copy(*b, l.buf[l.r:l.w])
		l.w -= l.r
		l.r = 0
		l.big, l.buf = b, *b
	}
	if err != nil && n > 0 {
		l.err = err
		return nil
	}
	return err
}

// take returns the next n buffered bytes (n <= buffered()) without
// copying them: they stay valid until the next Read.
func (l *lazyReader) take(n int) []byte {
	b := l.buf[l.r : l.r+n : l.r+n]
	l.r += n
	return b
}

// release gives the big buffer back (the connection has ended).
func (l *lazyReader) release() {
	if l.big != nil {
		bigBufs.Put(l.big)
		l.big = nil
	}
	l.buf, l.r, l.w = l.small[:], 0, 0
}

// errInterrupted is returned by reads that the Recv context interrupted; it
// never leaves the package.
var errInterrupted = errors.New("transport: read interrupted by its context")

// aLongTimeAgo is a read deadline that makes a blocked read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// interrupter makes the context of Recv bound a blocked socket read
// without closing the connection: when the context ends, the socket's read
// deadline is moved to the past, the read returns, and readers that can
// resume later (RawSocket frames, WebSocket at a message boundary) report
// errInterrupted. The context's AfterFunc is registered once per context,
// so a reader that passes the same long-lived context every time pays for
// it once.
//
// mu guards ctx, stop and gen; fired is set by the AfterFunc of the
// current registration (gen tells a late callback of an earlier one).
type interrupter struct {
	conn  net.Conn // deadline target
	mu    sync.Mutex
	ctx   context.Context
	stop  func() bool
	gen   uint64
	fired atomic.Bool
}

// arm makes ctx the context that interrupts reads.
func (in *interrupter) arm(ctx context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if ctx == in.ctx {
		return
	}
	in.disarmLocked()
	if ctx.Done() == nil {
		return
	}
	in.ctx = ctx
	gen := in.gen
	in.stop = context.AfterFunc(ctx, func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.gen != gen {
			return // a registration that was since replaced
		}
		in.fired.Store(true)
		_ = in.conn.SetReadDeadline(aLongTimeAgo)
	})
}

// disarm forgets the current context and clears a deadline it set.
func (in *interrupter) disarm() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.disarmLocked()
}

func (in *interrupter) disarmLocked() {
	in.gen++
	if in.stop != nil {
		if !in.stop() || in.fired.Load() {
			_ = in.conn.SetReadDeadline(time.Time{})
		}
		in.stop = nil
	}
	in.ctx = nil
	in.fired.Store(false)
}

// reset clears an interruption whose context has not ended (it cannot
// happen, but a read must not fail for it).
func (in *interrupter) reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fired.Load() {
		in.fired.Store(false)
		_ = in.conn.SetReadDeadline(time.Time{})
	}
}

// interrupted reports whether err is the read deadline set by the context.
func (in *interrupter) interrupted(err error) bool {
	return err != nil && in.fired.Load() && errors.Is(err, os.ErrDeadlineExceeded)
}

// countingReader is the socket as the reader sees it: before each read it
// writes what the reader held (NetPeer.HoldWrites), and it records the
// bytes read and when, as keep-alive evidence.
type countingReader struct {
	r io.Reader
	c *core
}

func (c countingReader) Read(p []byte) (int, error) {
	c.c.beforeRead()
	n, err := c.r.Read(p)
	c.c.afterRead(n)
	return n, err
}

// beforeRead writes what the reader held (NetPeer.HoldWrites).
func (c *core) beforeRead() {
	if o := c.out; o != nil && o.held.Load() {
		c.releaseHeld()
	}
}

// afterRead records n bytes read, keep-alive evidence.
func (c *core) afterRead(n int) {
	if t := &c.traffic; n > 0 {
		t.in.Add(uint64(n))
		t.lastIn.Store(mono())
		if t.awaiting.Load() && t.awaiting.CompareAndSwap(true, false) {
			t.answered()
		}
	}
}

// epoch and mono give a cheap monotonic clock in nanoseconds.
var epoch = time.Now()

func mono() int64 { return int64(time.Since(epoch)) }
