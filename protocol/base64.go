package protocol

import (
	"encoding/base64"
	"encoding/binary"
)

// b64pairs maps 12 bits to their two standard-alphabet base64 characters
// (little-endian in a uint16), so that 3 input bytes take two lookups.
var b64pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// appendBase64 appends the standard, padded base64 encoding of src to dst.
// It produces the same bytes as base64.StdEncoding.AppendEncode, faster.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	start := len(dst)
	dst = growBytes(dst, n)
	out := dst[start : start+n]
	si, di := 0, 0
	// 12 input bytes -> 16 output bytes per step, then 6 -> 8.
	for ; len(src)-si >= 14 && len(out)-di >= 16; si, di = si+12, di+16 {
		v := binary.BigEndian.Uint64(src[si:])
		u := binary.BigEndian.Uint64(src[si+6:])
		binary.LittleEndian.PutUint64(out[di:], uint64(b64pairs[v>>52&0xfff])|
			uint64(b64pairs[v>>40&0xfff])<<16|
			uint64(b64pairs[v>>28&0xfff])<<32|
			uint64(b64pairs[v>>16&0xfff])<<48)
		binary.LittleEndian.PutUint64(out[di+8:], uint64(b64pairs[u>>52&0xfff])|
			uint64(b64pairs[u>>40&0xfff])<<16|
			uint64(b64pairs[u>>28&0xfff])<<32|
			uint64(b64pairs[u>>16&0xfff])<<48)
	}
	for ; len(src)-si >= 8 && len(out)-di >= 8; si, di = si+6, di+8 {
		v := binary.BigEndian.Uint64(src[si:]) // reads 8, uses the top 48 bits
		w := uint64(b64pairs[v>>52&0xfff]) |
			uint64(b64pairs[v>>40&0xfff])<<16 |
			uint64(b64pairs[v>>28&0xfff])<<32 |
			uint64(b64pairs[v>>16&0xfff])<<48
		binary.LittleEndian.PutUint64(out[di:], w)
	}
	base64.StdEncoding.Encode(out[di:], src[si:])
	return dst
}

// growBytes extends b by n bytes (contents of the new part unspecified).
func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	return append(b, make([]byte, n)...)
}
