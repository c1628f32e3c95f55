package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// fakeConn is a net.Conn that reads from a fixed input and records writes.
type fakeConn struct {
	r      io.Reader
	mu     sync.Mutex
	out    bytes.Buffer
	closed bool
}

func (c *fakeConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}
func (c *fakeConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *fakeConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}
func (*fakeConn) LocalAddr() net.Addr                { return &net.UnixAddr{Name: "fake", Net: "unix"} }
func (*fakeConn) RemoteAddr() net.Addr               { return &net.UnixAddr{Name: "fake", Net: "unix"} }
func (*fakeConn) SetDeadline(t time.Time) error      { return nil }
func (*fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (*fakeConn) SetWriteDeadline(t time.Time) error { return nil }

func frameBytes(typ byte, payload []byte) []byte {
	h := encodeFrameHeader(typ, len(payload))
	return append(h[:], payload...)
}

// FuzzRawSocketFrameReader feeds arbitrary bytes to the frame reader (every
// frame it accepts must re-encode to exactly the bytes it consumed, within
// the limit) and then to a whole RawSocket peer (which must end with an
// error matching ErrClosed, never panic or hang).
func FuzzRawSocketFrameReader(f *testing.F) {
	call, _ := protocol.JSON.Marshal(testCall(1))
	f.Add([]byte{}, uint16(512))
	f.Add(frameBytes(frameMessage, call), uint16(4096))
	f.Add(append(frameBytes(framePing, []byte("ping")), frameBytes(frameMessage, call)...), uint16(4096))
	f.Add(frameBytes(framePong, nil), uint16(0))
	f.Add([]byte{0x08, 0, 0, 0}, uint16(65535))
	f.Add([]byte{0x00, 0xFF, 0xFF, 0xFF, 1, 2}, uint16(100))
	f.Add([]byte("GET / HTTP/1.1\r\n"), uint16(512))
	f.Add(append(frameBytes(frameMessage, []byte("[1,\"x\"")), 0, 0), uint16(512))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		lim := int(limit)
		fr := &frameReader{r: bytes.NewReader(data), limit: lim}
		consumed := 0
		for {
			typ, payload, err := fr.next()
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error text")
				}
				if errors.Is(err, errClosedByPeer) && consumed != len(data) {
					t.Fatalf("clean close after %d of %d bytes", consumed, len(data))
				}
				break
			}
			if typ > framePong {
				t.Fatalf("accepted frame type %d", typ)
			}
			if len(payload) > lim {
				t.Fatalf("accepted %d bytes over limit %d", len(payload), lim)
			}
			want := frameBytes(typ, payload)
			if consumed+len(want) > len(data) || !bytes.Equal(data[consumed:consumed+len(want)], want) {
				t.Fatalf("frame at %d does not re-encode to its input", consumed)
			}
			consumed += len(want)
		}

		// The whole peer over the same input.
		lims, err := resolveLimits([]protocol.Serializer{protocol.JSON}, max(lim, 1), -1, 0, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		conn := &fakeConn{r: bytes.NewReader(data)}
		recvUntilClosed(t, newRawSocketPeer(conn, protocol.JSON, lims, 1<<24, false, nil))
	})
}

// recvUntilClosed reads p until it ends, which must be with an error
// matching ErrClosed, and closes it.
func recvUntilClosed(t *testing.T, p Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer p.Close()
	for {
		_, err := p.Recv(ctx)
		if err == nil || (errors.Is(err, protocol.ErrInvalidMessage) && !errors.Is(err, ErrClosed)) {
			continue
		}
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("peer ended with %v, want an error matching ErrClosed", err)
		}
		return
	}
}

// FuzzRawSocketHandshake feeds arbitrary handshake octets to both parsers
// and to both handshake drivers.
func FuzzRawSocketHandshake(f *testing.F) {
	f.Add([]byte{0x7F, 0xF1, 0, 0})
	f.Add([]byte{0x7F, 0xF2, 0, 0})
	f.Add([]byte{0x7F, 0x03, 0, 0})
	f.Add([]byte{0x7F, 0x10, 0, 0})
	f.Add([]byte{0x7F, 0x40, 0, 0})
	f.Add([]byte{0x7F, 0xF0, 0, 0})
	f.Add([]byte{0x7F, 0xF9, 0, 0})
	f.Add([]byte{0x7F, 0xF1, 0, 1})
	f.Add([]byte("HTTP/1.1 400"))
	f.Add([]byte{0x7F, 0xF2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [4]byte
		copy(b[:], data)

		ser, maxLen, code, err := parseClientHello(b)
		if err == nil {
			if ser == 0 || encodeClientHello(ser, maxLen) != b {
				t.Fatalf("accepted hello % x does not re-encode (ser %d, max %d)", b, ser, maxLen)
			}
		} else if code != 0 && code != RawSocketSerializerUnsupported && code != RawSocketReservedBitsUsed {
			t.Fatalf("unexpected reply code %d", code)
		}

		want := byte(1)
		if len(data) > 4 {
			want = data[4]%3 + 1
		}
		max2, err := parseServerReply(b, want)
		var re *RawSocketError
		switch {
		case err == nil:
			if encodeServerReply(want, max2) != b {
				t.Fatalf("accepted reply % x does not re-encode", b)
			}
		case errors.As(err, &re):
			if b[1]&0x0F != 0 || re.Code != int(b[1]>>4) || re.Error() == "" {
				t.Fatalf("refusal % x decoded as code %d", b, re.Code)
			}
		}

		// Server handshake over the raw input.
		conn := &fakeConn{r: bytes.NewReader(data)}
		got, clientMax, err := serverHandshake(conn, allSers, 1<<20, time.Second)
		out := conn.written()
		if err == nil {
			if got == nil || clientMax < rawSocketMinLen || len(out) != 4 || out[0] != 0x7F || out[1]&0x0F != got.RawSocketID() {
				t.Fatalf("handshake accepted % x: ser %v, max %d, reply % x", data, got, clientMax, out)
			}
		} else if len(out) != 0 && (len(out) != 4 || out[1]&0x0F != 0) {
			t.Fatalf("refusal reply % x", out)
		}

		// Client handshake reading the input as the server's reply.
		cconn := &fakeConn{r: bytes.NewReader(data)}
		limit, err := clientHandshake(context.Background(), cconn, protocol.MsgPack, 1<<20)
		if err == nil && (len(data) < 4 || data[1]&0x0F != 2 || limit < rawSocketMinLen) {
			t.Fatalf("client accepted reply % x (limit %d)", data, limit)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}

// chunkReader returns its input in pieces whose sizes come from sizes,
// answering errInterrupted between pieces, as a socket read interrupted by
// the Recv context does.
type chunkReader struct {
	data        []byte
	sizes       []byte
	interrupted bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if !c.interrupted {
		c.interrupted = true
		return 0, errInterrupted
	}
	c.interrupted = false
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[0])%64 + 1
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// sameFrames fails the test unless the frames read with interruptions
// (got) are those read without (want).
func sameFrames[F comparable](t *testing.T, got, want []F) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames with interruptions, %d without", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d differs: %+v / %+v", i, got[i], want[i])
		}
	}
}

// FuzzFrameReaderResumes: a frame reader interrupted between any two reads
// resumes where it stopped, so it yields the same frames as one reading
// without interruption.
func FuzzFrameReaderResumes(f *testing.F) {
	call, _ := protocol.JSON.Marshal(testCall(1))
	f.Add(frameBytes(frameMessage, call), []byte{1, 2, 3})
	f.Add(append(frameBytes(framePing, []byte("ping")), frameBytes(frameMessage, call)...), []byte{0, 63, 5})
	f.Add([]byte{0x08, 0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		type frame struct {
			typ     byte
			payload string
		}
		read := func(r io.Reader) (frames []frame, end string) {
			fr := &frameReader{r: r, limit: 1 << 16}
			for {
				typ, payload, err := fr.next()
				if errors.Is(err, errInterrupted) {
					continue
				}
				if err != nil {
					return frames, err.Error()
				}
				frames = append(frames, frame{typ, string(payload)})
			}
		}
		want, wantEnd := read(bytes.NewReader(data))
		got, gotEnd := read(&chunkReader{data: data, sizes: sizes})
		sameFrames(t, got, want)
		// The end differs only in how much of a truncated frame was read.
		if (wantEnd == errClosedByPeer.Error()) != (gotEnd == errClosedByPeer.Error()) {
			t.Fatalf("ended with %q, want %q", gotEnd, wantEnd)
		}
	})
}

// wsFrameBytes encodes one WebSocket frame, masked with key when masked.
func wsFrameBytes(b0 byte, payload []byte, masked bool, key uint32) []byte {
	var f []byte
	b1 := byte(0)
	if masked {
		b1 = 0x80
	}
	switch l := len(payload); {
	case l <= 125:
		f = append(f, b0, b1|byte(l))
	case l <= 0xFFFF:
		f = append(f, b0, b1|126, byte(l>>8), byte(l))
	default:
		f = append(f, b0, b1|127)
		f = binary.BigEndian.AppendUint64(f, uint64(l))
	}
	if !masked {
		return append(f, payload...)
	}
	f = binary.LittleEndian.AppendUint32(f, key)
	start := len(f)
	f = append(f, payload...)
	maskBytes(f[start:], key)
	return f
}

// newTestWSPeer is a WebSocket peer over conn without a handshake.
func newTestWSPeer(conn net.Conn, client bool, maxSize int) *wsPeer {
	lims, err := resolveLimits([]protocol.Serializer{protocol.JSON}, max(maxSize, 1), -1, 0, false, nil)
	if err != nil {
		panic(err)
	}
	p := &wsPeer{}
	wc := &wsConn{Conn: conn, p: p}
	p.wc = wc
	wc.lr = newLazyReader(countingReader{r: conn, c: &p.core})
	return newWSPeer(nil, wc, conn, conn, protocol.JSON, lims, client)
}

// FuzzWebSocketFrameReader feeds arbitrary bytes to the WebSocket frame
// reader of a server (masked frames) or a client (unmasked): every frame it
// accepts must keep its limits and re-encode to the bytes it consumed; then
// to a whole peer, which must end with an error matching ErrClosed, never
// panic or hang.
func FuzzWebSocketFrameReader(f *testing.F) {
	call, _ := protocol.JSON.Marshal(testCall(1))
	f.Add(wsFrameBytes(0x81, call, true, 0x01020304), true, uint16(4096))
	f.Add(wsFrameBytes(0x81, call, false, 0), false, uint16(4096))
	f.Add(append(wsFrameBytes(0x01, call[:5], true, 7), wsFrameBytes(0x80, call[5:], true, 9)...), true, uint16(4096))
	f.Add(append(wsFrameBytes(0x89, []byte("ping"), false, 0), wsFrameBytes(0x81, call, false, 0)...), false, uint16(512))
	f.Add(wsFrameBytes(0x88, []byte{0x03, 0xE8, 'b', 'y', 'e'}, true, 5), true, uint16(512))
	f.Add(wsFrameBytes(0x82, make([]byte, 300), false, 0), false, uint16(100))
	f.Add([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, true, uint16(512))
	f.Fuzz(func(t *testing.T, data []byte, server bool, limit uint16) {
		lim := int(limit)
		fr := &wsFrameReader{r: bytes.NewReader(data), masked: server, limit: lim}
		consumed := 0
		for {
			op, fin, payload, err := fr.next()
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error text")
				}
				break
			}
			switch {
			case op >= wsClose && (len(payload) > 125 || !fin):
				t.Fatalf("accepted control frame %d of %d octets, fin %v", op, len(payload), fin)
			case op < wsClose && len(payload) > lim:
				t.Fatalf("accepted %d octets over limit %d", len(payload), lim)
			}
			// Re-encode with the header's own length encoding and key.
			h := data[consumed:]
			hl := wsHeaderLen(h[0], h[1])
			key := uint32(0)
			if server {
				key = binary.LittleEndian.Uint32(h[hl-4 : hl])
			}
			want := wsFrameBytes(h[0], payload, server, key)
			got := data[consumed : consumed+hl+len(payload)]
			if !bytes.Equal(got[len(got)-len(payload):], want[len(want)-len(payload):]) {
				t.Fatalf("frame at %d: payload does not re-encode to its input", consumed)
			}
			consumed += hl + len(payload)
			fr.recycle()
		}

		// The whole peer over the same input.
		recvUntilClosed(t, newTestWSPeer(&fakeConn{r: bytes.NewReader(data)}, !server, lim))
	})
}

// FuzzWebSocketFrameReaderResumes: a WebSocket frame reader interrupted
// between any two reads resumes where it stopped, so it yields the same
// frames as one reading without interruption.
func FuzzWebSocketFrameReaderResumes(f *testing.F) {
	call, _ := protocol.JSON.Marshal(testCall(1))
	f.Add(wsFrameBytes(0x81, call, true, 0x0a0b0c0d), []byte{1, 2, 3}, true)
	f.Add(append(wsFrameBytes(0x89, []byte("ping"), false, 0), wsFrameBytes(0x82, call, false, 0)...), []byte{0, 63, 5}, false)
	f.Add(append(wsFrameBytes(0x01, call[:7], true, 1), wsFrameBytes(0x80, call[7:], true, 2)...), []byte{4}, true)
	f.Fuzz(func(t *testing.T, data, sizes []byte, server bool) {
		type frame struct {
			op      byte
			fin     bool
			payload string
		}
		read := func(r io.Reader) (frames []frame, end string) {
			fr := &wsFrameReader{r: r, masked: server, limit: 1 << 16}
			for {
				op, fin, payload, err := fr.next()
				if errors.Is(err, errInterrupted) {
					continue
				}
				if err != nil {
					return frames, err.Error()
				}
				frames = append(frames, frame{op, fin, string(payload)})
				fr.recycle()
			}
		}
		want, wantEnd := read(bytes.NewReader(data))
		got, gotEnd := read(&chunkReader{data: data, sizes: sizes})
		sameFrames(t, got, want)
		if strings.Contains(wantEnd, "protocol error") != strings.Contains(gotEnd, "protocol error") {
			t.Fatalf("ended with %q, want %q", gotEnd, wantEnd)
		}
	})
}
