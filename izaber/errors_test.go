package izaber_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/izaber"
)

// lines is a log destination that tests can read while it is written.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan string // every line, when not nil
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ch != nil {
		for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			select {
			case l.ch <- line:
			default:
			}
		}
	}
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// captureDefaultLog sends slog.Default() to the returned buffer for the
// test: what a program that sets no Logger shows.
func captureDefaultLog(t *testing.T) *lines {
	l := &lines{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(l, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return l
}

// A misspelt password key makes the login fail; the error says so, for
// whom, at which URL, where the password came from (nowhere: Python's
// default) and which key was ignored, and Initialize has logged every
// configuration warning through the default logger, misspelt section
// included.
func TestMisspeltPasswordExplained(t *testing.T) {
	nr := newRouter(t)
	logged := captureDefaultLog(t)
	yaml := fmt.Sprintf(`default:
  wamp:
    conection:
      timeout: 5
    connection:
      url: %s
      username: backend-1
      pasword: %q
      connect_timeout: 5
`, nr.URL(), nr.Password("backend-1"))
	_, err := izaber.Initialize(context.Background(), izaber.Source{YAML: yaml})
	var le *izaber.LoginError
	if !errors.As(err, &le) || !errors.Is(err, izaber.ErrPermissionDenied) {
		t.Fatalf("err = %v, want a *LoginError matching ErrPermissionDenied", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`wrong username or password for "backend-1" at ` + nr.URL(),
		`no password was configured, so Python's default "changeme" was sent`,
		"YAML text: wamp.connection.pasword is not a known key and is ignored; did you mean password?",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, nr.URL()) != 1 || strings.Count(msg, "izaber:") != 1 {
		t.Errorf("error repeats the URL or stacks prefixes:\n%s", msg)
	}
	for _, want := range []string{
		"wamp.connection.pasword is not a known key and is ignored; did you mean password?",
		"wamp.conection is not a known section and is ignored; did you mean connection?",
		`no password configured for "backend-1": sending Python's default password "changeme"`,
	} {
		if !strings.Contains(logged.String(), strings.ReplaceAll(want, `"`, `\"`)) { // quoted by the handler
			t.Errorf("Initialize did not log %q; log:\n%s", want, logged)
		}
	}
}

// With nothing configured, the client announces that it logs in to the
// production Nexus as anonymous with Python's default password; a
// configured user without a password is announced too.
func TestDefaultsAnnounced(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	tests := []struct {
		cfg  izaber.Config
		want []string
	}{
		{izaber.Config{}, []string{"no url configured: connecting to the production Nexus at wss://nexus.izaber.com/ws",
			`no username or password configured: logging in as "anonymous" with Python's default password "changeme"`}},
		{izaber.Config{URL: "ws://127.0.0.1:1/ws", Username: "alice"}, []string{`no password configured for "alice"`}},
		{izaber.Config{URL: "ws://127.0.0.1:1/ws", Username: "alice", Password: "x"}, nil},
		{izaber.Config{URL: "ws://127.0.0.1:1/ws", AuthMethods: []string{"anonymous"}}, nil},
	}
	for _, tt := range tests {
		tt.cfg.Logger = quiet
		c, err := izaber.New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(c.Warnings(), "\n")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: warnings lack %q: %q", tt.cfg, w, got)
			}
		}
		if len(tt.want) == 0 && got != "" {
			t.Errorf("%v: unexpected warnings %q", tt.cfg, got)
		}
		c.Close(context.Background())
	}
}

// Connect fails at once, with an error matching ErrConfig and a hint, on
// what retrying cannot fix; the connect timeout is an hour, so a retry
// would show as the test's own deadline.
func TestConnectFailsFastOnBadEndpoints(t *testing.T) {
	nr := newRouter(t)
	host := strings.TrimSuffix(strings.TrimPrefix(nr.URL(), "ws://"), "/ws")
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = nil
	defer tlsSrv.Close()
	tlsHost := tlsSrv.Listener.Addr().String()
	tests := []struct {
		url  string
		want []string
	}{
		{host + "/ws", []string{"it has no scheme; did you mean ws://" + host + "/ws?"}},
		{host, []string{"cannot use the URL", "it has no scheme; did you mean ws://" + host + "/ws?"}},
		{"localhost:1/ws", []string{"it has no scheme; did you mean ws://localhost:1/ws?"}},
		{"http://" + host + "/ws", []string{`the scheme "http" is not a WAMP transport; did you mean ws://` + host + "/ws?"}},
		{"ftp://" + host, []string{"use ws://, wss://"}},
		{"ws://" + host + "/", []string{"answered HTTP 404 Not Found instead of a WebSocket upgrade", "did you mean ws://" + host + "/ws?"}},
		{"wss://" + tlsHost + "/ws", []string{"the TLS certificate of wss://" + tlsHost + "/ws does not verify", "tls.ca_file"}},
		{"tcps://" + tlsHost, []string{"does not verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := izaber.New(izaber.Config{URL: tt.url, Username: "backend-1", Password: "x",
				ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = c.Connect(ctx)
			if !errors.Is(err, izaber.ErrConfig) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrConfig at once", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// While nothing listens, each failed attempt is announced once, with the
// delay before the next one; the final error says what happened.
func TestRefusedConnectionRetriesAnnounced(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	ln.Close() // nothing listens there now
	var log lines
	var mu sync.Mutex
	var retries []int
	c, err := izaber.New(izaber.Config{URL: url, Username: "u", Password: "p",
		ConnectTimeout: 400 * time.Millisecond, BackoffInitial: 50 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	c.OnState(func(e client.StateEvent) {
		if e.State == client.StateConnecting && e.Err != nil {
			mu.Lock()
			retries = append(retries, e.Attempt)
			mu.Unlock()
		}
	})
	err = c.Connect(context.Background())
	if errors.Is(err, izaber.ErrConfig) || !strings.Contains(err.Error(), "nothing accepts connections at "+url+" (connection refused); is the router running") {
		t.Fatalf("err = %v", err)
	}
	c.Close(context.Background()) // the hooks have run
	announced := strings.Count(log.String(), "connection refused); is the router running, and is wamp.connection.url right?; retrying in ")
	mu.Lock()
	defer mu.Unlock()
	if announced == 0 || announced != len(retries) {
		t.Errorf("%d retries announced in the log, %d reported: %v\n%s", announced, len(retries), retries, log.String())
	}
	for i, a := range retries {
		if a != i+2 {
			t.Errorf("retry %d announced as attempt %d", i, a)
		}
	}
}

// A service whose login fails after a reconnection (its password was
// changed) says so at every attempt instead of retrying silently.
func TestFailedReloginAnnounced(t *testing.T) {
	nr := newRouter(t)
	log := &lines{ch: make(chan string, 100)}
	c := login(t, nr, "backend-1", func(c *izaber.Config) { c.Logger = slog.New(slog.NewTextHandler(log, nil)) })
	if err := nr.SetPassword("backend-1", "a-new-password"); err != nil {
		t.Fatal(err)
	}
	nr.Stop()
	if err := nr.Restart(); err != nil {
		t.Fatal(err)
	}
	want := `wrong username or password for \"backend-1\" at ` + nr.URL() // quoted by the text handler
	seen := 0
	timeout := time.After(20 * time.Second)
	for seen < 2 {
		select {
		case line := <-log.ch:
			if strings.Contains(line, want) && strings.Contains(line, "retrying in") {
				seen++
			}
		case <-timeout:
			t.Fatalf("failed re-logins were not announced; log:\n%s", log)
		}
	}
	c.Close(context.Background())
}

// The IZABER_* variables configure the library as they do the command:
// over izaber.yaml, under what the program sets.
func TestInitializeFromEnvironment(t *testing.T) {
	nr := newRouter(t)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", dir)
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv(izaber.EnvYAML, "")
	t.Setenv(izaber.EnvURL, nr.URL())
	t.Setenv(izaber.EnvUser, "backend-2")
	t.Setenv(izaber.EnvPassword, nr.Password("backend-2"))
	c, err := izaber.Initialize(context.Background(), izaber.Source{}) // no izaber.yaml anywhere
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	me, err := c.WhoAmI(context.Background())
	if err != nil || me.AuthID != "backend-2" {
		t.Fatalf("whoami = %+v, %v", me, err)
	}
	// The environment wins over izaber.yaml.
	c2, err := izaber.Initialize(context.Background(), izaber.Source{YAML: nr.YAML("backend-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(context.Background())
	if me, err := c2.WhoAmI(context.Background()); err != nil || me.AuthID != "backend-2" {
		t.Fatalf("whoami = %+v, %v; want the environment's user", me, err)
	}
}
