package izaber

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

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
var ErrNoConfig error = &configError{msg: "izaber: no source for configuration found"}

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
	// "$IZABER_YAML" or "YAML text"; "" when there was none and only the
	// IZABER_* variables configured the connection.
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
	if errors.Is(err, ErrNoConfig) && opts.File == "" && envConfigured() {
		text, source, err = "", "", nil // configured by the environment alone
	}
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, configErrorf("izaber: %s is not valid YAML: %s", source, yamlError(err))
	}
	root, err := normalize(doc, "")
	if err != nil {
		return nil, configErrorf("izaber: %s: %w", source, err)
	}
	rootMap, ok := root.(map[string]any)
	if root != nil && !ok {
		return nil, configErrorf("izaber: %s: the top level must be a mapping of environments, got %s", source, kindOf(root))
	}

	env := opts.Environment
	if env == "" {
		env = os.Getenv(EnvEnvironment)
	}
	if env == "" {
		env = "default"
	}
	d := &decoder{source: source}
	d.checkEnvironments(rootMap, env)
	merged, err := selectEnvironment(rootMap, env)
	if err != nil {
		return nil, configErrorf("izaber: %s: %w", source, err)
	}
	if opts.Overrides != nil {
		ov, err := normalize(opts.Overrides, "")
		if err != nil {
			return nil, configErrorf("izaber: overrides: %w", err)
		}
		if merged, err = deepMerge(merged, ov, ""); err != nil {
			return nil, configErrorf("izaber: %s with overrides: %w", source, err)
		}
	}
	m, _ := merged.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	s := &Settings{Run: true, Environment: env, Origin: source, Values: m}
	if err := d.decodeWAMP(s, m); err != nil {
		return nil, err
	}
	if err := applyEnv(&s.Config); err != nil {
		return nil, err
	}
	s.Config.Warnings = d.warnings
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
			return "", "", configErrorf("izaber: cannot read %s: %w", p, unwrapPath(err))
		}
		if st.IsDir() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", configErrorf("izaber: cannot read %s: %w", p, unwrapPath(err))
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return string(b), p, nil
	}
	if v, ok := os.LookupEnv(EnvYAML); ok && strings.TrimSpace(v) != "" {
		return v, "$" + EnvYAML, nil
	}
	return "", "", fmt.Errorf("%w (searched %s, then $%s); create izaber.yaml with wamp.connection url, username and password, or set $%s, $%s and $%s",
		ErrNoConfig, strings.Join(candidates, ", "), EnvYAML, EnvURL, EnvUser, EnvPassword)
}

// yamlError is the first line of a YAML parser error, "line L, column C:
// message", without the parser's excerpt of the file (which could show a
// password).
func yamlError(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	var line, col int
	if n, _ := fmt.Sscanf(msg, "[%d:%d]", &line, &col); n == 2 {
		if _, rest, ok := strings.Cut(msg, "]"); ok {
			return fmt.Sprintf("line %d, column %d: %s", line, col, strings.TrimSpace(rest))
		}
	}
	return msg
}

// unwrapPath drops the path an *fs.PathError adds, for messages that
// name the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
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
		return nil, fmt.Errorf("there is no environment %q (the file has %s); check $%s or the environment asked for", env, strings.Join(sortedKeys(root), ", "), EnvEnvironment)
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
