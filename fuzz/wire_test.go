package fuzz

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// maxRecords bounds the work one input can ask for.
const maxRecords = 64

// record is one step of an input: a selector (which session, or what to
// do) and a frame.
type record struct {
	sel   byte
	frame []byte
}

// records splits an input into records: [sel][len:2][frame]... A short
// last record takes what is left.
func records(data []byte) []record {
	var out []record
	for len(data) >= 3 && len(out) < maxRecords {
		n := int(binary.BigEndian.Uint16(data[1:3]))
		rest := data[3:]
		n = min(n, len(rest))
		out = append(out, record{sel: data[0], frame: rest[:n]})
		data = rest[n:]
	}
	return out
}

// encodeRecords is the inverse of records, for seeds.
func encodeRecords(rs ...record) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r.sel)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.frame)))
		b = append(b, r.frame...)
	}
	return b
}

// wirePeer is a transport.Peer whose other end deals in raw frames: what
// is pushed in is decoded by Recv with the peer's serializer, exactly as a
// WebSocket peer decodes what arrives, and what Send marshals comes out
// of out. Closing either end ends both.
//
// push returns only when the reader has handled the frame and called Recv
// again (or the peer closed), so that the frames of several peers are
// handled in the order of the input, which keeps a fuzz input's outcome
// reproducible.
type wirePeer struct {
	ser     protocol.Serializer
	in      chan []byte
	out     chan []byte
	entered atomic.Int64  // Recv calls so far
	wake    chan struct{} // signalled after entered grows
	pushed  int64         // frames pushed; owned by the pushing goroutine
	done    chan struct{}
	once    sync.Once
}

func newWirePeer(ser protocol.Serializer) *wirePeer {
	return &wirePeer{ser: ser, in: make(chan []byte), out: make(chan []byte, 16),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (p *wirePeer) Send(ctx context.Context, m protocol.Message) error {
	b, err := p.ser.Marshal(m)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
		return transport.ErrClosed
	default:
	}
	select {
	case p.out <- b:
		return nil
	case <-p.done:
		return transport.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *wirePeer) Recv(ctx context.Context) (protocol.Message, error) {
	p.entered.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case b := <-p.in:
		return p.ser.Unmarshal(b)
	case <-p.done:
		return nil, transport.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *wirePeer) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *wirePeer) Serializer() protocol.Serializer { return p.ser }

// push hands a frame to Recv and waits until the reader asks for the
// next one; false when the peer is closed or ctx ended first. One
// goroutine pushes.
func (p *wirePeer) push(ctx context.Context, b []byte) bool {
	select {
	case p.in <- b:
	case <-p.done:
		return false
	case <-ctx.Done():
		return false
	}
	// The n-th Recv takes the n-th frame; the one after it means the
	// frame has been handled.
	p.pushed++
	for p.entered.Load() <= p.pushed {
		select {
		case <-p.wake:
		case <-p.done:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// pull returns the next frame the peer sent; false when it is closed and
// drained, or ctx ended.
func (p *wirePeer) pull(ctx context.Context) ([]byte, bool) {
	select {
	case b := <-p.out:
		return b, true
	default:
	}
	select {
	case b := <-p.out:
		return b, true
	case <-p.done:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

var serializers = [...]protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}

// frame encodes m for a seed, in s's format.
func frame(s protocol.Serializer, m protocol.Message) []byte {
	b, err := s.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
