//go:build darwin || linux || openbsd

package transport

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawWriter makes writev calls that never wait for the socket, on the raw
// connection of a TCP or Unix socket, without allocating: the function
// given to RawConn.Write is made once, and its arguments and results are
// fields. Owned by the goroutine that is writing (outbox.writing).
type rawWriter struct {
	rc syscall.RawConn
	fn func(fd uintptr) bool

	bufs    [][]byte
	n       int
	blocked bool
	err     error
}

// newRawWriter returns the raw writer of a TCP or Unix socket; nil for
// anything else (TLS, pipes).
func newRawWriter(c net.Conn) *rawWriter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &rawWriter{rc: rc}
	w.fn = w.write
	return w
}

// writev writes bufs with one writev system call that never waits for
// the socket: blocked reports a full socket buffer.
func (w *rawWriter) writev(bufs [][]byte) (n int, blocked bool, err error) {
	w.bufs, w.n, w.blocked, w.err = bufs, 0, false, nil
	err = w.rc.Write(w.fn)
	if err == nil {
		err = w.err
	}
	n, blocked = w.n, w.blocked
	w.bufs, w.err = nil, nil
	return n, blocked, err
}

func (w *rawWriter) write(fd uintptr) bool {
	for {
		m, e := unix.Writev(int(fd), w.bufs)
		switch e {
		case nil:
			w.n = m
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			w.blocked = true
		default:
			w.err = e
		}
		return true // never wait for the socket here
	}
}
