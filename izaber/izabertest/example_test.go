package izabertest_test

import (
	"context"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/izaber/izabertest"
)

// A test of a program that uses izaber: the embedded router with the
// Nexus services and its users on loopback, and an izaber.yaml for one of
// them.
func Example() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("frontend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)
	me, err := wamp.WhoAmI(ctx)
	fmt.Println(me.AuthID, me.Role, err)
	fmt.Println(nx.Logins())
	// Output:
	// frontend-1 frontend <nil>
	// [backend-1 backend-2 frontend-1 trust-1]
}
