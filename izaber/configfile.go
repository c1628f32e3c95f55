package izaber

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Environment variables read by Load, as in Python's izaber.
const (
	// EnvYAML holds izaber.yaml text, used when no file is found.
	EnvYAML = "IZABER_YAML"
	// EnvEnvironment names the environment when Source.Environment
	// is empty.
	EnvEnvironment = "IZABER_ENVIRONMENT"
)

// DefaultConfigFile is the file name Load looks for.
const DefaultConfigFile = "izaber.yaml"

// ErrNoConfig is returned by Load when no source of configuration exists.
var ErrNoConfig = errors.New("izaber: no source for configuration found")

// Source says where Load reads izaber.yaml from. The zero value does what
// Python's initialize() does.
type Source struct {
	// YAML is configuration text used instead of any file (Python's
	// config_buffer).
	YAML string
	// File is the file name to look for (default "izaber.yaml"). A
	// relative name is searched for in Dirs; an absolute one is used as is.
	File string
	// Dirs are searched in order for File. Default: the current
	// directory, the home directory, then the per-user data directory
	// (UserDataDir).
	Dirs []string
	// Environment is the section merged over "default". Empty: the value
	// of $IZABER_ENVIRONMENT, else "default".
	Environment string
	// Overrides are deep-merged over the selected environment last, like
	// the keyword arguments of Python's initialize(), for example
	// {"wamp": {"connection": {"username": "bob"}}}.
	Overrides map[string]any
}

// Settings is a loaded izaber.yaml: the merged environment, the
// wamp.connection configuration decoded from it, and what Load noticed.
type Settings struct {
	// Config is wamp.connection, decoded.
	Config Config
	// Run is wamp.run (default true): false means configure without
	// connecting.
	Run bool
	// Environment is the environment that was selected.
	Environment string
	// Origin names where the configuration came from: a file path,
	// "$IZABER_YAML" or "YAML text".
	Origin string
	// Values is the whole merged environment, for sections other than wamp;
	// wamp.connection.password is replaced by "[redacted]".
	Values map[string]any
}

// String describes the settings without the password.
func (s *Settings) String() string {
	return fmt.Sprintf("izaber settings from %s, environment %q, run=%t: %s", s.Origin, s.Environment, s.Run, s.Config)
}

// UserDataDir is the per-user directory searched for izaber.yaml, the one
// Python's appdirs.user_data_dir("ZaberConfig", "Zaber") returns:
// ~/.local/share/ZaberConfig (or $XDG_DATA_HOME/ZaberConfig) on Linux,
// ~/Library/Application Support/ZaberConfig on macOS and
// %LOCALAPPDATA%\Zaber\ZaberConfig on Windows.
func UserDataDir() string {
	home, _ := os.UserHomeDir()
	switch runtime.GOOS {
	case "windows":
		base := os.Getenv("LOCALAPPDATA")
		if base == "" {
			base = filepath.Join(home, "AppData", "Local")
		}
		return filepath.Join(base, "Zaber", "ZaberConfig")
	case "darwin", "ios":
		return filepath.Join(home, "Library", "Application Support", "ZaberConfig")
	default:
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" || !filepath.IsAbs(base) {
			base = filepath.Join(home, ".local", "share")
		}
		return filepath.Join(base, "ZaberConfig")
	}
}

// Load reads izaber.yaml the way Python's izaber does: the first source
// that exists of opts.YAML, File in each of Dirs, then $IZABER_YAML; the
// "default" section deep-merged with the selected environment, then with
// opts.Overrides. Unlike Python it never creates a directory.
//
// Errors name the source, the key and the problem; they never contain the
// password.
func Load(opts Source) (*Settings, error) {
	text, source, err := findSource(opts)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("izaber: config %s: malformed YAML: %w", source, err)
	}
	root, err := normalize(doc, "")
	if err != nil {
		return nil, fmt.Errorf("izaber: config %s: %w", source, err)
	}
	rootMap, ok := root.(map[string]any)
	if root != nil && !ok {
		return nil, fmt.Errorf("izaber: config %s: the top level must be a mapping of environments, got %s", source, kindOf(root))
	}

	env := opts.Environment
	if env == "" {
		env = os.Getenv(EnvEnvironment)
	}
	if env == "" {
		env = "default"
	}
	merged, err := selectEnvironment(rootMap, env)
	if err != nil {
		return nil, fmt.Errorf("izaber: config %s: %w", source, err)
	}
	if opts.Overrides != nil {
		ov, err := normalize(opts.Overrides, "")
		if err != nil {
			return nil, fmt.Errorf("izaber: config overrides: %w", err)
		}
		if merged, err = deepMerge(merged, ov, ""); err != nil {
			return nil, fmt.Errorf("izaber: config %s with overrides: %w", source, err)
		}
	}
	m, _ := merged.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	s := &Settings{Run: true, Environment: env, Origin: source, Values: m}
	if err := s.decodeWAMP(m); err != nil {
		return nil, err
	}
	redactPassword(m)
	return s, nil
}

// redactPassword replaces wamp.connection.password in the merged values
// (a fresh copy owned by Load), so that printing Settings.Values cannot
// leak it; the password is in Settings.Config.
func redactPassword(m map[string]any) {
	w, _ := m["wamp"].(map[string]any)
	conn, _ := w["connection"].(map[string]any)
	if _, ok := conn["password"]; ok {
		c2 := make(map[string]any, len(conn))
		for k, v := range conn {
			c2[k] = v
		}
		c2["password"] = "[redacted]"
		w2 := make(map[string]any, len(w))
		for k, v := range w {
			w2[k] = v
		}
		w2["connection"] = c2
		m["wamp"] = w2
	}
}

// findSource returns the configuration text and a name for its source.
func findSource(opts Source) (text, source string, err error) {
	if opts.YAML != "" {
		return opts.YAML, "YAML text", nil
	}
	name := opts.File
	if name == "" {
		name = DefaultConfigFile
	}
	var candidates []string
	if filepath.IsAbs(name) {
		candidates = []string{name}
	} else {
		dirs := opts.Dirs
		if dirs == nil {
			dirs = []string{"."}
			if home, err := os.UserHomeDir(); err == nil {
				dirs = append(dirs, home)
			}
			dirs = append(dirs, UserDataDir())
		}
		for _, d := range dirs {
			candidates = append(candidates, filepath.Join(d, name))
		}
	}
	for _, p := range candidates {
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", "", fmt.Errorf("izaber: config %s: %w", p, err)
		}
		if st.IsDir() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", fmt.Errorf("izaber: config %s: %w", p, err)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return string(b), p, nil
	}
	if v, ok := os.LookupEnv(EnvYAML); ok && strings.TrimSpace(v) != "" {
		return v, "$" + EnvYAML, nil
	}
	return "", "", fmt.Errorf("%w (searched %s, then $%s)", ErrNoConfig, strings.Join(candidates, ", "), EnvYAML)
}

// selectEnvironment merges the "default" section with env.
func selectEnvironment(root map[string]any, env string) (any, error) {
	base := root["default"]
	if base != nil {
		if _, ok := base.(map[string]any); !ok {
			return nil, fmt.Errorf("environment %q: must be a mapping, got %s", "default", kindOf(base))
		}
	}
	if base == nil {
		base = map[string]any{}
	}
	if env == "default" {
		return base, nil
	}
	sec, ok := root[env]
	if !ok {
		return nil, fmt.Errorf("could not find environment %q in configuration", env)
	}
	if sec != nil {
		if _, ok := sec.(map[string]any); !ok {
			return nil, fmt.Errorf("environment %q: must be a mapping, got %s", env, kindOf(sec))
		}
	}
	return deepMerge(base, sec, "")
}

// normalize converts decoded YAML into map[string]any / []any / scalars,
// turning non-string mapping keys into strings.
func normalize(v any, path string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalize(e, joinKey(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ks := fmt.Sprint(k)
			n, err := normalize(e, joinKey(path, ks))
			if err != nil {
				return nil, err
			}
			out[ks] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalize(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = e
		}
		return out, nil
	default:
		return v, nil
	}
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// kind is the merge category of a value.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []byte:
		return "binary data"
	default:
		return "a number"
	}
}

// deepMerge merges overlay into base with Python izaber's rules: mappings
// merge recursively; lists and scalars in the overlay replace the base; a
// null overlay keeps the base; a mapping against a non-mapping (or a list
// against a non-list) is an error naming the key. Neither input is
// modified.
func deepMerge(base, overlay any, path string) (any, error) {
	if overlay == nil {
		return base, nil
	}
	if base == nil {
		return overlay, nil
	}
	bm, bIsMap := base.(map[string]any)
	om, oIsMap := overlay.(map[string]any)
	_, bIsList := base.([]any)
	_, oIsList := overlay.([]any)
	if bIsMap != oIsMap || bIsList != oIsList {
		where := path
		if where == "" {
			where = "(top level)"
		}
		return nil, fmt.Errorf("%s: cannot combine %s with %s", where, kindOf(base), kindOf(overlay))
	}
	if !bIsMap {
		return overlay, nil
	}
	out := make(map[string]any, len(bm)+len(om))
	for k, v := range bm {
		out[k] = v
	}
	for k, v := range om {
		n, err := deepMerge(out[k], v, joinKey(path, k))
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

// knownConnectionKeys are the wamp.connection keys that Load decodes.
var knownConnectionKeys = map[string]bool{
	"url": true, "username": true, "password": true, "authid": true, "realm": true,
	"serializer": true, "serializers": true, "uri_base": true, "authmethods": true,
	"agent": true, "timeout": true, "auto_reconnect": true, "ping_interval": true,
	"heartbeat_timeout": true, "max_payload_size": true, "concurrency_max": true,
	"concurrency_queue_max": true, "concurrency_configs": true,
	"tls": true, "backoff_initial": true, "backoff_max": true, "max_retries": true,
	"connect_timeout": true,
}

// pythonOnlyKeys are accepted for compatibility with Python izaber-wamp
// but have no effect in Go; Load warns about them.
var pythonOnlyKeys = map[string]string{
	"loop_timeout":              "the Go client has no polling loop",
	"sockopt":                   "socket options are not configurable",
	"sslopt":                    "use wamp.connection.tls (ca_file, cert_file, key_file, server_name, insecure)",
	"concurrency_strict_naming": "the Go client has no named queues",
	"concurrency_class":         "the Go client has no queue classes",
}

// decodeWAMP fills s.Config and s.Run from the merged environment.
func (s *Settings) decodeWAMP(m map[string]any) error {
	d := &decoder{source: s.Origin}
	wampV, ok := m["wamp"]
	if !ok || wampV == nil {
		return nil
	}
	wamp, ok := wampV.(map[string]any)
	if !ok {
		return d.errf("wamp", "must be a mapping, got %s", kindOf(wampV))
	}
	if v, ok := wamp["run"]; ok && v != nil {
		b, err := d.boolean("wamp.run", v)
		if err != nil {
			return err
		}
		s.Run = b
	}
	connV := wamp["connection"]
	if connV == nil {
		return nil
	}
	conn, ok := connV.(map[string]any)
	if !ok {
		return d.errf("wamp.connection", "must be a mapping, got %s", kindOf(connV))
	}
	if err := d.connection(&s.Config, conn); err != nil {
		return err
	}
	s.Config.Warnings = d.warnings
	return nil
}

type decoder struct {
	source   string
	warnings []string
}

func (d *decoder) errf(key, format string, args ...any) error {
	return fmt.Errorf("izaber: config %s: %s: %s", d.source, key, fmt.Sprintf(format, args...))
}

func (d *decoder) warnf(key, format string, args ...any) {
	d.warnings = append(d.warnings, fmt.Sprintf("config %s: %s: %s", d.source, key, fmt.Sprintf(format, args...)))
}

func (d *decoder) connection(c *Config, conn map[string]any) error {
	const p = "wamp.connection."
	keys := make([]string, 0, len(conn))
	for k := range conn {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := conn[k]
		if knownConnectionKeys[k] {
			continue
		}
		if why, ok := pythonOnlyKeys[k]; ok {
			if v != nil {
				d.warnf(p+k, "ignored: %s", why)
			}
			continue
		}
		d.warnf(p+k, "unknown key, ignored")
	}
	var err error
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.str(p+key, v)
		}
	}
	str("url", &c.URL)
	str("username", &c.Username)
	str("authid", &c.AuthID)
	str("realm", &c.Realm)
	str("agent", &c.Agent)
	if err != nil {
		return err
	}
	if v, ok := conn["password"]; ok && v != nil {
		if c.Password, err = d.secret(p+"password", v); err != nil {
			return err
		}
	}
	if v, ok := conn["uri_base"]; ok && v != nil {
		s, err := d.str(p+"uri_base", v)
		if err != nil {
			return err
		}
		s = strings.TrimSuffix(s, ".")
		c.URIBase, c.NoURIBase = s, s == ""
	}
	// serializers (a list) wins over serializer (one name), as in Python.
	if v, ok := conn["serializers"]; ok && v != nil {
		if c.Serializers, err = d.strList(p+"serializers", v); err != nil {
			return err
		}
	} else if v, ok := conn["serializer"]; ok && v != nil {
		s, err := d.str(p+"serializer", v)
		if err != nil {
			return err
		}
		c.Serializers = []string{s}
	}
	for i, s := range c.Serializers {
		s = strings.ToLower(s)
		c.Serializers[i] = s
		switch s {
		case "cbor", "msgpack", "json":
		default:
			return d.errf(p+"serializers", "unknown serializer %q (want cbor, msgpack or json)", s)
		}
	}
	if v, ok := conn["authmethods"]; ok && v != nil {
		if c.AuthMethods, err = d.strList(p+"authmethods", v); err != nil {
			return err
		}
	}
	dur := func(key string, dst *time.Duration, zeroMeans time.Duration) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.duration(p+key, v)
			if err == nil && *dst == 0 {
				*dst = zeroMeans
			}
		}
	}
	dur("timeout", &c.Timeout, -1)
	dur("connect_timeout", &c.ConnectTimeout, 0)
	dur("ping_interval", &c.PingInterval, -1)
	dur("heartbeat_timeout", &c.HeartbeatTimeout, 0)
	dur("backoff_initial", &c.BackoffInitial, 0)
	dur("backoff_max", &c.BackoffMax, 0)
	if err != nil {
		return err
	}
	if v, ok := conn["auto_reconnect"]; ok && v != nil {
		switch t := v.(type) {
		case bool:
			c.DisableReconnect = !t
		default:
			secs, err := d.duration(p+"auto_reconnect", v)
			if err != nil {
				return d.errf(p+"auto_reconnect", "want a boolean or a number of seconds, got %s", kindOf(v))
			}
			if secs <= 0 {
				c.DisableReconnect = true
			} else if _, set := conn["backoff_initial"]; !set {
				c.BackoffInitial = secs
			}
		}
	}
	num := func(key string, dst *int) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.integer(p+key, v)
		}
	}
	num("max_payload_size", &c.MaxPayloadSize)
	num("concurrency_max", &c.ConcurrencyMax)
	num("concurrency_queue_max", &c.ConcurrencyQueueMax)
	num("max_retries", &c.MaxRetries)
	if err != nil {
		return err
	}
	if v, ok := conn["concurrency_configs"]; ok && v != nil {
		if err := d.concurrencyConfigs(c, v); err != nil {
			return err
		}
	}
	if v, ok := conn["tls"]; ok && v != nil {
		if err := d.tls(c, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) concurrencyConfigs(c *Config, v any) error {
	const key = "wamp.connection.concurrency_configs"
	m, ok := v.(map[string]any)
	if !ok {
		return d.errf(key, "must be a mapping of queue names, got %s", kindOf(v))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != "default" {
			d.warnf(key+"."+name, "ignored: the Go client has one invocation limit per connection, set by concurrency_max or concurrency_configs.default")
			continue
		}
		q, ok := m[name].(map[string]any)
		if !ok {
			if m[name] == nil {
				continue
			}
			return d.errf(key+".default", "must be a mapping, got %s", kindOf(m[name]))
		}
		for k, qv := range q {
			switch k {
			case "concurrency_max":
				n, err := d.integer(key+".default.concurrency_max", qv)
				if err != nil {
					return err
				}
				c.ConcurrencyMax = n
			case "queue_max", "concurrency_queue_max":
				n, err := d.integer(key+".default."+k, qv)
				if err != nil {
					return err
				}
				c.ConcurrencyQueueMax = n
			default:
				d.warnf(key+".default."+k, "unknown key, ignored")
			}
		}
	}
	return nil
}

func (d *decoder) tls(c *Config, v any) error {
	const p = "wamp.connection.tls."
	m, ok := v.(map[string]any)
	if !ok {
		return d.errf("wamp.connection.tls", "must be a mapping, got %s", kindOf(v))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if v == nil {
			continue
		}
		var err error
		switch k {
		case "ca_file":
			c.TLSCAFile, err = d.str(p+k, v)
		case "cert_file":
			c.TLSCertFile, err = d.str(p+k, v)
		case "key_file":
			c.TLSKeyFile, err = d.str(p+k, v)
		case "server_name":
			c.TLSServerName, err = d.str(p+k, v)
		case "insecure":
			c.TLSInsecure, err = d.boolean(p+k, v)
		default:
			d.warnf(p+k, "unknown key, ignored")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) str(key string, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", d.errf(key, "must be a string, got %s", kindOf(v))
}

// secret accepts text, or a number written without quotes (password: 1234),
// and never puts the value into an error.
func (d *decoder) secret(key string, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		d.warnf(key, "a number with a fraction was converted to text; quote it to keep it exactly as written")
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	return "", d.errf(key, "must be text, got %s", kindOf(v))
}

func (d *decoder) strList(key string, v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, d.errf(fmt.Sprintf("%s[%d]", key, i), "must be a string, got %s", kindOf(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, d.errf(key, "must be a list of strings, got %s", kindOf(v))
}

func (d *decoder) boolean(key string, v any) (bool, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(t) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	case int64, uint64, int:
		n, _ := d.integer(key, v)
		return n != 0, nil
	}
	return false, d.errf(key, "must be true or false, got %s", kindOf(v))
}

func (d *decoder) integer(key string, v any) (int, error) {
	switch t := v.(type) {
	case int64:
		if t < 0 {
			return 0, d.errf(key, "must not be negative, got %d", t)
		}
		return int(t), nil
	case uint64:
		if t > math.MaxInt64>>1 {
			return 0, d.errf(key, "too large: %d", t)
		}
		return int(t), nil
	case int:
		if t < 0 {
			return 0, d.errf(key, "must not be negative, got %d", t)
		}
		return t, nil
	case float64:
		if t == math.Trunc(t) && t >= 0 && t < 1<<53 {
			return int(t), nil
		}
		return 0, d.errf(key, "must be a whole non-negative number, got %v", t)
	}
	return 0, d.errf(key, "must be a whole number, got %s", kindOf(v))
}

// duration accepts a number of seconds (Python's unit) or a Go duration
// string such as "1m30s".
func (d *decoder) duration(key string, v any) (time.Duration, error) {
	var secs float64
	switch t := v.(type) {
	case int64:
		secs = float64(t)
	case uint64:
		secs = float64(t)
	case int:
		secs = float64(t)
	case float64:
		secs = t
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
			secs = f
			break
		}
		dd, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil {
			return 0, d.errf(key, "want a number of seconds or a duration such as \"30s\", got %q", t)
		}
		if dd < 0 {
			return 0, d.errf(key, "must not be negative, got %s", dd)
		}
		return dd, nil
	default:
		return 0, d.errf(key, "want a number of seconds or a duration such as \"30s\", got %s", kindOf(v))
	}
	if math.IsNaN(secs) || secs < 0 || secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, d.errf(key, "must be a non-negative number of seconds, got %v", secs)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
