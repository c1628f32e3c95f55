package transport

import (
	"context"
	"sync"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Pipe returns two connected in-memory peers. With a nil serializer messages
// are passed by reference: the receiver sees the sender's value, so neither
// side may modify a message after sending it. With a serializer every message
// is marshalled and unmarshalled, which copies it and exercises the codec.
// Closing either end closes both; messages sent before Close are still
// delivered to the other end.
func Pipe(s protocol.Serializer) (Peer, Peer) {
	ab := make(chan pipeItem, 64)
	ba := make(chan pipeItem, 64)
	shared := &pipeShared{done: make(chan struct{})}
	return &pipePeer{in: ba, out: ab, shared: shared, ser: s},
		&pipePeer{in: ab, out: ba, shared: shared, ser: s}
}

type pipeItem struct {
	msg  protocol.Message
	data []byte
}

type pipeShared struct {
	once sync.Once
	done chan struct{}
}

type pipePeer struct {
	in     <-chan pipeItem
	out    chan<- pipeItem
	shared *pipeShared
	ser    protocol.Serializer
}

func (p *pipePeer) Serializer() protocol.Serializer { return p.ser }

func (p *pipePeer) Send(ctx context.Context, m protocol.Message) error {
	if m == nil || unshare(m) == nil {
		return errNilMessage
	}
	it := pipeItem{msg: unshare(m)}
	if p.ser != nil {
		b, err := marshal(p.ser, m)
		if err != nil {
			return err
		}
		it = pipeItem{data: b}
	}
	select {
	case <-p.shared.done:
		return ErrClosed
	default:
	}
	select {
	case p.out <- it:
		return nil
	case <-p.shared.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipePeer) Recv(ctx context.Context) (protocol.Message, error) {
	select {
	case it := <-p.in:
		return p.decode(it)
	default:
	}
	select {
	case it := <-p.in:
		return p.decode(it)
	case <-p.shared.done:
		select {
		case it := <-p.in:
			return p.decode(it)
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipePeer) decode(it pipeItem) (protocol.Message, error) {
	if p.ser == nil {
		return it.msg, nil
	}
	return p.ser.Unmarshal(it.data)
}

func (p *pipePeer) Close() error {
	p.shared.once.Do(func() { close(p.shared.done) })
	return nil
}
