package izaber

import (
	"context"
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/client"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Identity is what WhoAmI returns.
type Identity struct {
	AuthID string `json:"authid"`
	Role   string `json:"role"`
}

// WhoAmI asks Nexus who this session is (auth.whoami).
func (c *Client) WhoAmI(ctx context.Context) (Identity, error) {
	return CallAs[Identity](ctx, c, "auth.whoami", nil, nil)
}

// ADUsers lists the directory's users (ad.users): a list of
// {attributes, dn} records on Zaber's Nexus.
func (c *Client) ADUsers(ctx context.Context) ([]any, error) {
	res, err := c.Call(ctx, "ad.users", nil, nil)
	if err != nil {
		return nil, err
	}
	return asList("ad.users", res.Arg(0))
}

// ADGroups lists the directory's groups (ad.groups), as Nexus returns them.
func (c *Client) ADGroups(ctx context.Context) (any, error) {
	res, err := c.Call(ctx, "ad.groups", nil, nil)
	if err != nil {
		return nil, err
	}
	return res.Arg(0), nil
}

// RosterRegister adds or replaces this session's entry in the roster key
// (system.roster.register, sent as [key, data, visibility]; a nil
// visibility is sent as null, which Nexus reads as "*", visible to all).
// Unlike Python, the entry is registered again after every reconnection
// and after ChangeUser, until RosterUnregister. It returns Nexus's record.
func (c *Client) RosterRegister(ctx context.Context, key string, data, visibility any) (protocol.Dict, error) {
	res, err := c.Call(ctx, "system.roster.register", protocol.List{key, data, visibility}, nil)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if _, ok := c.rosters[key]; !ok {
		c.rosterOrder = append(c.rosterOrder, key)
	}
	c.rosters[key] = rosterEntry{data: data, visibility: visibility}
	c.mu.Unlock()
	rec, _ := res.Arg(0).(protocol.Dict)
	return rec, nil
}

// RosterUnregister removes this session's entry from the roster key
// (system.roster.unregister [key]) and stops restoring it.
func (c *Client) RosterUnregister(ctx context.Context, key string) error {
	c.mu.Lock()
	if _, ok := c.rosters[key]; ok {
		delete(c.rosters, key)
		for i, k := range c.rosterOrder {
			if k == key {
				c.rosterOrder = append(c.rosterOrder[:i:i], c.rosterOrder[i+1:]...)
				break
			}
		}
	}
	c.mu.Unlock()
	_, err := c.Call(ctx, "system.roster.unregister", protocol.List{key}, nil)
	return err
}

// RosterQuery returns the data of every entry of the roster key visible to
// this session (system.roster.query [key]).
func (c *Client) RosterQuery(ctx context.Context, key string) ([]any, error) {
	res, err := c.Call(ctx, "system.roster.query", protocol.List{key}, nil)
	if err != nil {
		return nil, err
	}
	return asList("system.roster.query", res.Arg(0))
}

// restoreRosters registers the roster entries made through this client on
// session s; failures are reported like other restore failures.
func (c *Client) restoreRosters(ctx context.Context, s *session.Session) {
	c.mu.Lock()
	keys := append([]string(nil), c.rosterOrder...)
	entries := make([]rosterEntry, len(keys))
	for i, k := range keys {
		entries[i] = c.rosters[k]
	}
	timeout := c.cfg.Timeout
	c.mu.Unlock()
	uri := c.URI("system.roster.register")
	for i, key := range keys {
		var opts []session.Option
		if timeout > 0 {
			opts = append(opts, session.Timeout(timeout))
		}
		_, err := s.Call(ctx, uri, protocol.List{key, entries[i].data, entries[i].visibility}, nil, opts...)
		if err != nil {
			c.log.Warn("izaber: cannot restore roster entry", "key", key, "err", err)
			c.reportRestore(&client.RestoreError{Kind: "roster", URI: key, Err: err})
		}
	}
}

// MetadataSet stores a value under key in the user's persistent metadata
// (my.metadata.set [key, value, yaml]); with yaml the value is YAML text.
// It returns the stored value.
func (c *Client) MetadataSet(ctx context.Context, key string, value any, yaml bool) (any, error) {
	res, err := c.Call(ctx, "my.metadata.set", protocol.List{key, value, yaml}, nil)
	if err != nil {
		return nil, err
	}
	return res.Arg(0), nil
}

// MetadataGet returns the value under key, or nil if there is none
// (my.metadata.get [key]).
func (c *Client) MetadataGet(ctx context.Context, key string) (any, error) {
	res, err := c.Call(ctx, "my.metadata.get", protocol.List{key}, nil)
	if err != nil {
		return nil, err
	}
	return res.Arg(0), nil
}

// MetadataList returns every metadata record of the user, by key
// (my.metadata.list).
func (c *Client) MetadataList(ctx context.Context) (protocol.Dict, error) {
	res, err := c.Call(ctx, "my.metadata.list", nil, nil)
	if err != nil {
		return nil, err
	}
	return asDict("my.metadata.list", res.Arg(0))
}

// MetadataDelete deletes the metadata under key (my.metadata.delete [key]).
func (c *Client) MetadataDelete(ctx context.Context, key string) error {
	_, err := c.Call(ctx, "my.metadata.delete", protocol.List{key}, nil)
	return err
}

// APIKeysCreate creates an API key (my.apikeys.create [rec]); rec may set
// description, expires and permissions, and nil is sent as null (an empty
// record). The result includes plaintext_key, a secret: do not log it.
func (c *Client) APIKeysCreate(ctx context.Context, rec protocol.Dict) (protocol.Dict, error) {
	var arg any
	if rec != nil {
		arg = rec
	}
	res, err := c.Call(ctx, "my.apikeys.create", protocol.List{arg}, nil)
	if err != nil {
		return nil, err
	}
	return asDict("my.apikeys.create", res.Arg(0))
}

// APIKeysList returns the user's API keys (my.apikeys.list), as the
// server sends them: Nexus versions that keep keys in plaintext include
// each plaintext_key (a secret: do not log it); servers that keep digests
// only, such as package router/nexus, send it as nil.
func (c *Client) APIKeysList(ctx context.Context) ([]protocol.Dict, error) {
	res, err := c.Call(ctx, "my.apikeys.list", nil, nil)
	if err != nil {
		return nil, err
	}
	return asDictList("my.apikeys.list", res.Arg(0))
}

// APIKeysDelete deletes the API key with the given uuid
// (my.apikeys.delete [uuid]).
func (c *Client) APIKeysDelete(ctx context.Context, uuid string) error {
	_, err := c.Call(ctx, "my.apikeys.delete", protocol.List{uuid}, nil)
	return err
}

// OTPCreate creates a one-time password (my.otps.create, falling back to
// the singular my.otp.create of older Nexus versions). The result's
// login and plaintext_key log in once within 10 minutes; do not log them.
func (c *Client) OTPCreate(ctx context.Context) (protocol.Dict, error) {
	res, err := c.callOTP(ctx, "create", nil)
	if err != nil {
		return nil, err
	}
	return asDict("my.otps.create", res.Arg(0))
}

// OTPList returns the user's one-time passwords (my.otps.list or
// my.otp.list).
func (c *Client) OTPList(ctx context.Context) ([]protocol.Dict, error) {
	res, err := c.callOTP(ctx, "list", nil)
	if err != nil {
		return nil, err
	}
	return asDictList("my.otps.list", res.Arg(0))
}

// OTPDelete deletes a one-time password by uuid (my.otps.delete or
// my.otp.delete).
func (c *Client) OTPDelete(ctx context.Context, uuid string) error {
	_, err := c.callOTP(ctx, "delete", protocol.List{uuid})
	return err
}

func (c *Client) callOTP(ctx context.Context, verb string, args protocol.List) (*session.Result, error) {
	res, err := c.Call(ctx, "my.otps."+verb, args, nil)
	if errors.Is(err, session.ErrNoSuchProcedure) {
		return c.Call(ctx, "my.otp."+verb, args, nil)
	}
	return res, err
}

func asDict(proc string, v any) (protocol.Dict, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case protocol.Dict:
		return t, nil
	}
	return nil, fmt.Errorf("izaber: %s returned %T, want a dictionary", proc, v)
}

func asList(proc string, v any) ([]any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case protocol.List:
		return t, nil
	}
	return nil, fmt.Errorf("izaber: %s returned %T, want a list", proc, v)
}

func asDictList(proc string, v any) ([]protocol.Dict, error) {
	l, err := asList(proc, v)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Dict, 0, len(l))
	for i, e := range l {
		d, ok := e.(protocol.Dict)
		if !ok {
			return nil, fmt.Errorf("izaber: %s returned %T at index %d, want a dictionary", proc, e, i)
		}
		out = append(out, d)
	}
	return out, nil
}

// Nexus error URIs, as sentinels for errors.Is (they match both an ERROR
// reply and an ABORT at login).
var (
	// ErrPermissionDenied: Nexus refused a login (bad user, password, used
	// or expired OTP) or a service (missing roster permission).
	ErrPermissionDenied = &session.Error{URI: "com.izaber.wamp.error.permissiondenied"}
	// ErrNexus: any other failure of a Nexus service.
	ErrNexus = &session.Error{URI: "com.izaber.wamp.error"}
)
