package router

import (
	"errors"

	"github.com/zabertech/go-izaber-wamp/transport"
)

// tooBig reports whether err says a message exceeded the transport's size
// limit, with the size and the limit.
func tooBig(err error) (size, limit int, ok bool) {
	var big *transport.MessageTooBigError
	if errors.As(err, &big) {
		return big.Size, big.Limit, true
	}
	return 0, 0, false
}
