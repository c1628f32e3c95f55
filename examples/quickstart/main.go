// Command quickstart is the main job of this repository in one program: it
// starts the embedded development router (with the Nexus-compatible services
// and demo users) on loopback ports, then does what a Zaber script does with
// the izaber facade: whoami, register and call with args and kwargs,
// publish/subscribe, a roster, user metadata, an OTP login, API keys and a
// user switch. Every step prints its result; any failure exits non-zero.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	fmt.Println("quickstart: all steps passed")
}

func run(ctx context.Context) error {
	// 1. The embedded development router with the Nexus services.
	dir, err := os.MkdirTemp("", "izaber-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	users, err := nexus.WriteDemoUsers(filepath.Join(dir, "users.yaml"))
	if err != nil {
		return err
	}
	pass := map[string]string{}
	for _, u := range users {
		pass[u.Login] = u.Password
	}
	svc, err := nexus.New(nexus.Config{UsersFile: filepath.Join(dir, "users.yaml"), DataDir: filepath.Join(dir, "data")})
	if err != nil {
		return err
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		return err
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		r.Close(sctx)
		srv.Shutdown(sctx)
	}()
	url := "ws://" + ln.Addr().String() + "/ws"
	fmt.Println("embedded router:", url, "realm izaber")

	// 2. izaber.yaml for backend-1, as a script would have it.
	yaml := func(user string) string {
		return fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: %s\n      username: %s\n      password: %q\n      connect_timeout: 5\n      timeout: 10\n",
			url, user, pass[user])
	}
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: yaml("backend-1")})
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	defer wamp.Close(ctx)

	step := func(name string, v any, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("%-22s %v\n", name+":", v)
		return nil
	}

	me, err := wamp.WhoAmI(ctx)
	if err := step("whoami", me, err); err != nil {
		return err
	}

	// Register com.izaber.wamp.example.hello and call it with args and kwargs.
	reg, err := wamp.Register(ctx, "example.hello", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield(fmt.Sprintf("Hello %v from %v (args %v, kwargs %v)",
			inv.Details["caller_authid"], inv.Procedure, inv.Args, inv.Kwargs)), nil
	})
	if err := step("register", "com.izaber.wamp.example.hello", err); err != nil {
		return err
	}
	res, err := wamp.Call(ctx, "example.hello", protocol.List{"pos1", 2}, protocol.Dict{"keyword1": "value1"})
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	if err := step("call", res.Arg(0), nil); err != nil {
		return err
	}

	// A structured error: no callee.
	_, err = wamp.Call(ctx, "example.nothing", nil, nil)
	var werr *session.Error
	if !errors.As(err, &werr) || !errors.Is(err, session.ErrNoSuchProcedure) {
		return fmt.Errorf("call of a missing procedure: want wamp.error.no_such_procedure, got %v", err)
	}
	if err := step("error", werr.URI, nil); err != nil {
		return err
	}

	// Publish/subscribe (a second user subscribes; publishes are acknowledged).
	other, err := wamp.Spawn(ctx, "trust-1", pass["trust-1"])
	if err != nil {
		return fmt.Errorf("spawn: %w", err)
	}
	defer other.Close(ctx)
	got := make(chan *session.Event, 1)
	if _, err := other.Subscribe(ctx, "test.sub", func(ev *session.Event) { got <- ev }); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := wamp.Publish(ctx, "test.sub", protocol.List{protocol.Dict{"Hello": "World!"}}, nil); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	select {
	case ev := <-got:
		if err := step("event", fmt.Sprint(ev.Topic, " ", ev.Args), nil); err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("subscribe: no event: %w", ctx.Err())
	}

	// Roster, metadata.
	key := "roster.example.backend-1.test"
	if _, err := wamp.RosterRegister(ctx, key, protocol.Dict{"random": "data"}, nil); err != nil {
		return fmt.Errorf("roster register: %w", err)
	}
	roster, err := other.RosterQuery(ctx, key)
	if err := step("roster query", roster, err); err != nil {
		return err
	}
	if _, err := wamp.MetadataSet(ctx, "some.preference.key", protocol.Dict{"darkmode": true}, false); err != nil {
		return fmt.Errorf("metadata set: %w", err)
	}
	pref, err := wamp.MetadataGet(ctx, "some.preference.key")
	if err := step("metadata get", pref, err); err != nil {
		return err
	}

	// OTP: create one, log in with it once.
	otp, err := wamp.OTPCreate(ctx)
	if err != nil {
		return fmt.Errorf("otp create: %w", err)
	}
	otpClient, err := wamp.Spawn(ctx, fmt.Sprint(otp["login"]), fmt.Sprint(otp["plaintext_key"]))
	if err != nil {
		return fmt.Errorf("login with OTP: %w", err)
	}
	who, err := otpClient.WhoAmI(ctx)
	otpClient.Close(ctx)
	if err := step("otp login", who, err); err != nil {
		return err
	}

	// API keys.
	k, err := wamp.APIKeysCreate(ctx, protocol.Dict{"description": "Purpose of key"})
	if err != nil {
		return fmt.Errorf("apikeys create: %w", err)
	}
	keys, err := wamp.APIKeysList(ctx)
	if err := step("apikeys", fmt.Sprintf("created %v, %d listed", k["uuid"], len(keys)), err); err != nil {
		return err
	}

	// Change user: the new session first, then the old one leaves.
	// Registrations and subscriptions move to the new user's session; the
	// frontend role may not register com.izaber.wamp.example.*, so the
	// procedure is unregistered first (else the client would warn that it
	// cannot restore it).
	if err := wamp.Unregister(ctx, reg); err != nil {
		return fmt.Errorf("unregister: %w", err)
	}
	if err := wamp.ChangeUser(ctx, "frontend-1", pass["frontend-1"]); err != nil {
		return fmt.Errorf("change user: %w", err)
	}
	me, err = wamp.WhoAmI(ctx)
	return step("after change_user", me, err)
}
