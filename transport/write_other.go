//go:build !(darwin || linux || openbsd)

package transport

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: on this platform every write goes through the
// connection's writer goroutine.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func tryWritev(syscall.RawConn, [][]byte) (int, bool, error) {
	panic("transport: tryWritev without a raw connection")
}
