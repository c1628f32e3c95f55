package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// RawSocketListener accepts RawSocket connections (TCP, TLS or Unix). Each
// connection's handshake runs on its own goroutine with a timeout, so a
// silent client never delays the others.
type RawSocketListener struct {
	l       net.Listener
	lim     limits
	timeout time.Duration
	addrs   *AddressLimit

	ready chan Peer     // handshaken peers, taken by Accept
	done  chan struct{} // closed by Close
	once  sync.Once
	wg    sync.WaitGroup // accept loop + handshake goroutines

	mu        sync.Mutex
	pending   map[net.Conn]struct{} // connections in their handshake
	acceptErr error                 // why the accept loop stopped
	failed    chan struct{}         // closed when acceptErr is set
}

// ListenRawSocket listens on network ("tcp", "tcp4", "tcp6" or "unix") and
// addr. ctx bounds setting up the listener only; Close stops it. For
// RawSocket over TLS wrap a listener with tls.NewListener and use
// NewRawSocketListener.
func ListenRawSocket(ctx context.Context, network, addr string, opts ServerOptions) (*RawSocketListener, error) {
	lim, err := serverLimits(opts)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	return newRawSocketListener(l, lim, opts), nil
}

// NewRawSocketListener serves RawSocket on an existing listener, which it
// takes over (Close closes it).
func NewRawSocketListener(l net.Listener, opts ServerOptions) (*RawSocketListener, error) {
	lim, err := serverLimits(opts)
	if err != nil {
		return nil, err
	}
	return newRawSocketListener(l, lim, opts), nil
}

func serverLimits(opts ServerOptions) (limits, error) {
	if opts.HandshakeTimeout < 0 {
		return limits{}, fmt.Errorf("transport: negative HandshakeTimeout %v", opts.HandshakeTimeout)
	}
	if opts.PreAuthMaxMessageSize < 0 {
		return limits{}, fmt.Errorf("transport: negative PreAuthMaxMessageSize %d", opts.PreAuthMaxMessageSize)
	}
	lim, err := resolveLimits(opts.Serializers, opts.MaxMessageSize, opts.PingInterval, opts.PongTimeout, opts.RawSocketPing, opts.Logger)
	if opts.PreAuthMaxMessageSize < lim.maxSize {
		lim.preAuthSize = opts.PreAuthMaxMessageSize
	}
	lim.refusals = newRefusalLog(lim.log)
	return lim, err
}

func newRawSocketListener(l net.Listener, lim limits, opts ServerOptions) *RawSocketListener {
	rl := &RawSocketListener{
		l:       l,
		lim:     lim,
		timeout: opts.HandshakeTimeout,
		ready:   make(chan Peer),
		done:    make(chan struct{}),
		pending: make(map[net.Conn]struct{}),
		failed:  make(chan struct{}),
		addrs:   opts.AddressLimit,
	}
	if rl.timeout == 0 {
		rl.timeout = DefaultHandshakeTimeout
	}
	rl.wg.Add(1)
	go rl.acceptLoop()
	return rl
}

// Addr is the listening address.
func (rl *RawSocketListener) Addr() net.Addr { return rl.l.Addr() }

// Accept returns the next connection whose handshake succeeded. Failed
// handshakes are logged and never returned. After Close it returns
// ErrClosed.
func (rl *RawSocketListener) Accept(ctx context.Context) (Peer, error) {
	select {
	case p := <-rl.ready:
		return p, nil
	case <-rl.done:
		return nil, ErrClosed
	case <-rl.failed:
		return nil, rl.acceptErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops listening, drops connections still in their handshake, and
// waits for the listener's goroutines. Peers already returned by Accept stay
// open.
func (rl *RawSocketListener) Close() error {
	var err error
	rl.once.Do(func() {
		close(rl.done)
		err = rl.l.Close()
		rl.mu.Lock()
		for c := range rl.pending {
			_ = c.Close()
		}
		rl.mu.Unlock()
		rl.wg.Wait()
	})
	return err
}

func (rl *RawSocketListener) acceptLoop() {
	defer rl.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := rl.l.Accept()
		if err != nil {
			select {
			case <-rl.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			rl.mu.Lock()
			rl.acceptErr = fmt.Errorf("transport: rawsocket accept: %w", err)
			rl.mu.Unlock()
			close(rl.failed)
			return
		}
		backoff = 5 * time.Millisecond
		rl.mu.Lock()
		select {
		case <-rl.done:
			rl.mu.Unlock()
			_ = c.Close()
			return
		default:
		}
		rl.pending[c] = struct{}{}
		rl.wg.Add(1)
		rl.mu.Unlock()
		slot, ok := rl.addrs.acquire(c.RemoteAddr().String())
		if !ok {
			go rl.refuse(c)
			continue
		}
		go rl.handshake(c, slot)
	}
}

// refuse answers a client over its address's connection limit with the
// handshake error "maximum connection count reached".
func (rl *RawSocketListener) refuse(c net.Conn) {
	defer rl.wg.Done()
	rl.lim.refusals.Info("transport: rawsocket connection refused: too many from this address", "remote", c.RemoteAddr(), "limit", rl.addrs.String())
	_ = c.SetDeadline(time.Now().Add(min(rl.timeout, time.Second)))
	var hello [4]byte
	if _, err := io.ReadFull(c, hello[:]); err == nil && hello[0] == rawSocketMagic {
		reply := encodeServerError(RawSocketMaxConnections)
		_, _ = c.Write(reply[:])
	}
	rl.mu.Lock()
	delete(rl.pending, c)
	rl.mu.Unlock()
	_ = c.Close()
}

func (rl *RawSocketListener) handshake(c net.Conn, slot *addrSlot) {
	defer rl.wg.Done()
	ser, clientMax, err := serverHandshake(c, rl.lim.serializers, rl.lim.maxSize, rl.timeout)
	rl.mu.Lock()
	delete(rl.pending, c)
	rl.mu.Unlock()
	if err != nil {
		slot.release()
		rl.lim.refusals.Info("transport: rawsocket handshake failed", "remote", c.RemoteAddr(), "err", err)
		_ = c.Close()
		return
	}
	p := newRawSocketPeer(c, ser, rl.lim, clientMax, rl.lim.rawSocketPing, slot)
	select {
	case rl.ready <- p:
	case <-rl.done:
		_ = p.Close()
	}
}
