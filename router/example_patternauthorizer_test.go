package router_test

// A whole-file example: the authorizer type and its methods are part of it.

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// appAuthorizer lets sessions of role "app" use app.* except app.admin and
// what is under it. It understands patterns: it allows a pattern whole
// when it cannot reach app.admin, and otherwise lets the router check
// every URI the pattern delivers (with Authorize).
type appAuthorizer struct{}

func (appAuthorizer) Authorize(_ context.Context, s *router.SessionInfo, _ router.Action, uri string) error {
	if s.AuthRole == "app" && (uri == "app.admin" || strings.HasPrefix(uri, "app.admin.")) {
		return session.NewError(protocol.URINotAuthorized, nil, nil)
	}
	return nil
}

func (a appAuthorizer) AuthorizePattern(ctx context.Context, s *router.SessionInfo, action router.Action, pattern, match string) (bool, error) {
	if s.AuthRole != "app" {
		return true, nil
	}
	// Whole when the pattern fixes a second component other than admin
	// (app.x. as a prefix, app.x..y as a wildcard); app.adm (a prefix of
	// app.admin) or app..y (a wildcard over it) need a check per URI.
	parts := strings.Split(pattern, ".")
	return len(parts) > 2 && parts[0] == "app" && parts[1] != "" && parts[1] != "admin", nil
}

// A PatternAuthorizer sees the match policy of pattern registrations and
// subscriptions: here a session of role "app" registers the prefix
// app.adm, which also matches app.admin, and the router keeps the admin
// calls away from it.
func ExamplePatternAuthorizer() {
	ticket := auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, role string) (*auth.Identity, error) {
		return &auth.Identity{AuthRole: role}, nil // the ticket names the role (an example only)
	})
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "realm1", Authenticators: []auth.Authenticator{ticket}, Authorizer: appAuthorizer{},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	join := func(role string) *session.Session {
		client, server := transport.Pipe(protocol.JSON)
		go r.ServePeer(context.Background(), server)
		s, err := session.Join(ctx, client, session.Config{Realm: "realm1", AuthID: role, Auth: []auth.ClientMethod{auth.Ticket(role)}})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	app, backend := join("app"), join("backend")
	defer app.Close(ctx)
	defer backend.Close(ctx)

	_, err = app.Register(ctx, "app.adm", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{"app got " + inv.Procedure}}, nil
	}, session.Match(protocol.MatchPrefix))
	if err != nil {
		log.Fatal(err)
	}
	for _, uri := range []string{"app.adm.list", "app.admin.reset"} {
		res, err := backend.Call(ctx, uri, nil, nil)
		if err != nil {
			fmt.Println(uri+":", err)
			continue
		}
		fmt.Println(uri+":", res.Arg(0))
	}
	// Output:
	// app.adm.list: app got app.adm.list
	// app.admin.reset: wamp.error.no_such_procedure: no callee registered for procedure app.admin.reset
}
