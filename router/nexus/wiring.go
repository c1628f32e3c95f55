package nexus

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// ErrNotAuthorized is the URI of an authorization denial.
const ErrNotAuthorized = protocol.URINotAuthorized

// Authorizer returns the realm authorizer: the caller's role rules (trust
// bypasses them) and, for API key and OTP sessions, the key restrictions.
// A denial is a *session.Error with URI wamp.error.not_authorized and
// crossbar's message naming the URI.
//
// It is a router.PatternAuthorizer: a prefix or wildcard registration or
// subscription is allowed whole when every URI it matches is allowed,
// refused when none is, and otherwise allowed with each call or event
// checked before it is delivered. A URI with an empty component (a pattern
// passed as a URI) is refused.
func (s *Service) Authorizer() router.Authorizer { return authorizer{s} }

type authorizer struct{ s *Service }

func (a authorizer) Authorize(_ context.Context, si *router.SessionInfo, action router.Action, uri string) error {
	if !strings.Contains("."+uri+".", "..") && a.s.allowed(si.AuthRole, si.AuthExtra, string(action), uri) {
		return nil
	}
	return a.denied(si, action, uri)
}

func (a authorizer) AuthorizePattern(_ context.Context, si *router.SessionInfo, action router.Action, pattern, match string) (bool, error) {
	want, ok := actionPerm(string(action))
	if !ok {
		return false, a.denied(si, action, pattern)
	}
	switch a.s.grantFor(si.AuthRole, si.AuthExtra, true).scope(pattern, match, want) {
	case scopeWhole:
		return true, nil
	case scopeSome:
		return false, nil
	}
	return false, a.denied(si, action, pattern)
}

func (a authorizer) denied(si *router.SessionInfo, action router.Action, uri string) error {
	return session.NewError(ErrNotAuthorized,
		protocol.List{deniedMessage(si.ID, si.AuthID, si.AuthRole, si.Realm, string(action), uri)}, nil)
}

// Install registers every service on rl, bare and under com.izaber.wamp.,
// and hooks the realm's joins and leaves (roster entries and cookies of a
// session go when it leaves). Install a Service on one realm, once.
func (s *Service) Install(rl *router.Realm) error {
	if rl == nil {
		return fmt.Errorf("nexus: install: nil realm")
	}
	for _, svc := range services {
		uris := []string{svc.name, prefix + svc.name}
		if svc.prefixedOnly {
			uris = uris[1:]
		}
		for _, uri := range uris {
			if err := rl.RegisterInternal(uri, s.handler(uri)); err != nil {
				return fmt.Errorf("nexus: install %s: %w", uri, err)
			}
		}
	}
	rl.OnJoin(func(si *router.SessionInfo) { s.joined(si.ID, si.AuthExtra) })
	rl.OnLeave(func(si *router.SessionInfo) { s.left(si.ID, si.AuthExtra) })
	return nil
}

func (s *Service) handler(uri string) router.InternalHandler {
	return func(_ context.Context, caller *router.SessionInfo, inv *session.Invocation) (*session.Result, error) {
		v, err := s.invoke(&call{
			name: uri, session: caller.ID, authid: caller.AuthID, role: caller.AuthRole,
			extra: caller.AuthExtra, peer: peerHost(caller.RemoteAddr), addr: caller.RemoteAddr,
			args: inv.Args, kwargs: inv.Kwargs,
		})
		if err != nil {
			u, args, kwargs := errorURI(err)
			return nil, session.NewError(u, args, kwargs)
		}
		return &session.Result{Args: protocol.List{v}}, nil
	}
}

// peerHost is how Nexus names a client's address in an OTP's origin: the
// IP address of a TCP client, "unix" for a Unix socket, else "unknown".
func peerHost(a net.Addr) string {
	switch x := a.(type) {
	case *net.TCPAddr:
		return x.IP.String()
	case *net.UnixAddr:
		return "unix"
	case nil:
		return "unknown"
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return "unknown"
}
