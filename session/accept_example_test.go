package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// A custom router accepts a client with ticket authentication. In a real
// router p comes from transport.ListenRawSocket or transport.WebSocketHandler.
func ExampleAccept() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	routerEnd, clientEnd := transport.Pipe(nil)

	joined := make(chan *session.Session, 1)
	go func() {
		s, err := session.Join(ctx, clientEnd, session.Config{
			Realm: "realm1", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket("t0ken")},
		})
		if err != nil {
			fmt.Println("join:", err)
		}
		joined <- s
	}()

	j, err := session.Accept(ctx, routerEnd, session.AcceptConfig{
		Realms: func(realm string) bool { return realm == "realm1" },
		Authenticators: []auth.Authenticator{
			auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
				if req.AuthID == "alice" && ticket == "t0ken" {
					return &auth.Identity{AuthRole: "frontend"}, nil
				}
				return nil, &auth.Denied{Reason: "wamp.error.not_authorized", Message: "bad ticket"}
			}),
		},
	})
	if err != nil {
		fmt.Println("accept:", err)
		return
	}
	fmt.Println("router welcomed", j.Identity.AuthID, "as", j.Identity.AuthRole, "on", j.Realm)

	s := <-joined
	info := s.Info()
	fmt.Println("client joined as", info.AuthRole, "with", info.AuthMethod, "same session:", info.Session == j.Session)

	// From here the router owns j.Peer's reads; this example just ends
	// the connection.
	j.Peer.Close()
	<-s.Done()
	// Output:
	// router welcomed alice as frontend on realm1
	// client joined as frontend with ticket same session: true
}
