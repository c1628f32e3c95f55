package izaber_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/izaber/izabertest"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Each example starts the embedded router with the Nexus services on a
// loopback WebSocket (package izabertest) and connects with an izaber.yaml
// pointing at it, as a real program connects to wss://nexus.izaber.com/ws
// with the izaber.yaml in its directory or home.

// README "Basic Calling Example": the uri_base com.izaber.wamp is added to
// auth.whoami.
func Example() {
	nx, err := izabertest.Start() // the embedded router, for this example
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()

	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	me, err := wamp.Call(ctx, "auth.whoami", nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Arg(0))
	fmt.Println(wamp.URI("auth.whoami"))
	// Output:
	// map[authid:backend-1 role:backend]
	// com.izaber.wamp.auth.whoami
}

// README: a call with positional and keyword arguments.
func ExampleClient_Call() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	// A callee for com.izaber.wamp.example.call that echoes what it got.
	_, err = wamp.Register(ctx, "example.call", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Prefix is added to become: com.izaber.wamp.example.call
	res, err := wamp.Call(ctx, "example.call",
		protocol.List{"pos1", "pos2"},
		protocol.Dict{"keyword1": "value1", "keyword2": "value2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Args, res.Kwargs)
	// Output:
	// [pos1 pos2] map[keyword1:value1 keyword2:value2]
}

// README "Basic Registration Example": the handler sees who called.
func ExampleClient_Register() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	reg, err := wamp.Register(ctx, "example.hello", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		authid, _ := inv.Details["caller_authid"].(string)
		authrole, _ := inv.Details["caller_authrole"].(string)
		return izaber.Yield(fmt.Sprintf("Hello %s (role: %s)!", authid, authrole)), nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.Procedure, reg.ID() != 0)

	// Another user calls it.
	other, err := wamp.Spawn(ctx, "backend-2", nx.Password("backend-2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer other.Close(ctx)
	greeting, err := izaber.CallAs[string](ctx, other, "example.hello", nil, nil)
	fmt.Println(greeting, err)
	// Output:
	// com.izaber.wamp.example.hello true
	// Hello backend-2 (role: backend)! <nil>
}

// README: register with force_reregister and match: prefix. Options pass
// through verbatim, typed or (for keys without a typed option, or when
// porting Python's details dict) with session.WithOption.
func ExampleClient_Register_options() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	hello := func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("Called from: <" + inv.Procedure + ">"), nil
	}
	_, err = wamp.Register(ctx, "example.hello", hello,
		session.ForceReregister(), session.Match("prefix"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The same with the README's options dict, from a second script: it
	// takes the registration over.
	second, err := wamp.Spawn(ctx, "backend-2", nx.Password("backend-2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer second.Close(ctx)
	_, err = second.Register(ctx, "example.hello", hello,
		session.WithOption("force_reregister", true), session.WithOption("match", "prefix"))
	fmt.Println("second registered:", err)

	for _, uri := range []string{"example.hello.toot", "example.hello.this.will.also.work"} {
		s, err := izaber.CallAs[string](ctx, wamp, uri, nil, nil)
		fmt.Println(s, err)
	}
	// Output:
	// second registered: <nil>
	// Called from: <com.izaber.wamp.example.hello.toot> <nil>
	// Called from: <com.izaber.wamp.example.hello.this.will.also.work> <nil>
}

// README: unregister a procedure.
func ExampleClient_Unregister() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	reg, err := wamp.Register(ctx, "example.hello", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("hi"), nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(wamp.Unregister(ctx, reg))
	_, err = wamp.Call(ctx, "example.hello", nil, nil)
	fmt.Println(errors.Is(err, session.ErrNoSuchProcedure))
	// Output:
	// <nil>
	// true
}

// README "Publish Example" and "Basic Subscription": Publish waits for the
// router's acknowledgement by default; events of one subscription arrive
// in order.
func ExampleClient_Publish() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	got := make(chan *session.Event, 2)
	_, err = wamp.Subscribe(ctx, "test.sub", func(ev *session.Event) { got <- ev })
	if err != nil {
		fmt.Println(err)
		return
	}

	publisher, err := wamp.Spawn(ctx, "backend-2", nx.Password("backend-2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer publisher.Close(ctx)
	helloMessage := protocol.Dict{"Hello": "World!"}
	fmt.Println(publisher.Publish(ctx, "test.sub", protocol.List{helloMessage}, nil))
	fmt.Println(publisher.Publish(ctx, "test.sub", protocol.List{"second"}, protocol.Dict{"n": 2}, session.Acknowledge(false)))

	for range 2 {
		ev := <-got
		fmt.Println("subscription event:", ev.Topic, ev.Args, ev.Kwargs)
	}
	// Output:
	// <nil>
	// <nil>
	// subscription event: com.izaber.wamp.test.sub [map[Hello:World!]] map[]
	// subscription event: com.izaber.wamp.test.sub [second] map[n:2]
}

// README "Basic Subscription".
func ExampleClient_Subscribe() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	events := make(chan *session.Event, 1)
	sub, err := wamp.Subscribe(ctx, "test.sub", func(ev *session.Event) { events <- ev })
	if err != nil {
		fmt.Println(err)
		return
	}
	// session.ExcludeMe(false) lets this client see its own publication.
	if err := wamp.Publish(ctx, "test.sub", protocol.List{"hello"}, nil, session.ExcludeMe(false)); err != nil {
		fmt.Println(err)
		return
	}
	ev := <-events
	fmt.Println("subscription event received args:", ev.Args)
	fmt.Println(wamp.Unsubscribe(ctx, sub))
	// Output:
	// subscription event received args: [hello]
	// <nil>
}

// README "Hooking join for Services": a hook added before Connect runs
// on every (re)join. Unlike Python, registrations and subscriptions are
// restored by the client itself after a reconnection, so a hook registers
// only once (or just reports). Load, New and Connect are the three steps
// of Initialize, with room for hooks in between.
func ExampleClient_OnJoin() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()

	settings, err := izaber.Load(izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	wamp, err := izaber.New(settings.Config)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)
	var once sync.Once
	joined := make(chan string, 1)
	wamp.OnJoin(func(ctx context.Context, info session.Info) {
		once.Do(func() {
			reg, err := wamp.Register(ctx, "test.call", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
				return izaber.Yield(fmt.Sprintf("Test call called! %v", inv.Args)), nil
			})
			fmt.Println("Registered", reg.Procedure, err)
		})
		joined <- info.AuthID
	})
	if err := wamp.Connect(ctx); err != nil { // Python: wamp.run()
		fmt.Println(err)
		return
	}
	fmt.Println("joined as", <-joined)
	res, err := wamp.Call(ctx, "test.call", protocol.List{1, 2}, nil)
	fmt.Println(res.Arg(0), err)
	// Output:
	// Registered com.izaber.wamp.test.call <nil>
	// joined as backend-1
	// Test call called! [1 2] <nil>
}

// README "Roster Example": register an entry, query it, unregister it.
func ExampleClient_RosterRegister() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	rosterKey := fmt.Sprintf("roster.example.%s.test", wamp.Config().Username)
	egData := protocol.Dict{"random": "data"}
	rec, err := wamp.RosterRegister(ctx, rosterKey, egData, nil)
	fmt.Println(rec["name"], rec["visibility"], rec["data"], err)

	// Any user may query public entries.
	frontend, err := wamp.Spawn(ctx, "frontend-1", nx.Password("frontend-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer frontend.Close(ctx)
	result2, err := frontend.RosterQuery(ctx, rosterKey)
	fmt.Println(result2, err)

	fmt.Println(wamp.RosterUnregister(ctx, rosterKey))
	result3, err := frontend.RosterQuery(ctx, rosterKey)
	fmt.Println(len(result3), err)
	// Output:
	// roster.example.backend-1.test * map[random:data] <nil>
	// [map[random:data]] <nil>
	// <nil>
	// 0 <nil>
}

// README "Current User Identity".
func ExampleClient_WhoAmI() {
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
	fmt.Printf("%+v %v\n", me, err)
	// Output:
	// {AuthID:frontend-1 Role:frontend} <nil>
}

// README "User Metadata (Preferences)".
func ExampleClient_MetadataSet() {
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

	const preferenceKey = "some.preference.key"
	egData := protocol.Dict{"random": "data"}
	result, err := wamp.MetadataSet(ctx, preferenceKey, egData, false)
	fmt.Println("result =", result, err)
	result2, err := wamp.MetadataGet(ctx, preferenceKey)
	fmt.Println("result2 =", result2, err)
	result3, err := wamp.MetadataList(ctx)
	fmt.Println("result3 keys =", slices.Sorted(maps.Keys(result3)), err)
	fmt.Println(wamp.MetadataDelete(ctx, preferenceKey))
	result4, err := wamp.MetadataGet(ctx, preferenceKey)
	fmt.Println("after delete =", result4, err)
	// Output:
	// result = map[random:data] <nil>
	// result2 = map[random:data] <nil>
	// result3 keys = [some.preference.key] <nil>
	// <nil>
	// after delete = <nil> <nil>
}

// README "Switching to another user": the new session is opened first;
// a failed switch leaves the current user connected.
func ExampleClient_ChangeUser() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	printCurrentUser := func() {
		me, err := wamp.WhoAmI(ctx)
		fmt.Println(me.AuthID, err)
	}
	printCurrentUser()
	if err := wamp.ChangeUser(ctx, "frontend-1", nx.Password("frontend-1")); err != nil {
		fmt.Println("Oops, that didn't work:", err)
	}
	printCurrentUser()
	if err := wamp.ChangeUser(ctx, "backend-1", "wrong password"); err != nil {
		fmt.Println("Oops, that didn't work:", errors.Is(err, izaber.ErrPermissionDenied))
	}
	printCurrentUser()
	// Output:
	// backend-1 <nil>
	// frontend-1 <nil>
	// Oops, that didn't work: true
	// frontend-1 <nil>
}

// README "Prevent Connection Initialization (Delay Login)": with
// wamp.run: false Initialize configures without connecting; ChangeUser
// logs in later.
func ExampleInitialize_delayedLogin() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()

	yaml := nx.YAML("backend-1") + "    run: false\n" // wamp.run
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: yaml})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)
	fmt.Println("connected:", wamp.Connected())
	_, err = wamp.WhoAmI(ctx)
	fmt.Println(err)

	if err := wamp.ChangeUser(ctx, "frontend-1", nx.Password("frontend-1")); err != nil {
		fmt.Println("Oops, that didn't work:", err)
		return
	}
	me, err := wamp.WhoAmI(ctx)
	fmt.Println(me.AuthID, err)
	// Output:
	// connected: false
	// client: not connected yet: call Connect first
	// frontend-1 <nil>
}

// README "One Time Password (OTP)": create one and log in with it once.
func ExampleClient_OTPCreate() {
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

	otp, err := wamp.OTPCreate(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(slices.Sorted(maps.Keys(otp)))

	// login and plaintext_key log in once.
	login, _ := otp["login"].(string)
	key, _ := otp["plaintext_key"].(string)
	other, err := wamp.Spawn(ctx, login, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	me, err := other.WhoAmI(ctx)
	fmt.Println(me.AuthID, err)
	// An OTP session may not mint further OTPs.
	_, err = other.OTPCreate(ctx)
	fmt.Println(errors.Is(err, session.ErrNotAuthorized))
	other.Close(ctx)

	_, err = wamp.Spawn(ctx, login, key)
	fmt.Println("second use:", errors.Is(err, izaber.ErrPermissionDenied))
	// Output:
	// [expires key login origin owner permissions plaintext_key uuid]
	// frontend-1 <nil>
	// true
	// second use: true
}

// README "API Key Generation" and "List Existing API Keys".
func ExampleClient_APIKeysCreate() {
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

	apikey, err := wamp.APIKeysCreate(ctx, protocol.Dict{"description": "Purpose of key"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(slices.Sorted(maps.Keys(apikey)))

	keys, err := wamp.APIKeysList(ctx)
	for _, k := range keys {
		fmt.Println(k["description"], k["uuid"] == apikey["uuid"])
	}
	fmt.Println(err)

	// The key logs in in place of the password.
	withKey, err := wamp.Spawn(ctx, "frontend-1", apikey["plaintext_key"].(string))
	if err != nil {
		fmt.Println(err)
		return
	}
	me, err := withKey.WhoAmI(ctx)
	fmt.Println(me.AuthID, err)
	withKey.Close(ctx)

	fmt.Println(wamp.APIKeysDelete(ctx, apikey["uuid"].(string)))
	keys, err = wamp.APIKeysList(ctx)
	fmt.Println(len(keys), err)
	// Output:
	// [description expires key owner permissions plaintext_key uuid]
	// Purpose of key true
	// <nil>
	// frontend-1 <nil>
	// <nil>
	// 0 <nil>
}

// Typed payloads: a handler decodes its positional and keyword arguments
// into Go values, and the caller decodes the result's.
func ExampleClient_Call_decode() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	type order struct {
		Item     string `json:"item"`
		Quantity int    `json:"quantity"`
	}
	type receipt struct {
		Total float64 `json:"total"`
		Text  string  `json:"text"`
	}
	_, err = wamp.Register(ctx, "shop.buy", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		var customer string
		var o order
		if err := inv.DecodeArg(0, &customer); err != nil {
			return nil, err
		}
		if err := inv.DecodeKwargs(&o); err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%d x %s for %s", o.Quantity, o.Item, customer)
		return &session.Result{Kwargs: protocol.Dict{"total": 2.5 * float64(o.Quantity), "text": text}}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := wamp.Call(ctx, "shop.buy", protocol.List{"ada"}, protocol.Dict{"item": "tea", "quantity": 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	var r receipt
	fmt.Println(res.DecodeKwargs(&r), r.Text, r.Total)
	// Output:
	// <nil> 4 x tea for ada 10
}

// Python's named concurrency queues: at most one handler of the queue
// "serial" runs at a time, and two more may wait; Python's error answers
// the next. ConfigureQueue changes the limits at run time.
func ExampleQueue() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	// In izaber.yaml, under wamp.connection:
	//   concurrency_configs:
	//     serial: {concurrency_max: 1, queue_max: 2}
	yaml := nx.YAML("backend-1") + "      concurrency_configs:\n        serial: {concurrency_max: 1, queue_max: 2}\n"
	wamp, err := izaber.Initialize(ctx, izaber.Source{YAML: yaml})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)

	_, err = wamp.Register(ctx, "example.serial", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return izaber.Yield("done"), nil
	}, izaber.Queue("serial"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := wamp.Call(ctx, "example.serial", nil, nil)
	fmt.Println(res.Arg(0), err)

	wamp.ConfigureQueue("serial", izaber.QueueConfig{ConcurrencyMax: 4})
	fmt.Printf("%+v\n", wamp.Stats().Queues["serial"])

	_, err = wamp.Register(ctx, "example.other", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return nil, nil
	}, izaber.Queue("seria1"))
	fmt.Println(err)
	// Output:
	// done <nil>
	// {Running:0 Waiting:0 Max:4 WaitMax:2 Rejected:0}
	// izaber: unknown concurrency queue "seria1": name it in wamp.connection.concurrency_configs (known: [default unlimited serial]), or set concurrency_strict_naming: false
}

// Absolute sends a URI outside uri_base as it is; URIs that already start
// with uri_base or with "wamp." are never prefixed again.
func ExampleAbsolute() {
	c, err := izaber.New(izaber.Config{URL: "ws://127.0.0.1:8282/ws", Username: "u", Password: "p"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())
	fmt.Println(c.URI("auth.whoami"))
	fmt.Println(c.URI("com.izaber.wamp.auth.whoami"))
	fmt.Println(c.URI("wamp.session.count"))
	// c.Call(ctx, "com.other.service.ping", nil, nil, izaber.Absolute())
	// calls com.other.service.ping, not com.izaber.wamp.com.other....
	// Output:
	// com.izaber.wamp.auth.whoami
	// com.izaber.wamp.auth.whoami
	// wamp.session.count
}

// Load reports what it could not use, naming the file and key, and New
// logs it: here a misspelt key and a misspelt section.
func ExampleLoad() {
	s, err := izaber.Load(izaber.Source{YAML: `
default:
  wamp:
    conection:
      url: ws://127.0.0.1:8282/ws
    connection:
      username: alice
      pasword: s3cret
`})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range s.Config.Warnings {
		fmt.Println(w)
	}
	// Output:
	// YAML text: wamp.conection is not a known section and is ignored; did you mean connection?
	// YAML text: wamp.connection.pasword is not a known key and is ignored; did you mean password?
}

// A refused login says who, where and where the password came from; the
// *LoginError carries the same as fields.
func ExampleLoginError() {
	nx, err := izabertest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nx.Close()
	ctx := context.Background()
	s, err := izaber.Load(izaber.Source{YAML: nx.YAML("backend-1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Config.Password = "not the password"
	s.Config.From["password"] = "prompt" // say where it came from
	wamp, err := izaber.New(s.Config)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wamp.Close(ctx)
	err = wamp.Connect(ctx)
	var le *izaber.LoginError
	if errors.As(err, &le) {
		fmt.Println(le.User, le.PasswordFrom, errors.Is(err, izaber.ErrPermissionDenied))
	}
	// Output:
	// backend-1 prompt true
}
