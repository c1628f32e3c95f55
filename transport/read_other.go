//go:build !(darwin || linux || openbsd)

package transport

import "net"

// rawReader is not used on this platform: every read goes through the
// connection's Read.
type rawReader struct{}

// newRawReader returns nil.
func newRawReader(net.Conn, *lazyReader, *core) *rawReader { return nil }

func (*rawReader) fill() error { panic("transport: raw read without a raw connection") }
