//go:build darwin || linux || openbsd

package transport

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawConnOf returns the raw connection of a TCP or Unix socket, on which
// writes can be tried without blocking; nil for anything else (TLS, pipes).
func rawConnOf(c net.Conn) syscall.RawConn {
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
	return rc
}

// tryWritev writes bufs with one writev system call that never waits for
// the socket: blocked reports a full socket buffer.
func tryWritev(rc syscall.RawConn, bufs [][]byte) (n int, blocked bool, err error) {
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			m, e := unix.Writev(int(fd), bufs)
			switch e {
			case nil:
				n = m
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				blocked = true
			default:
				werr = e
			}
			return true // never wait for the socket here
		}
	})
	if err == nil {
		err = werr
	}
	return n, blocked, err
}
