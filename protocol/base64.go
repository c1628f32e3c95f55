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
	// 24 input bytes -> 32 output bytes per step, then 6 -> 8.
	for ; len(src)-si >= 26 && len(out)-di >= 32; si, di = si+24, di+32 {
		s := src[si : si+26]
		o := out[di : di+32]
		v0 := binary.BigEndian.Uint64(s[0:])
		v1 := binary.BigEndian.Uint64(s[6:])
		v2 := binary.BigEndian.Uint64(s[12:])
		v3 := binary.BigEndian.Uint64(s[18:])
		binary.LittleEndian.PutUint64(o[0:], quad(v0))
		binary.LittleEndian.PutUint64(o[8:], quad(v1))
		binary.LittleEndian.PutUint64(o[16:], quad(v2))
		binary.LittleEndian.PutUint64(o[24:], quad(v3))
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

// quad encodes the top 48 bits of v as 8 base64 characters.
func quad(v uint64) uint64 {
	return uint64(b64pairs[v>>52&0xfff]) |
		uint64(b64pairs[v>>40&0xfff])<<16 |
		uint64(b64pairs[v>>28&0xfff])<<32 |
		uint64(b64pairs[v>>16&0xfff])<<48
}

// growBytes extends b by n bytes (contents of the new part unspecified).
func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	return append(b, make([]byte, n)...)
}
