package router

// tooBig reports whether err says a message exceeded the transport's size
// limit, with the size and the limit.
func tooBig(err error) (size, limit int, ok bool) {
	return 0, 0, false
}
