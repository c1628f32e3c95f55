package transport

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestReadBurstAtOnce: a burst already received is read with one read into
// a big buffer, not 256 octets first (the small buffer, upgraded once it
// filled up) and the rest after; and once everything is consumed, a read
// that has to wait gives the big buffer back first.
func TestReadBurstAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	var c core
	lr := newLazyReader(countingReader{r: server, c: &c})
	defer lr.release()
	// One write smaller than a segment: it arrives whole.
	burst := bytes.Repeat([]byte("wamp"), 512)
	if _, err := client.Write(burst); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(lr, hdr[:]); err != nil {
		t.Fatal(err)
	}
	if got := lr.buffered(); got != len(burst)-len(hdr) {
		t.Fatalf("after the first read %d octets are buffered, want the rest of the %d-octet burst (%d)", got, len(burst), len(burst)-len(hdr))
	}
	if _, err := io.ReadFull(lr, make([]byte, len(burst)-len(hdr))); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Traffic(); got != uint64(len(burst)) {
		t.Fatalf("traffic in = %d, want %d", got, len(burst))
	}

	// Nothing more is coming: the read waits (until the deadline) holding
	// no big buffer.
	if err := server.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := lr.Read(hdr[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing to read = %v, want the deadline", err)
	}
	if lr.big != nil {
		t.Fatal("the reader still holds its big buffer after a read that had to wait")
	}

	// The peer closes: EOF.
	if err := server.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	client.Close()
	if _, err := lr.Read(hdr[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the peer closed = %v, want io.EOF", err)
	}
}
