package main

// End-to-end tests of the client commands: the real binary, built once,
// against a router with the Nexus services started in this process.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/session"
)

// The test router and its users.
var (
	cliBinary string // path of the built izaber-wamp
	wsURL     string // ws://127.0.0.1:port/ws
	rawURL    string // tcp://127.0.0.1:port
	wssURL    string // wss://127.0.0.1:port/ws, with a certificate from tlsCAFile
	tlsCAFile string
)

var cliUsers = map[string]struct{ password, role string }{
	"backend-1":  {"b-secret-4711", "backend"},
	"frontend-1": {"f-secret-0815", "frontend"},
	"trust-1":    {"t-secret-2342", "trust"},
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cliCleanup != nil {
		cliCleanup()
	}
	os.Exit(code)
}

// The binary and the router are set up by the first end-to-end test, so
// that unit tests and fuzzing do not pay for them.
var (
	cliOnce    sync.Once
	cliErr     error
	cliCleanup func()
)

func setupCLI(t *testing.T) {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "izaber-wamp-cli-test-")
		if err != nil {
			cliErr = err
			return
		}
		cliBinary = filepath.Join(dir, "izaber-wamp")
		buildArgs := []string{"build", "-o", cliBinary}
		if os.Getenv("IZABER_CLI_COVERDIR") != "" {
			buildArgs = append(buildArgs, "-cover") // children write to $GOCOVERDIR (see cmd)
		}
		build := exec.Command("go", append(buildArgs, ".")...)
		if out, err := build.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			cliErr = fmt.Errorf("building izaber-wamp: %v\n%s", err, out)
			return
		}
		stop, err := startTestRouter(dir)
		if err != nil {
			os.RemoveAll(dir)
			cliErr = fmt.Errorf("test router: %w", err)
			return
		}
		cliCleanup = func() {
			stop()
			os.RemoveAll(dir)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
}

// startTestRouter serves realm izaber with the Nexus services on loopback
// WebSocket and RawSocket, plus test procedures served by an in-process
// client (trust-1): test.add, test.echo, test.fail, test.slow and
// test.progress under com.izaber.wamp.
func startTestRouter(dir string) (func(), error) {
	users := "users:\n"
	for login, u := range cliUsers {
		users += fmt.Sprintf("  - {login: %s, password: %s, role: %s}\n", login, u.password, u.role)
	}
	more, err := loginMethodUsers(dir)
	if err != nil {
		return nil, err
	}
	users += more
	usersFile := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(usersFile, []byte(users), 0o600); err != nil {
		return nil, err
	}
	svc, err := nexus.New(nexus.Config{UsersFile: usersFile, DataDir: filepath.Join(dir, "data"), AllowAnonymous: true})
	if err != nil {
		return nil, err
	}
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber", Authenticators: svc.Authenticators(), Authorizer: svc.Authorizer(),
	}}})
	if err != nil {
		return nil, err
	}
	if err := svc.Install(r.Realm("izaber")); err != nil {
		return nil, err
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	wsURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	tlsSrv := httptest.NewTLSServer(r.WebSocketHandler())
	wssURL = "wss" + strings.TrimPrefix(tlsSrv.URL, "https") + "/ws"
	tlsCAFile = filepath.Join(dir, "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(tlsCAFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	raw, err := r.ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		tlsSrv.Close()
		return nil, err
	}
	rawURL = "tcp://" + raw.Addr().String()
	go r.ServeRawSocket(raw)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callee, err := izaber.New(izaber.Config{URL: wsURL, Username: "trust-1", Password: cliUsers["trust-1"].password})
	if err == nil {
		err = callee.Connect(ctx)
	}
	if err != nil {
		srv.Close()
		return nil, err
	}
	procs := map[string]session.Handler{
		"test.add": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			var sum int64
			for _, a := range inv.Args {
				n, ok := a.(int64)
				if !ok {
					return nil, session.NewError("wamp.error.invalid_argument", protocol.List{fmt.Sprintf("not an integer: %v", a)}, nil)
				}
				sum += n
			}
			return izaber.Yield(sum), nil
		},
		"test.echo": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
		},
		"test.fail": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return nil, session.NewError("com.example.oops", protocol.List{"went wrong"}, protocol.Dict{"code": 7})
		},
		"test.slow": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
				return izaber.Yield("late"), nil
			}
		},
		"test.progress": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			for i := range 3 {
				if err := inv.Progress(ctx, protocol.List{i}, nil); err != nil {
					return nil, err
				}
			}
			return izaber.Yield("done"), nil
		},
		// test.gated sends one progressive result, then waits for the
		// test to close the gate it put in progressGates: the result must
		// be out before that.
		"test.gated": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			var gate chan struct{}
			select {
			case gate = <-progressGates:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if err := inv.Progress(ctx, protocol.List{"first"}, nil); err != nil {
				return nil, err
			}
			select {
			case <-gate:
				return izaber.Yield("done"), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"test.details": func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return &session.Result{Kwargs: inv.Details}, nil
		},
	}
	for name, h := range procs {
		if _, err := callee.Register(ctx, name, h); err != nil {
			srv.Close()
			return nil, fmt.Errorf("register %s: %w", name, err)
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		callee.Close(ctx)
		r.Close(ctx)
		srv.Close()
		tlsSrv.Close()
	}, nil
}

// progressGates hands each call of test.gated the gate that releases it
// (a fresh one per test run, so that -count=N runs the test N times).
var progressGates = make(chan chan struct{}, 1)

// cli is one run of the binary.
type cli struct {
	t    *testing.T
	env  map[string]string // added to a clean environment
	dir  string            // working directory (and HOME): no izaber.yaml unless the test writes one
	args []string
	// stdin is the standard input (default: none, as from /dev/null).
	stdin string
}

type result struct {
	stdout, stderr string
	code           int
}

// as returns a command line for user at the WebSocket URL (credentials
// from the environment, as a person would pass them).
func as(t *testing.T, user string, args ...string) *cli {
	setupCLI(t)
	c := &cli{t: t, dir: t.TempDir(), args: args, env: map[string]string{"IZABER_URL": wsURL}}
	if user != "" {
		c.env["IZABER_USER"] = user
		c.env["IZABER_PASSWORD"] = cliUsers[user].password
	}
	return c
}

func (c *cli) cmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cliBinary, c.args...)
	cmd.Dir = c.dir
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "IZABER_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "HOME="+c.dir, "XDG_DATA_HOME="+c.dir)
	if d := os.Getenv("IZABER_CLI_COVERDIR"); d != "" {
		// Coverage of the binary: IZABER_CLI_COVERDIR=/tmp/cov go test ./cmd/izaber-wamp/,
		// then go tool covdata percent -i /tmp/cov.
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+d)
	}
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func (c *cli) run() result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.cmd(ctx)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("izaber-wamp %q: %v", c.args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// want runs the command and checks its exit code.
func (c *cli) want(code int) result {
	c.t.Helper()
	r := c.run()
	if r.code != code {
		c.t.Fatalf("izaber-wamp %q: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, r.code, code, r.stdout, r.stderr)
	}
	return r
}

// background is a long-running command (subscribe, register, roster
// register) whose stderr is watched for a readiness line.
type background struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	code   int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command in the background and waits until its stderr
// or stdout contains ready.
func (c *cli) start(ready string) *background {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := c.cmd(ctx)
	b := &background{t: c.t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.stdout, b.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		c.t.Fatal(err)
	}
	go func() {
		defer cancel()
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			b.code = ee.ExitCode()
		} else if err != nil {
			b.code = -1
		}
		close(b.done)
	}()
	c.t.Cleanup(func() {
		cmd.Process.Kill()
		<-b.done
	})
	deadline := time.After(15 * time.Second)
	for !strings.Contains(b.stderr.String(), ready) && !strings.Contains(b.stdout.String(), ready) {
		select {
		case <-b.done:
			c.t.Fatalf("izaber-wamp %q exited with %d before %q\nstdout: %s\nstderr: %s", c.args, b.code, ready, b.stdout, b.stderr)
		case <-deadline:
			c.t.Fatalf("izaber-wamp %q: no %q on stderr after 15s\nstderr: %s", c.args, ready, b.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return b
}

// wait waits for the process to exit by itself and returns its code.
func (b *background) wait() int {
	b.t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(15 * time.Second):
		b.t.Fatalf("still running after 15s\nstdout: %s\nstderr: %s", b.stdout, b.stderr)
	}
	return 0
}

// interrupt sends SIGINT (Ctrl-C) and waits for the exit code.
func (b *background) interrupt() int {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGINT); err != nil {
		b.t.Fatal(err)
	}
	return b.wait()
}

// decode parses output that must be exactly one line of JSON.
func decodeLine(t *testing.T, out string) any {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want exactly one line of JSON, got %q", out)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", out, err)
	}
	return v
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	// No command: the help, on stdout.
	r := as(t, "").want(exitOK)
	mustContain(t, "usage", r.stdout, "Usage: izaber-wamp <command>")
	r = as(t, "", "help").want(exitOK)
	for _, name := range []string{"call", "publish", "subscribe", "register", "whoami", "roster", "metadata", "apikeys", "otp", "config", "version", "bench", "router", "completion", "help"} {
		mustContain(t, "help", r.stdout, "  "+name+" ")
	}
	r = as(t, "", "frobnicate").want(exitUsage)
	mustContain(t, "stderr", r.stderr, `unknown command "frobnicate"`)

	// Every command and verb has -h with examples, exit 0.
	for _, args := range [][]string{
		{"call"}, {"publish"}, {"subscribe"}, {"register"}, {"whoami"}, {"config"}, {"bench"},
		{"roster", "register"}, {"roster", "unregister"}, {"roster", "query"},
		{"metadata", "get"}, {"metadata", "set"}, {"metadata", "list"}, {"metadata", "delete"},
		{"apikeys", "create"}, {"apikeys", "list"}, {"apikeys", "delete"},
		{"otp", "create"}, {"otp", "list"}, {"otp", "delete"},
	} {
		r := as(t, "", append(args, "-h")...).want(exitOK)
		mustContain(t, strings.Join(args, " ")+" -h", r.stdout, "Usage: izaber-wamp "+strings.Join(args, " "), "Examples:", "--url")
	}
	for _, group := range []string{"roster", "metadata", "apikeys", "otp"} {
		r := as(t, "", group, "--help").want(exitOK)
		mustContain(t, group+" --help", r.stdout, "Usage: izaber-wamp "+group)
		r = as(t, "", group).want(exitOK)
		mustContain(t, group, r.stdout, "Usage: izaber-wamp "+group)
		r = as(t, "", group, "bogus").want(exitUsage)
		mustContain(t, group+" bogus", r.stderr, `unknown command "bogus"`)
	}

	// Bad command lines: exit 2 before connecting (no router at this URL).
	for _, args := range [][]string{
		{"call"},
		{"call", "x", "--nonsense"},
		{"call", "x", "-k", "novalue"},
		{"call", "x", "--timeout", "soon"},
		{"publish"},
		{"subscribe"},
		{"subscribe", "a", "b"},
		{"subscribe", "a", "--match", "regex"},
		{"register", "p"},
		{"register", "p", "cat"},
		{"register", "p", "--", "/no/such/command"},
		{"whoami", "extra"},
		{"metadata", "get"},
		{"metadata", "set", "k"},
		{"metadata", "list", "extra"},
		{"apikeys", "delete"},
		{"roster", "query", "a", "b"},
		{"bench", "--concurrency", "0"},
		{"bench", "--transport", "pigeon"},
		{"config", "--config", "/no/such/izaber.yaml"},
		{"whoami", "--serializer", "xml"},
	} {
		c := as(t, "", args...)
		c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
		r := c.want(exitUsage)
		if r.stderr == "" {
			t.Fatalf("%q: no error message", args)
		}
	}
	r = as(t, "", "version").want(exitOK)
	if !strings.HasPrefix(r.stdout, "izaber-wamp ") {
		t.Fatalf("version: %q", r.stdout)
	}
}

func TestCLIWhoAmI(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	for _, url := range []string{wsURL, rawURL} {
		for _, ser := range []string{"json", "msgpack", "cbor"} {
			c := as(t, "backend-1", "whoami", "--serializer", ser)
			c.env["IZABER_URL"] = url
			r := c.want(exitOK)
			if r.stdout != `{"authid":"backend-1","role":"backend"}`+"\n" {
				t.Fatalf("%s %s: %q", url, ser, r.stdout)
			}
		}
	}
	// Flags override the environment.
	c := as(t, "backend-1", "whoami", "--user", "frontend-1")
	c.env["IZABER_PASSWORD"] = cliUsers["frontend-1"].password
	c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
	c.args = append(c.args, "--url", wsURL)
	if r := c.want(exitOK); !strings.Contains(r.stdout, `"authid":"frontend-1"`) {
		t.Fatalf("%q", r.stdout)
	}
	// --pretty indents.
	r := as(t, "backend-1", "whoami", "--pretty").want(exitOK)
	if r.stdout != "{\n  \"authid\": \"backend-1\",\n  \"role\": \"backend\"\n}\n" {
		t.Fatalf("pretty: %q", r.stdout)
	}
	// --password works but warns.
	c = as(t, "", "whoami", "--user", "backend-1", "--password", cliUsers["backend-1"].password)
	r = c.want(exitOK)
	mustContain(t, "stderr", r.stderr, "warning", "shell history")
}

func TestCLIConnectionFailures(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	// Wrong password: exit 3, the reason on stderr, the password nowhere.
	c := as(t, "backend-1", "whoami")
	c.env["IZABER_PASSWORD"] = "not-the-password-91"
	r := c.want(exitConnect)
	mustContain(t, "stderr", r.stderr, "com.izaber.wamp.error.permissiondenied", "backend-1")
	if strings.Contains(r.stderr+r.stdout, "not-the-password-91") {
		t.Fatalf("password leaked: %s", r.stderr)
	}
	// Unknown user, via RawSocket.
	c = as(t, "", "call", "auth.whoami", "--user", "nobody", "--url", rawURL)
	c.env["IZABER_PASSWORD"] = "x"
	c.want(exitConnect)
	// Nothing listening: exit 3 within the connect timeout.
	c = as(t, "backend-1", "whoami", "--connect-timeout", "300ms")
	c.env["IZABER_URL"] = "ws://127.0.0.1:1/ws"
	start := time.Now()
	r = c.want(exitConnect)
	mustContain(t, "stderr", r.stderr, "ws://127.0.0.1:1/ws", "refused")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	// Wrong realm.
	as(t, "backend-1", "whoami", "--realm", "nowhere").want(exitConnect)
	// TLS: the test server's certificate is not trusted by default; a
	// certificate that does not verify is a configuration error.
	c = as(t, "backend-1", "whoami", "--url", wssURL, "--connect-timeout", "2s")
	r = c.want(exitUsage)
	mustContain(t, "stderr", r.stderr, "certificate")
	for _, extra := range [][]string{{"--tls-ca", tlsCAFile}, {"--tls-insecure"}, {"--tls-ca", tlsCAFile, "--tls-server-name", "example.com"}} {
		c = as(t, "backend-1", append([]string{"whoami", "--url", wssURL}, extra...)...)
		if r := c.want(exitOK); !strings.Contains(r.stdout, "backend-1") {
			t.Fatalf("%q: %q", extra, r.stdout)
		}
	}
	as(t, "backend-1", "whoami", "--url", wssURL, "--tls-ca", tlsCAFile, "--tls-server-name", "wrong.example.org", "--connect-timeout", "2s").want(exitUsage)
}

func TestCLICall(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	tests := []struct {
		name string
		args []string
		want string // exact stdout
	}{
		{"single result", []string{"call", "test.add", "2", "3"}, "5\n"},
		{"negative numbers", []string{"call", "test.add", "-2", "-5"}, "-7\n"},
		{"after --", []string{"call", "test.echo", "--", "-x"}, `"-x"` + "\n"},
		{"no args, no result", []string{"call", "test.echo"}, "null\n"},
		{"several results", []string{"call", "test.echo", "1", "two"}, `[1,"two"]` + "\n"},
		{"JSON or string", []string{"call", "test.echo", "1", `"1"`, "abc", `{"a":[1,2.5]}`, "null", "true", "[1, 2"},
			`[1,"1","abc",{"a":[1,2.5]},null,true,"[1, 2"]` + "\n"},
		{"kwargs", []string{"call", "test.echo", "x", "-k", "n=5", "-k", "s=hello", "-k", `o={"z":null}`},
			`{"args":["x"],"kwargs":{"n":5,"o":{"z":null},"s":"hello"}}` + "\n"},
		{"kwargs only", []string{"call", "test.echo", "-k", "a=1"}, `{"args":[],"kwargs":{"a":1}}` + "\n"},
		{"-s keeps strings", []string{"call", "-s", "test.echo", "1", "true", "-k", "n=2"},
			`{"args":["1","true"],"kwargs":{"n":"2"}}` + "\n"},
		{"big integers", []string{"call", "test.echo", "9007199254740993", "18446744073709551615"}, `[9007199254740993,18446744073709551615]` + "\n"},
		{"absolute", []string{"call", "--absolute", "com.izaber.wamp.test.add", "1", "2"}, "3\n"},
		{"already prefixed", []string{"call", "com.izaber.wamp.test.add", "1", "2"}, "3\n"},
		{"uri-base none", []string{"call", "--uri-base", "-", "com.izaber.wamp.test.add", "4"}, "4\n"},
		{"uri-base other", []string{"call", "--uri-base", "com.izaber.wamp.test", "add", "4", "4"}, "8\n"},
		{"serializer json", []string{"call", "--serializer", "json", "test.echo", `{"a":"ü\u0000"}`}, `{"a":"ü\u0000"}` + "\n"},
		{"progress", []string{"call", "--progress", "test.progress"}, "0\n1\n2\n\"done\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := as(t, "backend-1", tt.args...).want(exitOK)
			if r.stdout != tt.want {
				t.Fatalf("stdout %q, want %q (stderr %s)", r.stdout, tt.want, r.stderr)
			}
		})
	}
	t.Run("full", func(t *testing.T) {
		t.Parallel()
		r := as(t, "backend-1", "call", "--full", "test.echo", "a", "-k", "b=1").want(exitOK)
		got := decodeLine(t, r.stdout).(map[string]any)
		if fmt.Sprint(got["args"]) != "[a]" || fmt.Sprint(got["kwargs"]) != "map[b:1]" {
			t.Fatalf("%v", got)
		}
		if _, ok := got["details"].(map[string]any); !ok {
			t.Fatalf("no details: %v", got)
		}
	})
	t.Run("WAMP error", func(t *testing.T) {
		t.Parallel()
		r := as(t, "backend-1", "call", "test.fail").want(exitWAMPError)
		mustContain(t, "stderr", r.stderr, "com.example.oops", "went wrong", `"code":7`)
		if r.stdout != "" {
			t.Fatalf("stdout %q", r.stdout)
		}
		r = as(t, "backend-1", "call", "test.add", "x").want(exitWAMPError)
		mustContain(t, "stderr", r.stderr, "wamp.error.invalid_argument", "not an integer: x")
		r = as(t, "backend-1", "call", "no.such.thing").want(exitWAMPError)
		mustContain(t, "stderr", r.stderr, "wamp.error.no_such_procedure")
		// --absolute sends test.add without the prefix: nobody has it.
		as(t, "backend-1", "call", "--absolute", "test.add", "1").want(exitWAMPError)
		// Frontend users may not call test.*.
		r = as(t, "frontend-1", "call", "test.add", "1").want(exitWAMPError)
		mustContain(t, "stderr", r.stderr, "wamp.error.not_authorized")
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		r := as(t, "backend-1", "call", "--timeout", "300ms", "test.slow").want(exitWAMPError)
		mustContain(t, "stderr", r.stderr, "timeout")
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		t.Parallel()
		// Ctrl-C during a call: exit 130, promptly.
		c := as(t, "backend-1", "call", "-v", "test.slow")
		b := c.start("izaber-wamp: joined") // the -v log line of the join
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		if code := b.interrupt(); code != exitInterrupt {
			t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupt, b.stderr)
		}
		if d := time.Since(start); d > 6*time.Second {
			t.Fatalf("took %v to stop", d)
		}
	})
}

func TestCLIPubSub(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	sub := as(t, "backend-1", "subscribe", "--count", "2", "test.topic").start("subscribed to com.izaber.wamp.test.topic")
	as(t, "frontend-1", "publish", "test.topic", "1").want(exitWAMPError) // frontend may not publish here
	as(t, "backend-1", "publish", "test.topic", "hello", `{"n":1}`, "-k", "from=cli").want(exitOK)
	as(t, "backend-1", "publish", "--serializer", "json", "test.topic", "-s", "42").want(exitOK)
	if code := sub.wait(); code != exitOK {
		t.Fatalf("subscribe exited %d: %s", code, sub.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(sub.stdout.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", sub.stdout)
	}
	var ev struct {
		Topic   string         `json:"topic"`
		Args    []any          `json:"args"`
		Kwargs  map[string]any `json:"kwargs"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Topic != "com.izaber.wamp.test.topic" || fmt.Sprint(ev.Args) != "[hello map[n:1]]" || fmt.Sprint(ev.Kwargs) != "map[from:cli]" || ev.Details == nil {
		t.Fatalf("event 1: %+v", ev)
	}
	if lines[1] != `{"args":["42"],"details":{},"kwargs":{},"topic":"com.izaber.wamp.test.topic"}` {
		t.Fatalf("event 2: %s", lines[1])
	}

	// Pattern subscriptions report the concrete topic.
	wild := as(t, "backend-1", "subscribe", "--count", "1", "--match", "wildcard", "test..temp").start("subscribed")
	prefix := as(t, "backend-1", "subscribe", "--count", "1", "--match", "prefix", "--absolute", "com.izaber.wamp.sensors").start("subscribed")
	as(t, "backend-1", "publish", "test.kitchen.temp", "21.5").want(exitOK)
	as(t, "backend-1", "publish", "sensors.hall", "-k", "ok=true").want(exitOK)
	if code := wild.wait(); code != 0 || !strings.Contains(wild.stdout.String(), `"topic":"com.izaber.wamp.test.kitchen.temp"`) || !strings.Contains(wild.stdout.String(), `"args":[21.5]`) {
		t.Fatalf("wildcard: %d %s %s", code, wild.stdout, wild.stderr)
	}
	if code := prefix.wait(); code != 0 || !strings.Contains(prefix.stdout.String(), `"topic":"com.izaber.wamp.sensors.hall"`) {
		t.Fatalf("prefix: %d %s %s", code, prefix.stdout, prefix.stderr)
	}

	// Ctrl-C ends a subscription cleanly.
	forever := as(t, "backend-1", "subscribe", "-v", "test.forever").start("subscribed")
	if code := forever.interrupt(); code != exitInterrupt {
		t.Fatalf("subscribe after Ctrl-C: exit %d: %s", code, forever.stderr)
	}
	mustContain(t, "subscribe -v stderr", forever.stderr.String(), "izaber-wamp: left with GOODBYE")
	// An invalid URI is refused before sending.
	r := as(t, "backend-1", "publish", "--absolute", "bad..uri").want(exitWAMPError)
	mustContain(t, "stderr", r.stderr, `invalid URI "bad..uri"`)
}

func TestCLIRegister(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	cat := as(t, "backend-1", "register", "-v", "test.cli.cat", "--", "sh", "-c", "cat").start("registered com.izaber.wamp.test.cli.cat")
	r := as(t, "frontend-1", "call", "test.cli.cat").want(exitWAMPError) // not authorized for frontend
	mustContain(t, "stderr", r.stderr, "not_authorized")
	r = as(t, "backend-1", "call", "test.cli.cat", "1", "two", "-k", "k=[3]").want(exitOK)
	got := decodeLine(t, r.stdout).(map[string]any)
	if got["procedure"] != "com.izaber.wamp.test.cli.cat" || fmt.Sprint(got["args"]) != "[1 two]" || fmt.Sprint(got["kwargs"]) != "map[k:[3]]" {
		t.Fatalf("invocation as seen by the command: %v", got)
	}
	if d, _ := got["details"].(map[string]any); d == nil {
		t.Fatalf("no details: %v", got)
	}

	text := as(t, "backend-1", "register", "test.cli.text", "--", "sh", "-c", "cat >/dev/null; echo hello world").start("registered")
	fail := as(t, "backend-1", "register", "test.cli.fail", "--", "sh", "-c", "echo 'no such widget' >&2; exit 3").start("registered")
	empty := as(t, "backend-1", "register", "test.cli.empty", "--", "true").start("registered")
	if r := as(t, "backend-1", "call", "test.cli.text").want(exitOK); r.stdout != `"hello world"`+"\n" {
		t.Fatalf("text output: %q", r.stdout)
	}
	if r := as(t, "backend-1", "call", "test.cli.empty").want(exitOK); r.stdout != "null\n" {
		t.Fatalf("empty output: %q", r.stdout)
	}
	r = as(t, "backend-1", "call", "test.cli.fail").want(exitWAMPError)
	mustContain(t, "stderr", r.stderr, "com.izaber.wamp.error.invoke.failure", "no such widget", `"exit_status":3`)

	// A second registration of the same procedure is refused...
	r = as(t, "backend-1", "register", "test.cli.cat", "--", "cat").want(exitWAMPError)
	mustContain(t, "stderr", r.stderr, "procedure_already_exists")
	// ...unless it takes it over.
	over := as(t, "backend-1", "register", "--force", "test.cli.cat", "--", "echo", `"taken over"`).start("registered")
	if r := as(t, "backend-1", "call", "test.cli.cat").want(exitOK); r.stdout != `"taken over"`+"\n" {
		t.Fatalf("after force: %q", r.stdout)
	}

	// Shared registrations: round robin between two commands, one at a time each.
	var shared []*background
	for _, who := range []string{"one", "two"} {
		b := as(t, "backend-1", "register", "--invoke", "roundrobin", "--concurrency", "1", "test.cli.shared", "--", "echo", who).start("registered")
		shared = append(shared, b)
	}
	answers := map[string]bool{}
	for range 2 {
		answers[as(t, "backend-1", "call", "test.cli.shared").want(exitOK).stdout] = true
	}
	if !answers["\"one\"\n"] || !answers["\"two\"\n"] {
		t.Fatalf("round robin answers: %v", answers)
	}
	for _, b := range shared {
		b.interrupt()
	}

	// Ctrl-C: exit 130 and the procedure is gone.
	for _, b := range []*background{over, text, fail, empty, cat} {
		if code := b.interrupt(); code != exitInterrupt {
			t.Fatalf("register after Ctrl-C: exit %d: %s", code, b.stderr)
		}
	}
	r = as(t, "backend-1", "call", "test.cli.text").want(exitWAMPError)
	mustContain(t, "stderr", r.stderr, "no_such_procedure")
	mustContain(t, "register -v stderr", cat.stderr.String(), "izaber-wamp: left with GOODBYE")
}

func TestCLINexus(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	t.Run("metadata", func(t *testing.T) {
		t.Parallel()
		u := "frontend-1"
		if r := as(t, u, "metadata", "set", "cli.pref", `{"random":"data"}`).want(exitOK); r.stdout != `{"random":"data"}`+"\n" {
			t.Fatalf("set: %q", r.stdout)
		}
		if r := as(t, u, "metadata", "set", "cli.text", "-s", "42").want(exitOK); r.stdout != `"42"`+"\n" {
			t.Fatalf("set -s: %q", r.stdout)
		}
		if r := as(t, u, "metadata", "get", "cli.pref").want(exitOK); r.stdout != `{"random":"data"}`+"\n" {
			t.Fatalf("get: %q", r.stdout)
		}
		r := as(t, u, "metadata", "list").want(exitOK)
		list := decodeLine(t, r.stdout).(map[string]any)
		if _, ok := list["cli.pref"]; !ok || len(list) != 2 {
			t.Fatalf("list: %v", list)
		}
		as(t, u, "metadata", "delete", "cli.pref").want(exitOK)
		if r := as(t, u, "metadata", "get", "cli.pref").want(exitOK); r.stdout != "null\n" {
			t.Fatalf("get after delete: %q", r.stdout)
		}
	})
	t.Run("apikeys", func(t *testing.T) {
		t.Parallel()
		u := "backend-1"
		r := as(t, u, "apikeys", "create", "--description", "cli test").want(exitOK)
		key := decodeLine(t, r.stdout).(map[string]any)
		uuid, _ := key["uuid"].(string)
		plain, _ := key["plaintext_key"].(string)
		if uuid == "" || plain == "" || key["description"] != "cli test" {
			t.Fatalf("create: %v", key)
		}
		// The key logs in in place of the password.
		c := as(t, u, "whoami")
		c.env["IZABER_PASSWORD"] = plain
		if r := c.want(exitOK); !strings.Contains(r.stdout, `"authid":"backend-1"`) {
			t.Fatalf("login with API key: %q", r.stdout)
		}
		r = as(t, u, "apikeys", "list").want(exitOK)
		if !strings.Contains(r.stdout, uuid) {
			t.Fatalf("list: %s", r.stdout)
		}
		as(t, u, "apikeys", "delete", uuid).want(exitOK)
		if r := as(t, u, "apikeys", "list").want(exitOK); strings.Contains(r.stdout, uuid) {
			t.Fatalf("still listed: %s", r.stdout)
		}
		as(t, u, "apikeys", "create", "--permissions", "{not json").want(exitUsage)
	})
	t.Run("otp", func(t *testing.T) {
		t.Parallel()
		u := "trust-1"
		r := as(t, u, "otp", "create").want(exitOK)
		otp := decodeLine(t, r.stdout).(map[string]any)
		login, _ := otp["login"].(string)
		plain, _ := otp["plaintext_key"].(string)
		uuid, _ := otp["uuid"].(string)
		if login != u || plain == "" || uuid == "" {
			t.Fatalf("create: %v", otp)
		}
		if r := as(t, u, "otp", "list").want(exitOK); !strings.Contains(r.stdout, uuid) {
			t.Fatalf("list: %s", r.stdout)
		}
		// It logs in once.
		c := as(t, u, "whoami")
		c.env["IZABER_PASSWORD"] = plain
		c.want(exitOK)
		c.want(exitConnect)
		// A second one, deleted before use.
		r = as(t, u, "otp", "create").want(exitOK)
		otp2 := decodeLine(t, r.stdout).(map[string]any)
		as(t, u, "otp", "delete", otp2["uuid"].(string)).want(exitOK)
		c.env["IZABER_PASSWORD"] = otp2["plaintext_key"].(string)
		c.want(exitConnect)
	})
	t.Run("roster", func(t *testing.T) {
		t.Parallel()
		if r := as(t, "frontend-1", "roster", "query", "roster.cli.test").want(exitOK); r.stdout != "[]\n" {
			t.Fatalf("empty query: %q", r.stdout)
		}
		hold := as(t, "backend-1", "roster", "register", "-v", "roster.cli.test", `{"random":"data"}`).start("izaber-wamp: joined")
		// The record is printed once registered.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(hold.stdout.String(), `"name":"roster.cli.test"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no record: %s %s", hold.stdout, hold.stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if r := as(t, "frontend-1", "roster", "query", "roster.cli.test").want(exitOK); r.stdout != `[{"random":"data"}]`+"\n" {
			t.Fatalf("query: %q", r.stdout)
		}
		as(t, "backend-1", "roster", "unregister", "roster.cli.test").want(exitOK) // another session's: no effect
		if code := hold.interrupt(); code != exitInterrupt {
			t.Fatalf("roster register after Ctrl-C: %d %s", code, hold.stderr)
		}
		if r := as(t, "frontend-1", "roster", "query", "roster.cli.test").want(exitOK); r.stdout != "[]\n" {
			t.Fatalf("query after leaving: %q", r.stdout)
		}
		// --for leaves by itself.
		r := as(t, "backend-1", "roster", "register", "--for", "100ms", "--visibility", "backend", "roster.cli.timed", "x").want(exitOK)
		rec := decodeLine(t, r.stdout).(map[string]any)
		if rec["visibility"] != "backend" || rec["data"] != "x" {
			t.Fatalf("record: %v", rec)
		}
	})
}

func TestCLIConfig(t *testing.T) {
	t.Parallel()
	setupCLI(t) // for wsURL
	dir := t.TempDir()
	yaml := fmt.Sprintf(`default:
  wamp:
    connection:
      url: %s
      username: backend-1
      password: %s
      timeout: 20
  ldap:
    bind_password: hunter2-ldap
    host: ldap.example.com
staging:
  wamp:
    connection:
      url: ws://staging.example.com/ws
      serializer: json
`, wsURL, cliUsers["backend-1"].password)
	if err := os.WriteFile(filepath.Join(dir, "izaber.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	inDir := func(args ...string) *cli {
		c := as(t, "", args...)
		c.dir = dir
		delete(c.env, "IZABER_URL")
		return c
	}
	var cfg struct {
		Source      string         `json:"source"`
		Environment string         `json:"environment"`
		Connection  map[string]any `json:"connection"`
		Overrides   []string       `json:"overrides"`
		Values      map[string]any `json:"values"`
	}
	r := inDir("config").want(exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{cliUsers["backend-1"].password, "hunter2-ldap"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("secret %q in config output: %s", secret, r.stdout)
		}
	}
	if cfg.Source != filepath.Join(dir, "izaber.yaml") || cfg.Environment != "default" || cfg.Connection["url"] != wsURL ||
		cfg.Connection["username"] != "backend-1" || cfg.Connection["password"] != "[redacted] from "+filepath.Join(dir, "izaber.yaml")+": wamp.connection.password" || cfg.Connection["timeout"] != "20s" {
		t.Fatalf("config: %+v", cfg)
	}
	mustContain(t, "values", r.stdout, `"host":"ldap.example.com"`, `"bind_password":"[redacted]"`)
	if strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("piped config output is not one line: %q", r.stdout)
	}

	// Environments and overrides.
	c := inDir("config", "--env", "staging", "--user", "frontend-1")
	c.env["IZABER_PASSWORD"] = "from-env-77"
	r = c.want(exitOK)
	cfg.Overrides = nil
	if err := json.Unmarshal([]byte(r.stdout), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Environment != "staging" || cfg.Connection["url"] != "ws://staging.example.com/ws" || cfg.Connection["username"] != "frontend-1" ||
		fmt.Sprint(cfg.Connection["serializers"]) != "[json]" || cfg.Connection["password"] != "[redacted] from $IZABER_PASSWORD" ||
		fmt.Sprint(cfg.Overrides) != "[--user $IZABER_PASSWORD]" || strings.Contains(r.stdout, "from-env-77") {
		t.Fatalf("staging config: %s", r.stdout)
	}
	c = inDir("config")
	c.env["IZABER_ENVIRONMENT"] = "staging"
	if r := c.want(exitOK); !strings.Contains(r.stdout, `"environment":"staging"`) {
		t.Fatalf("IZABER_ENVIRONMENT: %s", r.stdout)
	}

	// The other commands use the same discovery: izaber.yaml in the
	// working directory, or in HOME, or --config.
	if r := inDir("whoami").want(exitOK); !strings.Contains(r.stdout, `"authid":"backend-1"`) {
		t.Fatalf("whoami with izaber.yaml: %q", r.stdout)
	}
	c = as(t, "", "whoami", "--config", filepath.Join(dir, "izaber.yaml"))
	delete(c.env, "IZABER_URL")
	c.want(exitOK)
	c = as(t, "", "call", "auth.whoami")
	delete(c.env, "IZABER_URL")
	c.dir = filepath.Join(dir, "sub") // no izaber.yaml here...
	os.Mkdir(c.dir, 0o700)
	c.env["HOME"] = dir // ...but in ~ (the last HOME in the environment wins)
	c.want(exitOK)
	inDir("whoami", "--env", "staging", "--connect-timeout", "200ms", "--url", "ws://127.0.0.1:1/ws").want(exitConnect)

	// Bad configuration: exit 2 with the key named.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "izaber.yaml"), []byte("default:\n  wamp:\n    connection:\n      serializer: xml\n"), 0o600)
	c = as(t, "", "whoami")
	c.dir = bad
	r = c.want(exitUsage)
	mustContain(t, "stderr", r.stderr, "serializer")

	// No configuration at all: the defaults, said so.
	r = as(t, "", "config").want(exitOK)
	mustContain(t, "config", r.stdout, `"source":"none`, `"password":"not set`)
}

func TestCLIBench(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	var res benchResult
	for _, args := range [][]string{
		{"bench", "--embedded", "--count", "300", "--concurrency", "4", "--json"},
		{"bench", "call", "--embedded", "--transport", "rawsocket", "--serializer", "msgpack", "--count", "300", "--size", "1000", "--json"},
		{"bench", "pubsub", "--embedded", "--count", "300", "--json"},
		{"bench", "--count", "200", "--json"}, // against the test router as backend-1
	} {
		r := as(t, "backend-1", args...).want(exitOK)
		res = benchResult{}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("%q: %v: %s", args, err, r.stdout)
		}
		wantOps := int64(300)
		if args[len(args)-2] == "200" {
			wantOps = 200
		}
		if res.Ops != wantOps || res.Errors != 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 || res.Latency.P99 < res.Latency.P50 || res.Throughput <= 0 {
			t.Fatalf("%q: %+v", args, res)
		}
		if r.stderr != "" {
			t.Fatalf("%q: progress output when stderr is not a terminal: %q", args, r.stderr)
		}
	}
	if res.Embedded || res.URL != wsURL || res.Mode != "call" {
		t.Fatalf("against the test router: %+v", res)
	}
	// The table.
	r := as(t, "", "bench", "pubsub", "--embedded", "--duration", "300ms").want(exitOK)
	mustContain(t, "table", r.stdout, "mode", "pubsub", "(embedded)", "events/s", "delivery latency", "p99")
	// A user without the permission: every request fails, exit 1.
	as(t, "frontend-1", "bench", "--count", "10").want(exitWAMPError)
}

// A long-running command follows its connection: it says when it is lost
// and when it is back (the subscription restored), and exits 3 when it
// will not come back.
func TestCLIConnectionLost(t *testing.T) {
	t.Parallel()
	setupCLI(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	os.WriteFile(users, []byte("users:\n  - {login: backend-1, password: b-secret-4711, role: backend}\n"), 0o600)
	startRouter := func(addr string) (*background, string) {
		rt := as(t, "", "router", "--ws", addr, "--rawsocket", "", "--users", users, "--log-level", "error")
		b := rt.start("Realm: izaber")
		for _, line := range strings.Split(b.stdout.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "WebSocket: "); ok {
				return b, u
			}
		}
		t.Fatalf("no WebSocket line: %s", b.stdout)
		return nil, ""
	}
	rt, url := startRouter("127.0.0.1:0")
	yaml := func(reconnect bool) string {
		return fmt.Sprintf("default:\n  wamp:\n    connection:\n      url: %s\n      username: backend-1\n      password: b-secret-4711\n      auto_reconnect: %t\n      backoff_initial: 0.05\n      backoff_max: 0.2\n", url, reconnect)
	}
	withYAML := func(text string, args ...string) *cli {
		c := as(t, "", args...)
		delete(c.env, "IZABER_URL")
		c.env["IZABER_YAML"] = text
		return c
	}
	stays := withYAML(yaml(true), "subscribe", "--count", "1", "test.back").start("subscribed")
	gone := withYAML(yaml(false), "subscribe", "test.gone").start("subscribed")

	if code := rt.interrupt(); code != 0 { // GOODBYE wamp.close.system_shutdown to both
		t.Fatalf("router exit %d: %s", code, rt.stderr)
	}
	if code := gone.wait(); code != exitConnect {
		t.Fatalf("subscribe without reconnection: exit %d, want %d: %s", code, exitConnect, gone.stderr)
	}
	mustContain(t, "stderr", gone.stderr.String(), "connection lost")

	rt, _ = startRouter(strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")) // same port
	defer rt.interrupt()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stays.stderr.String(), "reconnected") {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnection: %s", stays.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustContain(t, "stderr", stays.stderr.String(), "connection lost")
	withYAML(yaml(false), "publish", "test.back", "again").want(exitOK)
	if code := stays.wait(); code != exitOK || !strings.Contains(stays.stdout.String(), `"args":["again"]`) {
		t.Fatalf("restored subscription: exit %d, stdout %s, stderr %s", code, stays.stdout, stays.stderr)
	}
}
