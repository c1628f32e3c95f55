package nexus

import (
	"context"
	"fmt"
	"net"

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
func (s *Service) Authorizer() router.Authorizer { return authorizer{s} }

type authorizer struct{ s *Service }

func (a authorizer) Authorize(_ context.Context, si *router.SessionInfo, action router.Action, uri string) error {
	if a.s.allowed(si.AuthRole, si.AuthExtra, string(action), uri) {
		return nil
	}
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
			extra: caller.AuthExtra, peer: peerHost(caller.RemoteAddr),
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
