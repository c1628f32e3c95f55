//go:build darwin || linux || openbsd

package transport

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawReader fills a lazyReader from a TCP or Unix socket through its raw
// connection. The function given to RawConn.Read is made once, and its
// results are fields, so a read allocates nothing. Owned by the
// connection's reader.
type rawReader struct {
	rc syscall.RawConn
	fn func(fd uintptr) bool
	l  *lazyReader
	c  *core

	n   int
	err error
}

// newRawReader returns the raw reader of a TCP or Unix socket filling l;
// nil for anything else (TLS, pipes, a socket behind a reader of its own).
func newRawReader(conn net.Conn, l *lazyReader, c *core) *rawReader {
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc, l: l, c: c}
	r.fn = r.read
	return r
}

// fill reads once into the empty buffer of l: into a big buffer when data
// is waiting, and when none is, it waits for some holding only the small
// one (the read deadline, which the Recv context moves, bounds the wait).
func (r *rawReader) fill() error {
	r.c.beforeRead()
	r.n, r.err = 0, nil
	err := r.rc.Read(r.fn)
	if err == nil {
		err = r.err
	}
	r.l.w = r.n
	r.c.afterRead(r.n)
	r.err = nil
	return err
}

// read is the function RawConn.Read calls: it returns false (wait for the
// socket to be readable, then call again) when nothing is there.
func (r *rawReader) read(fd uintptr) bool {
	l := r.l
	if l.big == nil {
		l.big = bigBufs.Get().(*[]byte)
		l.buf = *l.big
	}
	for {
		n, err := syscall.Read(int(fd), l.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			bigBufs.Put(l.big)
			l.big, l.buf = nil, l.small[:]
			return false
		case err != nil:
			r.err = os.NewSyscallError("read", err)
		case n == 0:
			r.err = io.EOF
		default:
			r.n = n
		}
		return true
	}
}
