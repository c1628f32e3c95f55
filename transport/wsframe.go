package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// WebSocket opcodes (RFC 6455 5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xA
)

// wsFrameReader reads WebSocket frames (RFC 6455 5.2): it checks each
// header, unmasks the payload, and refuses a data frame over its limit
// before anything is allocated for it. A read error leaves its state
// intact, so that a read interrupted by the Recv context (errInterrupted)
// resumes where it stopped; any other error is final for the connection.
//
// Owned by the connection's reader.
type wsFrameReader struct {
	r      io.Reader   // the socket, through an interrupt-aware source
	lr     *lazyReader // the buffer under r, if any: a payload it holds whole is used in place
	masked bool        // the peer masks its frames (we are the server)
	limit  int         // largest data frame payload accepted (set before each next)

	hdr  [14]byte
	hn   int // header octets read
	need int // header length, once its first two octets are in (else 0)
	// Once the header is complete and parsed:
	parsed  bool
	op      byte
	fin     bool
	key     uint32
	size    int
	payload []byte // the payload being read
	pooled  *[]byte
	ctl     [125]byte // a control frame's payload
}

// next reads one frame and returns its opcode, FIN bit and unmasked
// payload, which is the reader's until recycle (or the next call).
func (f *wsFrameReader) next() (op byte, fin bool, payload []byte, err error) {
	for f.need == 0 || f.hn < f.need {
		want := 2
		if f.need > 0 {
			want = f.need
		}
		n, err := f.r.Read(f.hdr[f.hn:want])
		f.hn += n
		if f.hn >= 2 && f.need == 0 {
			f.need = wsHeaderLen(f.hdr[0], f.hdr[1])
		}
		if err != nil {
			return 0, false, nil, f.readErr(err, "header")
		}
	}
	if !f.parsed {
		if err := f.parseHeader(); err != nil {
			return 0, false, nil, err
		}
		f.parsed = true
		if f.op < wsClose && f.lr != nil && f.lr.buffered() >= f.size {
			// The whole payload is buffered: unmasked in place.
			p := f.lr.take(f.size)
			if f.masked {
				maskBytes(p, f.key)
			}
			return f.done(p)
		}
	}
	if f.payload == nil {
		switch {
		case f.op >= wsClose:
			f.payload = f.ctl[:0]
		case f.size <= msgBufSize:
			f.pooled = msgBufs.Get().(*[]byte)
			f.payload = (*f.pooled)[:0]
		default:
			// Grown as bytes arrive, so that a peer announcing a large
			// frame and sending nothing cannot make us allocate it all.
			f.payload = make([]byte, 0, min(f.size, 64<<10))
		}
	}
	for len(f.payload) < f.size {
		if len(f.payload) == cap(f.payload) {
			f.payload = slices.Grow(f.payload, min(f.size-len(f.payload), cap(f.payload)))
		}
		start := len(f.payload)
		n, err := f.r.Read(f.payload[start:min(cap(f.payload), f.size)])
		f.payload = f.payload[:start+n]
		if f.masked && n > 0 {
			maskBytes(f.payload[start:], bits.RotateLeft32(f.key, -8*(start%4)))
		}
		if err != nil && len(f.payload) < f.size {
			return 0, false, nil, f.readErr(err, "payload")
		}
	}
	return f.done(f.payload)
}

// done ends the frame whose payload is p and returns it.
func (f *wsFrameReader) done(p []byte) (byte, bool, []byte, error) {
	op, fin := f.op, f.fin
	f.hn, f.need, f.parsed, f.payload = 0, 0, false, nil
	return op, fin, p, nil
}

// recycle gives back the pooled buffer of the last payload returned, which
// must not be used any more.
func (f *wsFrameReader) recycle() {
	if f.pooled != nil && f.payload == nil {
		msgBufs.Put(f.pooled)
		f.pooled = nil
	}
}

// wsHeaderLen is the length of a frame header whose first two octets are
// b0, b1.
func wsHeaderLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader checks the complete header in f.hdr and records the frame.
func (f *wsFrameReader) parseHeader() error {
	h := f.hdr[:f.need]
	f.fin = h[0]&0x80 != 0
	f.op = h[0] & 0x0F
	if h[0]&0x70 != 0 {
		return wsProtocolError("reserved bits set in a frame header (no extension was negotiated)")
	}
	switch f.op {
	case wsContinuation, wsText, wsBinary, wsClose, wsPing, wsPong:
	default:
		return wsProtocolError(fmt.Sprintf("unknown opcode %d", f.op))
	}
	if masked := h[1]&0x80 != 0; masked != f.masked {
		if masked {
			return wsProtocolError("masked frame from the server")
		}
		return wsProtocolError("unmasked frame from the client")
	}
	var size uint64
	switch l := h[1] & 0x7F; l {
	case 126:
		size = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		size = binary.BigEndian.Uint64(h[2:10])
		if size>>63 != 0 {
			return wsProtocolError("frame length with its most significant bit set")
		}
	default:
		size = uint64(l)
	}
	if f.masked {
		f.key = binary.LittleEndian.Uint32(h[len(h)-4:])
	}
	if f.op >= wsClose {
		if !f.fin {
			return wsProtocolError("fragmented control frame")
		}
		if size > 125 {
			return wsProtocolError(fmt.Sprintf("control frame of %d octets (at most 125)", size))
		}
	} else if size > uint64(max(f.limit, 0)) {
		// Refused before anything is allocated for it.
		return &MessageTooBigError{Size: int(min(size, 1<<62)), Limit: max(f.limit, 0), Received: true}
	}
	f.size = int(size)
	return nil
}

// readErr is the error of a read that stopped a frame short.
func (f *wsFrameReader) readErr(err error, part string) error {
	switch {
	case errors.Is(err, errInterrupted):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if f.hn == 0 {
			return fmt.Errorf("transport: websocket: connection dropped by peer without a close frame: %w", io.EOF)
		}
		return fmt.Errorf("transport: websocket: connection dropped by peer without a close frame, in the middle of a frame %s: %w", part, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("transport: websocket read: %w", err)
}

// wsProtocolError is a violation of RFC 6455 by the peer: the connection
// ends with close status 1002.
func wsProtocolError(msg string) error {
	return &wsStatusError{status: 1002, err: errors.New("transport: websocket: protocol error: " + msg)}
}
