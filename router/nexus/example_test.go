package nexus_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// A router with Nexus's users, permissions and services on realm izaber.
func Example() {
	dir, _ := os.MkdirTemp("", "nexus-example")
	defer os.RemoveAll(dir)
	users := filepath.Join(dir, "users.yaml")
	os.WriteFile(users, []byte("users:\n  - login: alice\n    password: secret\n    role: frontend\n"), 0o600)

	svc, err := nexus.New(nexus.Config{UsersFile: users, DataDir: filepath.Join(dir, "data"), AllowAnonymous: true})
	if err != nil {
		log.Fatal(err)
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer r.Close(ctx)

	client, server := transport.Pipe(protocol.JSON)
	go r.ServePeer(ctx, server)
	s, err := session.Join(ctx, client, session.Config{
		Realm: "izaber", AuthID: "Alice", Auth: []auth.ClientMethod{auth.Ticket("secret")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	res, err := s.Call(ctx, "com.izaber.wamp.auth.whoami", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	who := res.Arg(0).(protocol.Dict)
	fmt.Println(who["authid"], who["role"])

	_, err = s.Call(ctx, "com.example.private", nil, nil)
	fmt.Println(errors.Is(err, session.ErrNotAuthorized))
	// Output:
	// alice frontend
	// true
}

// Demo credentials for `izaber-wamp router --demo`.
func ExampleWriteDemoUsers() {
	dir, _ := os.MkdirTemp("", "nexus-demo")
	defer os.RemoveAll(dir)
	users, err := nexus.WriteDemoUsers(filepath.Join(dir, "users.yaml"))
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range users {
		fmt.Println(u.Login, u.Role, u.CRASecret != "")
	}
	// Output:
	// backend-1 backend false
	// frontend-1 frontend true
	// trust-1 trust false
}

// Quotas bound what each user can store; a request over one is refused
// with com.izaber.wamp.error.quota_exceeded, naming the quota.
func ExampleQuotas() {
	dir, _ := os.MkdirTemp("", "nexus-quotas")
	defer os.RemoveAll(dir)
	users := filepath.Join(dir, "users.yaml")
	os.WriteFile(users, []byte("users:\n  - {login: alice, password: secret}\n"), 0o600)

	svc, err := nexus.New(nexus.Config{
		UsersFile: users,
		DataDir:   filepath.Join(dir, "data"),
		Quotas:    nexus.Quotas{MetadataValueBytes: 1024}, // zero fields keep DefaultQuotas
	})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer r.Close(ctx)
	client, server := transport.Pipe(protocol.JSON)
	go r.ServePeer(ctx, server)
	s, err := session.Join(ctx, client, session.Config{
		Realm: "izaber", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket("secret")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	_, err = s.Call(ctx, "com.izaber.wamp.my.metadata.set", protocol.List{"notes", strings.Repeat("x", 2000)}, nil)
	var werr *session.Error
	if errors.As(err, &werr) {
		fmt.Println(werr.URI, werr.Kwargs["quota"], werr.Kwargs["limit"])
	}
	// Output:
	// com.izaber.wamp.error.quota_exceeded metadata_value_bytes 1024
}
