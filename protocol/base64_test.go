package protocol

import (
	"encoding/base64"
	"testing"
)

func TestAppendBase64(t *testing.T) {
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(i*131 + 7)
	}
	for n := range len(src) {
		want := base64.StdEncoding.AppendEncode([]byte("x"), src[:n])
		if got := appendBase64([]byte("x"), src[:n]); string(got) != string(want) {
			t.Fatalf("len %d: got %s, want %s", n, got, want)
		}
	}
}
