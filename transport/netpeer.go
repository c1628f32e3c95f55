package transport

import (
	"context"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// NetPeer is implemented by the peers of Dial, WebSocketHandler and
// RawSocketListener (not by Pipe). It adds to Peer what a session layer or
// a router needs beyond sending and receiving: keep-alive control, the
// pre-authentication size limit, and the outbound queue for flow control.
type NetPeer interface {
	Peer
	Outbound

	// KeepAlive returns the connection's keep-alive settings (interval <= 0:
	// off) and whether it is sending pings now.
	KeepAlive() (interval, timeout time.Duration, pinging bool)
	// StartPing starts keep-alive pings on a connection that does not send
	// them yet (a RawSocket client without DialOptions.RawSocketPing) and
	// reports whether pings are running afterwards. The session layer calls
	// it after WELCOME unless the router is crossbar, which drops a
	// connection that sends it a RawSocket PING.
	StartPing() bool
	// HoldWrites makes the messages queued from now on (by Send and
	// Enqueue, from any goroutine) wait until the connection's reader next
	// reads from the socket, which is when Recv finds no complete message
	// already received, or until the connection ends; they are then
	// written together. A reader that hands received messages to other
	// goroutines calls it before dispatching them, so that their answers
	// go out in one write. Only the goroutine that calls Recv may call it,
	// and it must call Recv again without waiting for anything else.
	HoldWrites()
	// Queue is Send in two steps: it queues m (waiting, bounded by ctx and
	// the connection staying open, until the outbox has room) without
	// writing it; the next Flush or Send writes it, or the write in progress
	// does when it finishes. A sender that must put messages on the wire in
	// an order it keeps with a lock of its own queues under that lock and
	// flushes after releasing it, so that the other senders do not wait for
	// its system call.
	Queue(ctx context.Context, m protocol.Message) error
	// Flush writes what is queued, unless a write is in progress (which
	// then writes it) or the reader holds writes (HoldWrites). It never
	// waits for the socket.
	Flush()
	// Authenticated lifts the pre-authentication message size limit
	// (ServerOptions.PreAuthMaxMessageSize) to MaxMessageSize and the
	// connection out of its address's unauthenticated count. The session
	// layer calls it once WELCOME has been sent.
	Authenticated()
}

// Outbound is a connection's outbound queue as a router doing flow control
// sees it.
type Outbound interface {
	// Enqueue encodes msgs in order and queues them for writing without
	// ever waiting: what the socket takes at once is written at once, the
	// rest by a goroutine of the connection started for as long as there is
	// something to write. It returns how many messages were queued; a
	// message that cannot be encoded or is too big (a *MessageTooBigError)
	// stops the batch with its error, leaving the connection open.
	Enqueue(msgs []protocol.Message) (int, error)
	// Backlog returns the bytes queued and not yet written, and for how long
	// the writer has made no progress (0 when nothing is queued).
	Backlog() (bytes int, stalled time.Duration)
	// WaitBacklog waits until at most n bytes are queued. It returns
	// ctx.Err() when ctx ends first (the connection stays open) and an error
	// matching ErrClosed when the connection ends.
	WaitBacklog(ctx context.Context, n int) error
	// Buffered reports whether bytes of a next message have already been
	// received, so that Recv will not wait for the network.
	Buffered() bool
	// Drop ends a connection whose peer does not keep up: queued data not
	// yet started is discarded, last (if not nil) is sent after the message
	// being written, a WebSocket is closed with status 1008 and why, and the
	// socket is closed once that is written or after a grace second. Send
	// and Recv fail at once with why (matching ErrClosed).
	Drop(last protocol.Message, why error)
}

// Shared is a message sent to many peers, such as an EVENT delivered to
// every subscriber of a subscription: each serializer encodes it at most
// once, and all peers using that serializer send the same bytes. Pass it to
// Send or Enqueue like any message. Neither the message nor its payload may
// be modified after Share.
type Shared struct {
	m protocol.Message

	mu  sync.Mutex // guards enc
	enc []sharedEncoding
}

type sharedEncoding struct {
	ser protocol.Serializer
	b   []byte
	err error
}

// Share wraps m for sending to many peers.
func Share(m protocol.Message) *Shared { return &Shared{m: m} }

// Code is the code of the shared message.
func (s *Shared) Code() protocol.Code { return s.m.Code() }

// Message returns the shared message.
func (s *Shared) Message() protocol.Message { return s.m }

// encoded returns the encoding of the message by ser, computing it on
// first use. The bytes are shared and must not be modified.
func (s *Shared) encoded(ser protocol.Serializer) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.enc {
		if e.ser == ser {
			return e.b, e.err
		}
	}
	b, err := ser.Marshal(s.m)
	s.enc = append(s.enc, sharedEncoding{ser: ser, b: b, err: err})
	return b, err
}

// unshare returns the message inside a *Shared, or m itself.
func unshare(m protocol.Message) protocol.Message {
	if s, ok := m.(*Shared); ok {
		return s.m
	}
	return m
}

// marshal encodes m with ser, using the cached encoding of a *Shared.
func marshal(ser protocol.Serializer, m protocol.Message) ([]byte, error) {
	if s, ok := m.(*Shared); ok {
		return s.encoded(ser)
	}
	return ser.Marshal(m)
}
