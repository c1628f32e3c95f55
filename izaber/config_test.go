package izaber

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// isolate gives the test an empty working directory and home, and clears
// the izaber environment variables.
func isolate(t *testing.T) (cwd, home string) {
	t.Helper()
	cwd, home = t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("LOCALAPPDATA", filepath.Join(home, "AppData", "Local"))
	t.Setenv(EnvYAML, "")
	t.Setenv(EnvEnvironment, "")
	return cwd, home
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func userFile(user string) string {
	return fmt.Sprintf("default:\n  wamp:\n    connection:\n      username: %s\n", user)
}

func TestLoadDiscoveryOrder(t *testing.T) {
	type files struct{ cwd, home, data, env bool }
	tests := []struct {
		name  string
		have  files
		opts  Source
		want  string // username found
		wantS string // suffix of Source
	}{
		{"cwd wins over all", files{true, true, true, true}, Source{}, "cwd", "izaber.yaml"},
		{"home before data dir and env", files{false, true, true, true}, Source{}, "home", "izaber.yaml"},
		{"data dir before env", files{false, false, true, true}, Source{}, "data", filepath.Join("ZaberConfig", "izaber.yaml")},
		{"env last", files{false, false, false, true}, Source{}, "env", "$IZABER_YAML"},
		{"explicit YAML wins", files{true, true, true, true}, Source{YAML: userFile("text")}, "text", "YAML text"},
		{"missing file name falls to env", files{true, true, true, true}, Source{File: "does-not-exist"}, "env", "$IZABER_YAML"},
		{"explicit dirs", files{true, true, true, true}, Source{Dirs: []string{"nowhere", "sub"}}, "sub", filepath.Join("sub", "izaber.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cwd, home := isolate(t)
			if tt.have.cwd {
				writeFile(t, filepath.Join(cwd, "izaber.yaml"), userFile("cwd"))
			}
			if tt.have.home {
				writeFile(t, filepath.Join(home, "izaber.yaml"), userFile("home"))
			}
			if tt.have.data {
				writeFile(t, filepath.Join(UserDataDir(), "izaber.yaml"), userFile("data"))
			}
			if tt.have.env {
				t.Setenv(EnvYAML, userFile("env"))
			}
			writeFile(t, filepath.Join(cwd, "sub", "izaber.yaml"), userFile("sub"))
			s, err := Load(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Config.Username != tt.want {
				t.Errorf("username = %q, want %q (source %s)", s.Config.Username, tt.want, s.Origin)
			}
			if !strings.HasSuffix(s.Origin, tt.wantS) {
				t.Errorf("source = %q, want suffix %q", s.Origin, tt.wantS)
			}
		})
	}
}

func TestLoadAbsoluteFile(t *testing.T) {
	cwd, _ := isolate(t)
	p := filepath.Join(t.TempDir(), "other.yaml")
	writeFile(t, p, userFile("abs"))
	writeFile(t, filepath.Join(cwd, "izaber.yaml"), userFile("cwd"))
	s, err := Load(Source{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if s.Config.Username != "abs" || s.Origin != p {
		t.Errorf("got %q from %s", s.Config.Username, s.Origin)
	}
}

func TestLoadNoSource(t *testing.T) {
	isolate(t)
	_, err := Load(Source{})
	if !errors.Is(err, ErrNoConfig) {
		t.Fatalf("err = %v, want ErrNoConfig", err)
	}
	if _, statErr := os.Stat(UserDataDir()); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Load created %s (Python does; we must not)", UserDataDir())
	}
}

func TestLoadDefaults(t *testing.T) {
	isolate(t)
	s, err := Load(Source{YAML: "default:\n  other: 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Run {
		t.Error("Run defaults to true")
	}
	c := s.Config.withDefaults()
	want := Config{
		URL: DefaultURL, Username: "anonymous", Password: "changeme", AuthID: "anonymous",
		AuthMethods: []string{"ticket"}, Realm: "izaber", URIBase: "com.izaber.wamp",
		Serializers: []string{"cbor"}, Timeout: 300 * time.Second, ConnectTimeout: DefaultConnectTimeout,
		BackoffInitial: time.Second, BackoffMax: time.Minute, PingInterval: 3 * time.Second,
		HeartbeatTimeout: 10 * time.Second, MaxPayloadSize: 50_000_000,
		From: map[string]string{"password": "default"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if s.Values["other"] != uint64(1) && s.Values["other"] != int64(1) {
		t.Errorf("Values[other] = %#v", s.Values["other"])
	}
}

const fullYAML = `
default:
  wamp:
    run: false
    connection:
      url: ws://127.0.0.1:8282/ws
      username: Bob
      password: 12345
      realm: realm1
      serializer: json
      serializers: [msgpack, JSON]
      uri_base: com.example
      authmethods: [ticket, anonymous]
      timeout: 12
      auto_reconnect: 2
      ping_interval: 0
      heartbeat_timeout: 1.5
      max_payload_size: 1000
      concurrency_max: 7
      concurrency_queue_max: 9
      concurrency_configs:
        default: {concurrency_max: 8}
        slow: {concurrency_max: 1, queue_max: 0, _class: MyQueue}
      tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, server_name: nexus, insecure: true}
      backoff_max: 90s
      max_retries: 5
      connect_timeout: "2.5"
      loop_timeout: 5
      colour: blue
`

func TestLoadAllKeys(t *testing.T) {
	isolate(t)
	s, err := Load(Source{YAML: fullYAML})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"run", s.Run, false},
		{"url", c.URL, "ws://127.0.0.1:8282/ws"},
		{"username", c.Username, "Bob"},
		{"password", c.Password, "12345"},
		{"realm", c.Realm, "realm1"},
		{"serializers", fmt.Sprint(c.Serializers), "[msgpack json]"},
		{"uri_base", c.uriBase(), "com.example"},
		{"authmethods", fmt.Sprint(c.AuthMethods), "[ticket anonymous]"},
		{"timeout", c.Timeout, 12 * time.Second},
		{"auto_reconnect", c.DisableReconnect, false},
		{"backoff_initial from auto_reconnect", c.BackoffInitial, 2 * time.Second},
		{"ping_interval 0 disables", c.PingInterval, time.Duration(-1)},
		{"heartbeat_timeout", c.HeartbeatTimeout, 1500 * time.Millisecond},
		{"max_payload_size", c.MaxPayloadSize, 1000},
		{"concurrency_max", c.ConcurrencyMax, 7},
		{"concurrency_queue_max", c.ConcurrencyQueueMax, 9},
		{"queues", fmt.Sprint(c.Queues), "map[default:{8 0} slow:{1 -1}]"},
		{"default queue", fmt.Sprint(c.queueLimits(QueueDefault)), "8 9"},
		{"slow queue: queue_max 0 is unlimited", fmt.Sprint(c.queueLimits("slow")), "1 0"},
		{"unlimited queue", fmt.Sprint(c.queueLimits(QueueUnlimited)), "0 0"},
		{"other queue", fmt.Sprint(c.queueLimits("other")), "8 9"},
		{"tls", fmt.Sprintf("%s %s %s %s %t", c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName, c.TLSInsecure), "/ca.pem /c.pem /k.pem nexus true"},
		{"backoff_max", c.BackoffMax, 90 * time.Second},
		{"max_retries", c.MaxRetries, 5},
		{"connect_timeout", c.ConnectTimeout, 2500 * time.Millisecond},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	warn := strings.Join(s.Config.Warnings, "\n")
	for _, key := range []string{"wamp.connection.colour", "wamp.connection.loop_timeout", "concurrency_configs.slow._class"} {
		if !strings.Contains(warn, key) {
			t.Errorf("no warning for %s in:\n%s", key, warn)
		}
	}
	if len(s.Config.Warnings) != 3 {
		t.Errorf("%d warnings, want 3:\n%s", len(s.Config.Warnings), warn)
	}
	for _, out := range []string{s.String(), c.String(), fmt.Sprintf("%v %+v %#v %v %+v", c, c, c, s.Values, *s), warn} {
		if strings.Contains(out, "12345") {
			t.Errorf("password leaked: %s", out)
		}
	}
}

func TestLoadEnvironments(t *testing.T) {
	const doc = `
default:
  wamp:
    connection:
      username: base
      password: basepw
      authmethods: [ticket, anonymous]
      realm: izaber
  email: {host: mail, port: 25}
staging:
  wamp:
    connection:
      username: stage
      password: ~
      authmethods: [anonymous]
  email: {port: 2525}
broken:
  email: [not, a, mapping]
scalar:
  wamp: {connection: {realm: [a]}}
`
	tests := []struct {
		name     string
		env      string // argument
		envVar   string // IZABER_ENVIRONMENT
		override map[string]any
		user     string
		pw       string
		methods  string
		port     any
		errHas   string
	}{
		{name: "default", user: "base", pw: "basepw", methods: "[ticket anonymous]", port: uint64(25)},
		{name: "by argument", env: "staging", user: "stage", pw: "basepw", methods: "[anonymous]", port: uint64(2525)},
		{name: "by variable", envVar: "staging", user: "stage", pw: "basepw", methods: "[anonymous]", port: uint64(2525)},
		{name: "argument beats variable", env: "default", envVar: "staging", user: "base", pw: "basepw", methods: "[ticket anonymous]", port: uint64(25)},
		{name: "override from code", env: "staging", override: map[string]any{"wamp": map[string]any{"connection": map[string]any{"username": "code"}}, "email": map[string]any{"port": 1}},
			user: "code", pw: "basepw", methods: "[anonymous]", port: 1},
		{name: "missing environment", env: "nope", errHas: `there is no environment "nope"`},
		{name: "type mismatch", env: "broken", errHas: "email: cannot combine a mapping with a list"},
		{name: "scalar vs list", env: "scalar", errHas: "wamp.connection.realm: cannot combine a string with a list"},
		{name: "override mismatch", override: map[string]any{"wamp": "x"}, errHas: "wamp: cannot combine a mapping with a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cwd, _ := isolate(t)
			file := filepath.Join(cwd, "izaber.yaml")
			writeFile(t, file, doc)
			t.Setenv(EnvEnvironment, tt.envVar)
			s, err := Load(Source{Environment: tt.env, Overrides: tt.override})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), file) {
					t.Fatalf("err = %v, want one naming %s and containing %q", err, file, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := s.Config
			if c.Username != tt.user || c.Password != tt.pw || fmt.Sprint(c.AuthMethods) != tt.methods {
				t.Errorf("got user %q pw-ok=%t methods %v", c.Username, c.Password == tt.pw, c.AuthMethods)
			}
			email := s.Values["email"].(map[string]any)
			if email["port"] != tt.port || email["host"] != "mail" {
				t.Errorf("email = %v", email)
			}
		})
	}
}

func TestDeepMerge(t *testing.T) {
	m := func(kv ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name          string
		base, overlay any
		want          any
		errHas        string
	}{
		{"dicts recurse", m("a", m("x", 1, "y", 2)), m("a", m("y", 3, "z", 4)), m("a", m("x", 1, "y", 3, "z", 4)), ""},
		{"lists replace", m("l", []any{1, 2, 3}), m("l", []any{9}), m("l", []any{9}), ""},
		{"scalars replace", m("s", "a"), m("s", 5), m("s", 5), ""},
		{"null keeps base", m("s", "a", "d", m("x", 1)), m("s", nil, "d", nil), m("s", "a", "d", m("x", 1)), ""},
		{"new keys added", m(), m("n", []any{}), m("n", []any{}), ""},
		{"base null takes overlay", m("s", nil), m("s", m("x", 1)), m("s", m("x", 1)), ""},
		{"dict over scalar", m("a", m("b", 1)), m("a", m("b", m("c", 1))), nil, "a.b: cannot combine a number with a mapping"},
		{"list over dict", m("a", m()), m("a", []any{}), nil, "a: cannot combine a mapping with a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseBefore := fmt.Sprint(tt.base)
			got, err := deepMerge(tt.base, tt.overlay, "")
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if fmt.Sprint(tt.base) != baseBefore {
				t.Errorf("base modified: %v", tt.base)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		conn   string // body of wamp.connection
		errHas []string
	}{
		{"malformed", "url: [x\n", []string{"is not valid YAML: line 4, column 12"}},
		{"url not text", "url: [a, b]", []string{"wamp.connection.url", "must be a string, got a list"}},
		{"password list", "password: [s3cr3t]", []string{"wamp.connection.password", "must be text"}},
		{"password bool", "password: true", []string{"wamp.connection.password", "must be text, got a boolean"}},
		{"bad timeout", "timeout: soon", []string{"wamp.connection.timeout", "number of seconds"}},
		{"negative timeout", "timeout: -1", []string{"wamp.connection.timeout", "non-negative"}},
		{"bad serializer", "serializer: xml", []string{"wamp.connection.serializers", `unknown serializer "xml"`}},
		{"authmethods of numbers", "authmethods: [1]", []string{"wamp.connection.authmethods[0]", "must be a string"}},
		{"payload fraction", "max_payload_size: 1.5", []string{"wamp.connection.max_payload_size", "whole"}},
		{"tls not a map", "tls: yes-please", []string{"wamp.connection.tls", "must be a mapping"}},
		{"auto_reconnect text", "auto_reconnect: sometimes", []string{"wamp.connection.auto_reconnect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cwd, _ := isolate(t)
			file := filepath.Join(cwd, "izaber.yaml")
			writeFile(t, file, "default:\n  wamp:\n    connection:\n      "+tt.conn+"\n")
			_, err := Load(Source{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range append(tt.errHas, file) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("password in error: %v", err)
			}
		})
	}
	t.Run("wamp not a mapping", func(t *testing.T) {
		isolate(t)
		_, err := Load(Source{YAML: "default:\n  wamp: 3\n"})
		if err == nil || !strings.Contains(err.Error(), "wamp must be a mapping") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("top level list", func(t *testing.T) {
		isolate(t)
		_, err := Load(Source{YAML: "- a\n"})
		if err == nil || !strings.Contains(err.Error(), "top level") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestLoadSmallCases(t *testing.T) {
	tests := []struct {
		name  string
		conn  string
		check func(*Settings) string
	}{
		{"auto_reconnect false", "auto_reconnect: false", func(s *Settings) string {
			return fmt.Sprint(s.Config.DisableReconnect)
		}},
		{"auto_reconnect 0", "auto_reconnect: 0", func(s *Settings) string { return fmt.Sprint(s.Config.DisableReconnect) }},
		{"empty uri_base disables prefix", "uri_base: ''", func(s *Settings) string {
			return fmt.Sprint(s.Config.NoURIBase && s.Config.uriBase() == "")
		}},
		{"timeout 0 means none", "timeout: 0", func(s *Settings) string { return fmt.Sprint(s.Config.Timeout < 0) }},
		{"go duration", "timeout: 1m30s", func(s *Settings) string { return fmt.Sprint(s.Config.Timeout == 90*time.Second) }},
		{"quoted numeric password", "password: '007'", func(s *Settings) string { return fmt.Sprint(s.Config.Password == "007") }},
		{"serializer alone", "serializer: msgpack", func(s *Settings) string { return fmt.Sprint(s.Config.Serializers[0] == "msgpack") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			s, err := Load(Source{YAML: "default:\n  wamp:\n    connection:\n      " + tt.conn + "\n"})
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(s); got != "true" {
				t.Errorf("check failed: %s (%s)", got, s)
			}
		})
	}
}

// FuzzLoad feeds arbitrary izaber.yaml text to Load: it must return a
// value or an error, never panic, and never echo a password.
func FuzzLoad(f *testing.F) {
	f.Add(fullYAML)
	f.Add("default:\n  wamp:\n    connection:\n      password: 123\n")
	f.Add("default: [1]\n")
	f.Add("staging:\n  wamp: {run: no}\n")
	f.Fuzz(func(t *testing.T, text string) {
		t.Setenv(EnvEnvironment, "")
		s, err := Load(Source{YAML: text, Dirs: []string{}})
		if err == nil && s == nil {
			t.Fatal("nil settings without error")
		}
		if err == nil && s.Config.Password != "" && !strings.Contains(s.String(), "password=[redacted]") {
			t.Fatalf("password not redacted in %s", s)
		}
	})
}

// TestEveryKeyDocumented keeps the package documentation's list of
// izaber.yaml keys complete.
func TestEveryKeyDocumented(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, k := range append(append([]string(nil), knownConnectionKeys...), slices.Collect(maps.Keys(pythonOnlyKeys))...) {
		if !regexp.MustCompile(`\b` + k + `\b`).MatchString(doc) {
			t.Errorf("wamp.connection.%s is not in the package documentation", k)
		}
	}
}
