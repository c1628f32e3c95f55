//go:build !(darwin || linux || openbsd)

package transport

import "net"

// rawWriter is not used on this platform: every write goes through the
// connection's writer goroutine.
type rawWriter struct{}

// newRawWriter returns nil.
func newRawWriter(net.Conn) *rawWriter { return nil }

func (*rawWriter) writev([][]byte) (int, bool, error) {
	panic("transport: writev without a raw connection")
}
