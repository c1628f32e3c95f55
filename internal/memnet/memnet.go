// Package memnet is an in-memory network for tests: a net.Listener whose
// connections are net.Pipe pairs, so that clients and servers of package
// transport can run inside a testing/synctest bubble, where time is fake
// and advances only when every goroutine is blocked. Timing tests then hold
// however loaded the machine is.
//
// A connection can be frozen, as a peer that was SIGSTOPped (or a network
// path that went silent) looks from this side: what is written is accepted
// and lost, and nothing arrives any more.
package memnet

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Listener is an in-memory net.Listener. Dial connects to it.
type Listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// Listen returns a new listener.
func Listen() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener; Accept and Dial fail from then on.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the listener's address ("memnet").
func (l *Listener) Addr() net.Addr { return addr{} }

// Dial connects to the listener and returns the client's end, which can be
// frozen. Its signature is that of transport.DialOptions.NetDial (network
// and address are ignored).
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return &Conn{Conn: client}, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errors.New("memnet: connection refused: listener closed")
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

// Conn is the client's end of a connection.
type Conn struct {
	net.Conn
	frozen atomic.Bool
}

// Freeze makes the connection silent both ways: writes are accepted and
// dropped, and what the other end writes is read and dropped, so that
// reads wait until their deadline or Close.
func (c *Conn) Freeze() { c.frozen.Store(true) }

// Read reads what the other end wrote, unless the connection is frozen.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if err != nil || !c.frozen.Load() {
			return n, err
		}
	}
}

// Write writes to the other end, or drops b once the connection is frozen.
func (c *Conn) Write(b []byte) (int, error) {
	if c.frozen.Load() {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

type addr struct{}

func (addr) Network() string { return "memnet" }
func (addr) String() string  { return "memnet" }
