package izaber

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/zabertech/go-izaber-wamp/session"
)

// InitOption configures Initialize.
type InitOption func(*initSettings)

type initSettings struct {
	err     error
	load    LoadOptions
	autorun bool
	logger  *slog.Logger
	join    []func(ctx context.Context, info session.Info)
	config  []func(*Config)
}

// ConfigYAML uses the given izaber.yaml text instead of any file.
func ConfigYAML(text string) InitOption { return func(s *initSettings) { s.load.YAML = text } }

// ConfigFile looks for this file name (or absolute path) instead of
// izaber.yaml.
func ConfigFile(name string) InitOption { return func(s *initSettings) { s.load.File = name } }

// ConfigDirs searches these directories instead of ., ~ and UserDataDir().
func ConfigDirs(dirs ...string) InitOption {
	return func(s *initSettings) { s.load.Dirs = append([]string{}, dirs...) }
}

// Environment selects the izaber.yaml environment merged over "default"
// (otherwise $IZABER_ENVIRONMENT, else "default").
func Environment(name string) InitOption { return func(s *initSettings) { s.load.Environment = name } }

// Override deep-merges values over the selected environment, like the
// keyword arguments of Python's initialize(), e.g.
// Override(map[string]any{"wamp": map[string]any{"run": false}}).
func Override(values map[string]any) InitOption {
	return func(s *initSettings) {
		if s.load.Overrides == nil {
			s.load.Overrides = map[string]any{}
		}
		ov, err := normalize(values, "")
		if err == nil {
			var merged any
			merged, err = deepMerge(s.load.Overrides, ov, "")
			s.load.Overrides, _ = merged.(map[string]any)
		}
		if err != nil && s.err == nil {
			s.err = fmt.Errorf("izaber: Override: %w", err)
		}
	}
}

// Configure changes the decoded Config in code before the client is
// built, for example to set a Logger or credentials read from a prompt.
func Configure(f func(*Config)) InitOption {
	return func(s *initSettings) { s.config = append(s.config, f) }
}

// Autorun(false) configures the client without connecting, like Python's
// izaber_wamp.AUTORUN = False (delayed login); wamp.run: false in
// izaber.yaml does the same. Connect or ChangeUser connects later.
func Autorun(on bool) InitOption { return func(s *initSettings) { s.autorun = on } }

// WithLogger sets the logger of the client and receives the configuration
// warnings.
func WithLogger(l *slog.Logger) InitOption { return func(s *initSettings) { s.logger = l } }

// WithJoinHook adds a join hook before the first connection, like the
// README's wamp.hook('join', fn) before initialize().
func WithJoinHook(f func(ctx context.Context, info session.Info)) InitOption {
	return func(s *initSettings) { s.join = append(s.join, f) }
}

// Initialize reads izaber.yaml (see Load), builds a Client from
// wamp.connection and connects it, unless wamp.run is false or
// Autorun(false) is given. The connection attempt is bounded by
// ConnectTimeout: an unreachable router is an error, never a hang.
// Configuration warnings (unknown keys) are logged at Warn level and
// available from Settings().Warnings.
func Initialize(ctx context.Context, opts ...InitOption) (*Client, error) {
	st := initSettings{autorun: true}
	for _, o := range opts {
		o(&st)
	}
	if st.err != nil {
		return nil, st.err
	}
	s, err := Load(st.load)
	if err != nil {
		return nil, err
	}
	cfg := s.Config
	if st.logger != nil {
		cfg.Logger = st.logger
	}
	for _, f := range st.config {
		f(&cfg)
	}
	if cfg.Logger != nil {
		for _, w := range s.Warnings {
			cfg.Logger.Warn("izaber: " + w)
		}
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.settings = s
	c.mu.Unlock()
	for _, f := range st.join {
		c.OnJoin(f)
	}
	if !st.autorun || !s.Run {
		return c, nil
	}
	if err := c.Connect(ctx); err != nil {
		c.Close(context.Background())
		return nil, err
	}
	return c, nil
}
