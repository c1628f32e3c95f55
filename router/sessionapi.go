package router

// asCallError converts a *session.Error to a callError.
func asCallError(err error) (*callError, bool) {
	return nil, false
}
