package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// Permanent reports whether a failed connection attempt cannot succeed by
// trying again with the same configuration: the URL is malformed or has an
// unknown scheme (transport.ErrBadURL), the server answered HTTP without
// upgrading to WebSocket (a *transport.HandshakeError other than 429 Too
// Many Requests and 502-504, which a proxy answers while the router
// restarts), the server's TLS certificate does not verify, or the router
// refused the join (a *session.AbortError). Connect and Switch fail at
// once on such errors; reconnection keeps trying, since a router's
// configuration can change while a service runs.
func Permanent(err error) bool {
	var abort *session.AbortError
	var hs *transport.HandshakeError
	switch {
	case err == nil:
		return false
	case errors.As(err, &abort), errors.Is(err, transport.ErrBadURL), TLSVerification(err):
		return true
	case errors.As(err, &hs):
		switch hs.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return false
		}
		return true
	}
	return false
}

// TLSVerification reports whether err is the failure to verify the
// server's TLS certificate (unknown authority, wrong host name, expired).
func TLSVerification(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// lostOn turns the failure of a request on s into an error matching
// session.ErrConnectionLost when s ended under it (the router's GOODBYE, or
// a failure the session reported as it ended), so that callers can tell a
// lost connection from an application error. WAMP errors, size limits, the
// caller's own context and failures on a live session pass unchanged.
func (c *Client) lostOn(s *session.Session, err error) error {
	if err == nil || errors.Is(err, session.ErrConnectionLost) {
		return err
	}
	var werr *session.Error
	var tooBig *transport.MessageTooBigError
	if errors.As(err, &werr) || errors.As(err, &tooBig) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if !ended(s) || c.isClosed() {
		return err // the session is still up: not a connection problem
	}
	return fmt.Errorf("%w: %w", session.ErrConnectionLost, err)
}

func ended(s *session.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}
