package nexus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// callAs invokes a service as the session with authextra extra.
func callAs(s *Service, authid, role string, extra protocol.Dict, name string, args ...any) (any, error) {
	return s.invoke(&call{name: name, session: 1, authid: authid, role: role, extra: extra, args: args})
}

// A '+' permission holds for two minutes after a login or
// auth.reauthenticate, as in Nexus; the auth.* family reports and moves
// that window.
func TestElevatedPermissions(t *testing.T) {
	s, clk := newTestService(t, "")
	id, err := s.checkTicket(context.Background(), "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	extra := id.AuthExtra
	s.joined(1, extra)
	const uri = "com.izaber.wamp.reauth" // frontend: c+r+
	may := func(action string) bool { return s.allowed("frontend", extra, action, uri) }
	num := func(name string, args ...any) any {
		t.Helper()
		v, err := callAs(s, "alice", "frontend", extra, name, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}

	if !may("call") || !may("register") || may("subscribe") {
		t.Error("elevated rule right after login")
	}
	clk.Add(121 * time.Second)
	if may("call") || may("register") {
		t.Error("elevated rule allowed 121 s after login")
	}
	if !s.allowed("frontend", extra, "call", "com.izaber.wamp.auth.whoami") {
		t.Error("plain rule lost with the elevated window")
	}
	if v := num("com.izaber.wamp.auth.is_reauthenticated"); v != false {
		t.Errorf("is_reauthenticated after the window = %v", v)
	}
	if v := num("com.izaber.wamp.auth.extend_reauthenticate"); v != false {
		t.Errorf("extend_reauthenticate after the window = %v", v)
	}
	if v := num("com.izaber.wamp.auth.reauthenticate", "wrong"); v != false {
		t.Errorf("reauthenticate(wrong) = %v", v)
	}
	if v := num("auth.reauthenticate", "alice-pw"); v != int64(120) || !may("call") {
		t.Errorf("reauthenticate = %v; elevated call allowed %v", v, may("call"))
	}
	clk.Add(60 * time.Second)
	if v := num("com.izaber.wamp.system.is_reauthenticated"); v != 60.0 {
		t.Errorf("is_reauthenticated after 60 s = %v", v)
	}
	if v := num("com.izaber.wamp.system.extend_reauthenticate"); v != int64(120) {
		t.Errorf("extend_reauthenticate = %v", v)
	}
	clk.Add(119 * time.Second)
	if !may("call") {
		t.Error("elevated call refused 119 s after extend")
	}
	if v := num("auth.reauthenticate_expire"); v != nil || may("call") {
		t.Errorf("reauthenticate_expire = %v; elevated call allowed %v", v, may("call"))
	}

	// Without a Nexus login there is nothing to re-authenticate.
	if _, err := callAs(s, "alice", "frontend", nil, "auth.reauthenticate", "alice-pw"); err == nil {
		t.Error("reauthenticate without a cookie succeeded")
	}
	if s.allowed("frontend", protocol.Dict{}, "call", uri) {
		t.Error("elevated rule allowed without a cookie")
	}
}

// Keys minted by key sessions carry their creators' permission lists, and
// the chain has a bounded depth.
func TestInheritedPermissions(t *testing.T) {
	s, _ := newTestService(t, "")
	ctx := context.Background()
	v, err := callAs(s, "alice", "frontend", nil, "my.apikeys.create", protocol.Dict{"permissions": protocol.List{
		protocol.Dict{"uri": "com.izaber.wamp.my.apikeys.*", "perms": "c"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(protocol.Dict)["inherited_permissions"]; ok {
		t.Errorf("key of a password session has inherited permissions: %v", v)
	}
	plain := v.(protocol.Dict)["plaintext_key"].(string)
	for depth := 1; ; depth++ {
		id, err := s.checkTicket(ctx, "alice", plain)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		v, err = callAs(s, "alice", "frontend", id.AuthExtra, "my.apikeys.create", protocol.Dict{"permissions": protocol.List{
			protocol.Dict{"uri": "com.izaber.wamp.my.apikeys.*", "perms": "c"},
		}})
		if depth == maxKeyGenerations {
			if err == nil {
				t.Fatalf("key minted %d sessions deep", depth+1)
			}
			break
		}
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		inh := v.(protocol.Dict)["inherited_permissions"].(protocol.List)
		if len(inh) != depth {
			t.Fatalf("depth %d: %d inherited lists", depth, len(inh))
		}
		plain = v.(protocol.Dict)["plaintext_key"].(string)
	}
	lv, err := callAs(s, "alice", "frontend", nil, "my.apikeys.list")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lv.(protocol.List)); n != maxKeyGenerations {
		t.Errorf("%d keys listed, want %d", n, maxKeyGenerations)
	}
}

// The key_permissions quota counts the rules a key inherits.
func TestInheritedRulesCountAgainstQuota(t *testing.T) {
	s, _ := newTestService(t, "")
	rules := func(prefix string, n int) protocol.Dict {
		l := protocol.List{protocol.Dict{"uri": "com.izaber.wamp.my.apikeys.*", "perms": "c"}}
		for i := 1; i < n; i++ {
			l = append(l, protocol.Dict{"uri": fmt.Sprintf("%s.%d", prefix, i), "perms": "c"})
		}
		return protocol.Dict{"permissions": l}
	}
	v, err := callAs(s, "alice", "frontend", nil, "my.apikeys.create", rules("a", 40))
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.checkTicket(context.Background(), "alice", v.(protocol.Dict)["plaintext_key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	_, err = callAs(s, "alice", "frontend", id.AuthExtra, "my.apikeys.create", rules("b", 30))
	if u, _, kw := errorURI(err); u != ErrQuotaExceeded || kw["quota"] != "key_permissions" || kw["size"] != int64(70) {
		t.Errorf("40 inherited + 30 own rules: %v (kwargs %v)", err, kw)
	}
	if _, err := callAs(s, "alice", "frontend", id.AuthExtra, "my.apikeys.create", rules("b", 24)); err != nil {
		t.Errorf("40 inherited + 24 own rules: %v", err)
	}
}
