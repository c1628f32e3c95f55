package izaber

import (
	"context"
)

// Initialize is Python's izaber.initialize() for WAMP: it loads the
// configuration with Load(src) (the zero Source reads izaber.yaml the way
// Python does), builds the Client with New, which logs the configuration's
// warnings, and connects it, bounded by ConnectTimeout: an unreachable
// router is an error, never a hang. When wamp.run is false (Python's
// AUTORUN = False) it returns the Client unconnected; Connect or
// ChangeUser logs in later.
//
// To set a Logger, add hooks that must see the first join, or change the
// configuration in code, call Load, New and Connect instead: Initialize is
// exactly those three steps.
func Initialize(ctx context.Context, src Source) (*Client, error) {
	s, err := Load(src)
	if err != nil {
		return nil, err
	}
	c, err := New(s.Config)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.settings = s
	c.mu.Unlock()
	if !s.Run {
		return c, nil
	}
	if err := c.Connect(ctx); err != nil {
		c.Close(context.Background())
		return nil, err
	}
	return c, nil
}
