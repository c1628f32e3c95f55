package izaber_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// The API key helpers work with Nexus versions that still list each key's
// plaintext_key and with servers that keep digests only (ours).
func TestAPIKeysWithOldAndNewNexus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// An older Nexus: list returns plaintext_key, and extra fields.
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{
		Name: "izaber",
		Authenticators: []auth.Authenticator{auth.TicketAuthenticator(func(_ context.Context, req *auth.Request, _ string) (*auth.Identity, error) {
			return &auth.Identity{AuthID: req.AuthID, AuthRole: "frontend"}, nil
		})},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Realm("izaber").RegisterInternal("com.izaber.wamp.my.apikeys.list", func(context.Context, *router.SessionInfo, *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: protocol.List{protocol.List{protocol.Dict{
			"uuid": "k1", "owner": "o", "key": "digest", "plaintext_key": "old-plaintext", "description": "d",
			"expires": nil, "permissions": protocol.List{}, "some_future_field": int64(3),
		}}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.WebSocketHandler())
	defer srv.Close()
	defer r.Close(ctx)
	old, err := izaber.New(izaber.Config{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", Username: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(ctx)
	if err := old.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := old.APIKeysList(ctx)
	if err != nil {
		t.Fatalf("APIKeysList from an older Nexus: %v", err)
	}
	if len(keys) != 1 || keys[0]["uuid"] != "k1" || keys[0]["plaintext_key"] != "old-plaintext" || keys[0]["some_future_field"] != int64(3) {
		t.Errorf("APIKeysList from an older Nexus = %v", keys)
	}

	// Ours: the plaintext is in create's answer only.
	nr := newRouter(t)
	c := login(t, nr, "frontend-1")
	k, err := c.APIKeysCreate(ctx, protocol.Dict{"description": "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := k["plaintext_key"].(string); p == "" {
		t.Fatalf("APIKeysCreate = %v", k)
	}
	keys, err = c.APIKeysList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0]["uuid"] != k["uuid"] || keys[0]["plaintext_key"] != nil || keys[0]["description"] != "ci" {
		t.Errorf("APIKeysList = %v", keys)
	}
}
