package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// acceptResult is what a background Accept returned.
type acceptResult struct {
	j   *Joined
	err error
}

// acceptHarness runs Accept on one end of a pipe; the test drives the other
// end (the client) by hand.
type acceptHarness struct {
	t      *testing.T
	client transport.Peer
	server transport.Peer
	res    chan acceptResult
	logs   *acceptSyncBuffer
}

type acceptSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *acceptSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *acceptSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func acceptStart(t *testing.T, ctx context.Context, ser protocol.Serializer, cfg AcceptConfig) *acceptHarness {
	t.Helper()
	h := &acceptHarness{t: t, res: make(chan acceptResult, 1), logs: &acceptSyncBuffer{}}
	h.server, h.client = transport.Pipe(ser)
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		j, err := Accept(ctx, h.server, cfg)
		h.res <- acceptResult{j, err}
	}()
	return h
}

func (h *acceptHarness) send(m protocol.Message) {
	h.t.Helper()
	if err := h.client.Send(context.Background(), m); err != nil {
		h.t.Fatalf("client send %v: %v", m.Code(), err)
	}
}

func (h *acceptHarness) recv() protocol.Message {
	h.t.Helper()
	m, err := h.client.Recv(context.Background())
	if err != nil {
		h.t.Fatalf("client recv: %v", err)
	}
	return m
}

func (h *acceptHarness) result() acceptResult {
	h.t.Helper()
	r := <-h.res
	if (r.j == nil) == (r.err == nil) {
		h.t.Fatalf("Accept returned %v and %v", r.j, r.err)
	}
	return r
}

// expectAbort reads ABORT, checks its reason, that the connection is then
// closed, and that Accept's error describes it.
func (h *acceptHarness) expectAbort(reason string) (*protocol.Abort, error) {
	h.t.Helper()
	m := h.recv()
	ab, ok := m.(*protocol.Abort)
	if !ok {
		h.t.Fatalf("got %v, want ABORT %s", m.Code(), reason)
	}
	if ab.Reason != reason {
		h.t.Errorf("ABORT reason %q, want %q (message %v)", ab.Reason, reason, ab.Details["message"])
	}
	msg, _ := ab.Details["message"].(string)
	if msg == "" {
		h.t.Errorf("ABORT %s has no Details.message", reason)
	}
	if ab.Args != nil || ab.Kwargs != nil {
		h.t.Errorf("ABORT has arguments: %v %v", ab.Args, ab.Kwargs)
	}
	h.expectClosed()
	r := h.result()
	var d *auth.Denied
	if !errors.As(r.err, &d) {
		h.t.Fatalf("Accept error %v does not wrap *auth.Denied", r.err)
	}
	if d.Reason != reason || d.Message != msg {
		h.t.Errorf("Denied %q %q, ABORT %q %q", d.Reason, d.Message, reason, msg)
	}
	return ab, r.err
}

func (h *acceptHarness) expectClosed() {
	h.t.Helper()
	if m, err := h.client.Recv(context.Background()); !errors.Is(err, transport.ErrClosed) {
		h.t.Fatalf("after the handshake failed: got %v, %v; want the connection closed", m, err)
	}
}

func (h *acceptHarness) expectWelcome() (*protocol.Welcome, *Joined) {
	h.t.Helper()
	m := h.recv()
	w, ok := m.(*protocol.Welcome)
	if !ok {
		if ab, ok := m.(*protocol.Abort); ok {
			h.t.Fatalf("got ABORT %s %v, want WELCOME", ab.Reason, ab.Details)
		}
		h.t.Fatalf("got %v, want WELCOME", m.Code())
	}
	r := h.result()
	if r.err != nil {
		h.t.Fatalf("Accept: %v", r.err)
	}
	j := r.j
	if j.Session != w.Session || j.Session == 0 || j.Session > protocol.MaxID {
		h.t.Errorf("session ids: joined %d, WELCOME %d", j.Session, w.Session)
	}
	if j.Peer != h.server {
		h.t.Error("Joined.Peer is not the accepted peer")
	}
	for k, want := range map[string]string{"realm": j.Realm, "authid": j.Identity.AuthID, "authrole": j.Identity.AuthRole,
		"authmethod": j.Identity.AuthMethod, "authprovider": j.Identity.AuthProvider} {
		if got, _ := w.Details[k].(string); got != want {
			h.t.Errorf("WELCOME %s = %v, Joined has %q", k, w.Details[k], want)
		}
	}
	if _, ok := w.Details["authextra"].(protocol.Dict); !ok {
		h.t.Errorf("WELCOME authextra = %#v, want a dict", w.Details["authextra"])
	}
	return w, j
}

func acceptHello(realm string, details protocol.Dict) *protocol.Hello {
	if details == nil {
		details = protocol.Dict{}
	}
	details["roles"] = protocol.Dict{"caller": protocol.Dict{}}
	return &protocol.Hello{Realm: realm, Details: details}
}

// helloFor builds the HELLO a client offering methods would send.
func acceptHelloFor(realm, authid string, methods ...auth.ClientMethod) *protocol.Hello {
	names := protocol.List{}
	extra := protocol.Dict{}
	for _, m := range methods {
		names = append(names, m.Method())
		for k, v := range m.HelloExtra() {
			extra[k] = v
		}
	}
	return acceptHello(realm, protocol.Dict{"authid": authid, "authmethods": names, "authextra": extra})
}

// answer reads a CHALLENGE and answers it with the client method.
func (h *acceptHarness) answer(m auth.ClientMethod) *protocol.Challenge {
	h.t.Helper()
	msg := h.recv()
	c, ok := msg.(*protocol.Challenge)
	if !ok {
		h.t.Fatalf("got %v, want CHALLENGE", msg.Code())
	}
	a, err := m.Respond(context.Background(), c)
	if err != nil {
		h.t.Fatalf("Respond: %v", err)
	}
	h.send(a)
	return c
}

const (
	acceptTestTicket = "tick3t-SECRET"
	acceptTestCRA    = "cra-SECRET-pw"
	acceptTestSalted = "salted-SECRET-pw"
)

var acceptTestKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func acceptTestAuthenticators() []auth.Authenticator {
	pub := acceptTestKey.Public().(ed25519.PublicKey)
	return []auth.Authenticator{
		auth.TicketAuthenticator(func(ctx context.Context, req *auth.Request, ticket string) (*auth.Identity, error) {
			if req.AuthID == "nexus" {
				return nil, &auth.Denied{Reason: "com.izaber.wamp.error.permissiondenied", Message: "Permission Denied"}
			}
			if req.AuthID == "alice" && ticket == acceptTestTicket {
				return &auth.Identity{AuthRole: "frontend", AuthProvider: "dynamic", AuthExtra: protocol.Dict{"cache_id": "c-1"}}, nil
			}
			return nil, nil
		}),
		auth.CRAAuthenticator(func(ctx context.Context, req *auth.Request) (*auth.CRAUser, error) {
			switch req.AuthID {
			case "bob":
				return &auth.CRAUser{Secret: acceptTestCRA, Identity: auth.Identity{AuthRole: "backend"}}, nil
			case "carol":
				return &auth.CRAUser{Secret: acceptTestSalted, Salt: "sea", Iterations: 50, KeyLen: 32, Identity: auth.Identity{AuthRole: "backend"}}, nil
			}
			return nil, nil
		}),
		auth.CryptosignAuthenticator(func(ctx context.Context, req *auth.Request, pubkeyHex string) (*auth.Identity, error) {
			if pubkeyHex == strings.ToLower(acceptHex(pub)) {
				return &auth.Identity{AuthID: "device-7", AuthRole: "trust"}, nil
			}
			return nil, nil
		}),
		auth.AnonymousAuthenticator("public"),
	}
}

func acceptHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// acceptSerializers runs each test by reference and through every codec.
var acceptSerializers = []protocol.Serializer{nil, protocol.JSON, protocol.MsgPack, protocol.CBOR}

func acceptSerName(s protocol.Serializer) string {
	if s == nil {
		return "ref"
	}
	return s.Name()
}

func TestAcceptAuthMethods(t *testing.T) {
	tests := []struct {
		name     string
		hello    *protocol.Hello
		client   auth.ClientMethod // answers the challenge; nil: no challenge expected
		authid   string
		authrole string
		method   string
		abort    string // expected ABORT reason, "" for WELCOME
	}{
		{"anonymous default", acceptHello("realm1", nil), nil, "", "public", "anonymous", ""},
		{"anonymous empty list", acceptHello("realm1", protocol.Dict{"authmethods": protocol.List{}}), nil, "", "public", "anonymous", ""},
		{"ticket", acceptHelloFor("realm1", "alice", auth.Ticket(acceptTestTicket)), auth.Ticket(acceptTestTicket), "alice", "frontend", "ticket", ""},
		{"ticket wrong", acceptHelloFor("realm1", "alice", auth.Ticket("wrong")), auth.Ticket("wrong"), "", "", "", "wamp.error.not_authorized"},
		{"ticket nexus denied", acceptHelloFor("realm1", "nexus", auth.Ticket(acceptTestTicket)), auth.Ticket(acceptTestTicket), "", "", "", "com.izaber.wamp.error.permissiondenied"},
		{"wampcra", acceptHelloFor("realm1", "bob", auth.WAMPCRA(acceptTestCRA)), auth.WAMPCRA(acceptTestCRA), "bob", "backend", "wampcra", ""},
		{"wampcra wrong", acceptHelloFor("realm1", "bob", auth.WAMPCRA(acceptTestSalted)), auth.WAMPCRA(acceptTestSalted), "", "", "", "wamp.error.not_authorized"},
		{"wampcra salted", acceptHelloFor("realm1", "carol", auth.WAMPCRA(acceptTestSalted)), auth.WAMPCRA(acceptTestSalted), "carol", "backend", "wampcra", ""},
		{"wampcra salted wrong", acceptHelloFor("realm1", "carol", auth.WAMPCRA(acceptTestCRA)), auth.WAMPCRA(acceptTestCRA), "", "", "", "wamp.error.not_authorized"},
		{"cryptosign", acceptHelloFor("realm1", "", auth.Cryptosign(acceptTestKey)), auth.Cryptosign(acceptTestKey), "device-7", "trust", "cryptosign", ""},
		{"client order wins", acceptHelloFor("realm1", "bob", auth.WAMPCRA(acceptTestCRA), auth.Ticket("x")), auth.WAMPCRA(acceptTestCRA), "bob", "backend", "wampcra", ""},
		{"unknown methods skipped", acceptHello("realm1", protocol.Dict{"authid": "alice", "authmethods": protocol.List{"scram", "cookie", "ticket"}}), auth.Ticket(acceptTestTicket), "alice", "frontend", "ticket", ""},
	}
	for _, ser := range acceptSerializers {
		for _, tt := range tests {
			t.Run(acceptSerName(ser)+"/"+tt.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := acceptStart(t, t.Context(), ser, AcceptConfig{Authenticators: acceptTestAuthenticators()})
					h.send(tt.hello)
					var c *protocol.Challenge
					if tt.client != nil {
						c = h.answer(tt.client)
					}
					if tt.abort != "" {
						_, err := h.expectAbort(tt.abort)
						for _, secret := range []string{acceptTestTicket, acceptTestCRA, acceptTestSalted} {
							if strings.Contains(err.Error(), secret) || strings.Contains(h.logs.String(), secret) {
								t.Errorf("secret %q in error or logs", secret)
							}
						}
						return
					}
					w, j := h.expectWelcome()
					if j.Identity.AuthRole != tt.authrole || j.Identity.AuthMethod != tt.method {
						t.Errorf("identity %+v, want role %q method %q", j.Identity, tt.authrole, tt.method)
					}
					if tt.authid != "" && j.Identity.AuthID != tt.authid {
						t.Errorf("authid %q, want %q", j.Identity.AuthID, tt.authid)
					}
					if tt.method == "anonymous" && j.Identity.AuthID == "" {
						t.Error("anonymous session without an authid")
					}
					if j.Realm != "realm1" || j.Hello.Realm != "realm1" {
						t.Errorf("realm %q / hello %q", j.Realm, j.Hello.Realm)
					}
					if c != nil && tt.method == "wampcra" {
						// The challenge names the session that was welcomed.
						var obj struct{ Session protocol.ID }
						if err := json.Unmarshal([]byte(c.Extra["challenge"].(string)), &obj); err != nil || obj.Session != w.Session {
							t.Errorf("challenge session %d (%v), WELCOME %d", obj.Session, err, w.Session)
						}
					}
					for _, secret := range []string{acceptTestTicket, acceptTestCRA, acceptTestSalted} {
						if strings.Contains(h.logs.String(), secret) {
							t.Errorf("secret %q in logs", secret)
						}
					}
				})
			})
		}
	}
}

func TestAcceptWelcomeDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := acceptStart(t, t.Context(), nil, AcceptConfig{})
		h.send(acceptHello("any.realm", nil))
		w, j := h.expectWelcome()
		if j.Identity.AuthRole != "anonymous" || j.Identity.AuthMethod != "anonymous" || w.Details["agent"] != "izaber-wamp-go" {
			t.Errorf("default identity %+v agent %v", j.Identity, w.Details["agent"])
		}
		roles, _ := w.Details["roles"].(protocol.Dict)
		// What package router implements.
		want := map[string][]string{
			"broker": {"publisher_identification", "pattern_based_subscription", "session_meta_api",
				"subscription_meta_api", "subscriber_blackwhite_listing", "publisher_exclusion", "subscription_revocation", "event_retention", "payload_passthru_mode"},
			"dealer": {"caller_identification", "pattern_based_registration", "session_meta_api", "registration_meta_api",
				"shared_registration", "progressive_call_results", "registration_revocation", "call_canceling", "call_timeout", "testament_meta_api", "progressive_call_invocations", "payload_passthru_mode"},
		}
		if len(roles) != len(want) {
			t.Errorf("roles %v", roles)
		}
		for role, features := range want {
			r, _ := roles[role].(protocol.Dict)
			f, _ := r["features"].(protocol.Dict)
			if len(f) != len(features) {
				t.Errorf("%s features %v, want %v", role, f, features)
			}
			for _, name := range features {
				if f[name] != true {
					t.Errorf("%s feature %s = %v", role, name, f[name])
				}
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		roles := protocol.Dict{"broker": protocol.Dict{}}
		h := acceptStart(t, t.Context(), nil, AcceptConfig{
			Roles: roles, Agent: "test-router", NewSessionID: func() protocol.ID { return 77 },
			Realms: func(r string) bool { return r == "realm1" },
		})
		h.send(acceptHello("realm1", nil))
		w, j := h.expectWelcome()
		if w.Session != 77 || j.Session != 77 || w.Details["agent"] != "test-router" {
			t.Errorf("session %d agent %v", w.Session, w.Details["agent"])
		}
		if r, _ := w.Details["roles"].(protocol.Dict); len(r) != 1 || r["broker"] == nil {
			t.Errorf("roles %v, want the configured ones", w.Details["roles"])
		}
	})
}

func TestAcceptRefusals(t *testing.T) {
	onlyRealm1 := func(r string) bool { return r == "realm1" }
	ticketOnly := []auth.Authenticator{acceptTestAuthenticators()[0]}
	tests := []struct {
		name   string
		cfg    AcceptConfig
		first  protocol.Message
		reason string
		inMsg  string // substring of Details.message
	}{
		{"unknown realm", AcceptConfig{Realms: onlyRealm1}, acceptHello("realm2", nil), "wamp.error.no_such_realm", "realm2"},
		{"empty realm", AcceptConfig{}, acceptHello("", nil), "wamp.error.invalid_uri", "realm"},
		{"bad realm", AcceptConfig{}, acceptHello("a..b", nil), "wamp.error.invalid_uri", "a..b"},
		{"no auth method", AcceptConfig{Authenticators: ticketOnly}, acceptHello("realm1", nil), "wamp.error.no_auth_method", `"anonymous"`},
		{"no auth method offered", AcceptConfig{}, acceptHello("realm1", protocol.Dict{"authid": "a", "authmethods": protocol.List{"ticket", "wampcra"}}), "wamp.error.no_auth_method", `"ticket" "wampcra"`},
		{"ticket without authid", AcceptConfig{Authenticators: ticketOnly}, acceptHello("realm1", protocol.Dict{"authmethods": protocol.List{"ticket"}}), "wamp.error.not_authorized", "authid"},
		{"call first", AcceptConfig{}, &protocol.Call{Request: 1, Procedure: "x"}, "wamp.error.protocol_violation", "CALL"},
		{"welcome first", AcceptConfig{}, &protocol.Welcome{Session: 1}, "wamp.error.protocol_violation", "WELCOME"},
		{"authenticate first", AcceptConfig{}, &protocol.Authenticate{Signature: "x"}, "wamp.error.protocol_violation", "AUTHENTICATE"},
		{"nil hello", AcceptConfig{}, (*protocol.Hello)(nil), "wamp.error.protocol_violation", "HELLO"},
		{"authmethods not a list", AcceptConfig{}, acceptHello("realm1", protocol.Dict{"authmethods": "ticket"}), "wamp.error.protocol_violation", "authmethods"},
		{"authmethods not strings", AcceptConfig{}, acceptHello("realm1", protocol.Dict{"authmethods": protocol.List{1}}), "wamp.error.protocol_violation", "authmethods"},
		{"authid not a string", AcceptConfig{}, acceptHello("realm1", protocol.Dict{"authid": 5}), "wamp.error.protocol_violation", "authid"},
		{"authextra not a dict", AcceptConfig{}, acceptHello("realm1", protocol.Dict{"authextra": protocol.List{}}), "wamp.error.protocol_violation", "authextra"},
		{"session id 0", AcceptConfig{NewSessionID: func() protocol.ID { return 0 }}, acceptHello("realm1", nil), "wamp.error.authentication_failed", ""},
		{"session id too big", AcceptConfig{NewSessionID: func() protocol.ID { return protocol.MaxID + 1 }}, acceptHello("realm1", nil), "wamp.error.authentication_failed", ""},
		{"authenticator panics", AcceptConfig{Authenticators: []auth.Authenticator{acceptFuncAuth(func() (*auth.Identity, error) { panic("boom") })}},
			acceptHello("realm1", nil), "wamp.error.authentication_failed", ""},
		{"authenticator returns nothing", AcceptConfig{Authenticators: []auth.Authenticator{acceptFuncAuth(func() (*auth.Identity, error) { return nil, nil })}},
			acceptHello("realm1", nil), "wamp.error.authentication_failed", ""},
		{"authenticator fails", AcceptConfig{Authenticators: []auth.Authenticator{acceptFuncAuth(func() (*auth.Identity, error) { return nil, errors.New("internal detail") })}},
			acceptHello("realm1", nil), "wamp.error.authentication_failed", ""},
		{"empty denial reason", AcceptConfig{Authenticators: []auth.Authenticator{acceptFuncAuth(func() (*auth.Identity, error) { return nil, &auth.Denied{Message: "no"} })}},
			acceptHello("realm1", nil), "wamp.error.not_authorized", "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := acceptStart(t, t.Context(), nil, tt.cfg)
				h.send(tt.first)
				ab, err := h.expectAbort(tt.reason)
				if msg, _ := ab.Details["message"].(string); !strings.Contains(msg, tt.inMsg) {
					t.Errorf("ABORT message %q does not mention %q", msg, tt.inMsg)
				}
				if strings.Contains(ab.Details["message"].(string), "internal detail") {
					t.Error("an internal error reached the client")
				}
				if err == nil {
					t.Fatal("no error")
				}
			})
		})
	}
}

// acceptFuncAuth is an anonymous-method authenticator running f.
type acceptFuncAuth func() (*auth.Identity, error)

func (acceptFuncAuth) Method() string { return "anonymous" }
func (f acceptFuncAuth) Authenticate(context.Context, *auth.Request, auth.Challenger) (*auth.Identity, error) {
	return f()
}

func TestAcceptDuringChallenge(t *testing.T) {
	tests := []struct {
		name   string
		reply  func(h *acceptHarness) // what the client does instead of AUTHENTICATE
		reason string                 // ABORT expected, "" for none
		is     error                  // Accept's error must match
	}{
		{"call instead", func(h *acceptHarness) { h.send(&protocol.Call{Request: 1, Procedure: "p"}) }, "wamp.error.protocol_violation", nil},
		{"hello again", func(h *acceptHarness) { h.send(acceptHello("realm1", nil)) }, "wamp.error.protocol_violation", nil},
		{"nil authenticate", func(h *acceptHarness) { h.send((*protocol.Authenticate)(nil)) }, "wamp.error.protocol_violation", nil},
		{"client closes", func(h *acceptHarness) { h.client.Close() }, "", transport.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := acceptStart(t, t.Context(), nil, AcceptConfig{Authenticators: acceptTestAuthenticators()})
				h.send(acceptHelloFor("realm1", "bob", auth.WAMPCRA(acceptTestCRA)))
				if _, ok := h.recv().(*protocol.Challenge); !ok {
					t.Fatal("no CHALLENGE")
				}
				tt.reply(h)
				if tt.reason != "" {
					h.expectAbort(tt.reason)
					return
				}
				r := h.result()
				if !errors.Is(r.err, tt.is) {
					t.Fatalf("err = %v, want %v", r.err, tt.is)
				}
			})
		})
	}
}

func TestAcceptClientAborts(t *testing.T) {
	for _, during := range []string{"hello", "challenge"} {
		t.Run(during, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := acceptStart(t, t.Context(), nil, AcceptConfig{Authenticators: acceptTestAuthenticators()})
				if during == "challenge" {
					h.send(acceptHelloFor("realm1", "alice", auth.Ticket(acceptTestTicket)))
					h.recv()
				}
				h.send(&protocol.Abort{Details: protocol.Dict{"message": "changed my mind"}, Reason: "wamp.error.cannot_authenticate"})
				// No reply to an ABORT: the connection just closes.
				h.expectClosed()
				r := h.result()
				if r.err == nil || !strings.Contains(r.err.Error(), "cannot_authenticate") {
					t.Fatalf("err = %v", r.err)
				}
				var d *auth.Denied
				if errors.As(r.err, &d) {
					t.Errorf("client abort reported as a denial %v", d)
				}
			})
		})
	}
}

func TestAcceptTimeouts(t *testing.T) {
	t.Run("no hello", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			h := acceptStart(t, ctx, nil, AcceptConfig{})
			_, err := h.expectAbort("wamp.error.timeout")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 5*time.Second {
				t.Errorf("gave up after %v", d)
			}
		})
	})
	t.Run("no authenticate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			h := acceptStart(t, ctx, nil, AcceptConfig{Authenticators: acceptTestAuthenticators()})
			h.send(acceptHelloFor("realm1", "alice", auth.Ticket(acceptTestTicket)))
			h.recv() // CHALLENGE, never answered
			_, err := h.expectAbort("wamp.error.timeout")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
		})
	})
	t.Run("canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			h := acceptStart(t, ctx, nil, AcceptConfig{})
			synctest.Wait()
			cancel()
			_, err := h.expectAbort("wamp.close.system_shutdown")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want Canceled", err)
			}
		})
	})
}

// acceptGarbagePeer returns a decoding error on its first Recv, as a real
// transport does for a frame that is not a WAMP message.
type acceptGarbagePeer struct {
	transport.Peer
	once sync.Once
}

func (p *acceptGarbagePeer) Recv(ctx context.Context) (protocol.Message, error) {
	var err error
	p.once.Do(func() { _, err = protocol.JSON.Unmarshal([]byte(`[1, "realm1", {"roles": `)) })
	if err != nil {
		return nil, err
	}
	return p.Peer.Recv(ctx)
}

func TestAcceptGarbage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, client := transport.Pipe(protocol.JSON)
		res := make(chan error, 1)
		go func() {
			_, err := Accept(t.Context(), &acceptGarbagePeer{Peer: server}, AcceptConfig{})
			res <- err
		}()
		m, err := client.Recv(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ab, ok := m.(*protocol.Abort); !ok || ab.Reason != "wamp.error.protocol_violation" {
			t.Fatalf("got %#v, want ABORT protocol_violation", m)
		}
		err = <-res
		if !errors.Is(err, protocol.ErrInvalidMessage) {
			t.Errorf("err = %v, want one matching protocol.ErrInvalidMessage", err)
		}
		if _, err := client.Recv(t.Context()); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("connection not closed: %v", err)
		}
	})
}

// A client that closes before HELLO ends Accept at once.
func TestAcceptClosedBeforeHello(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := acceptStart(t, t.Context(), nil, AcceptConfig{})
		h.client.Close()
		r := h.result()
		if !errors.Is(r.err, transport.ErrClosed) {
			t.Fatalf("err = %v", r.err)
		}
	})
}

func TestAcceptRandomID(t *testing.T) {
	seen := make(map[protocol.ID]bool)
	var high bool
	for range 10000 {
		id := acceptRandomID()
		if id == 0 || id > protocol.MaxID {
			t.Fatalf("id %d out of range", id)
		}
		if seen[id] {
			t.Fatalf("id %d repeated", id)
		}
		seen[id] = true
		high = high || id > protocol.MaxID/2
	}
	if !high {
		t.Error("no id in the upper half of the range in 10000 draws")
	}
}

// An authenticator that keeps the Challenger cannot use it after Accept
// moved on.
func TestAcceptChallengerExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var kept auth.Challenger
		a := acceptKeepAuth{keep: &kept}
		h := acceptStart(t, t.Context(), nil, AcceptConfig{Authenticators: []auth.Authenticator{a}})
		h.send(acceptHello("realm1", nil))
		h.expectWelcome()
		if _, err := kept(t.Context(), nil); err == nil {
			t.Fatal("stale Challenger worked")
		}
	})
}

type acceptKeepAuth struct{ keep *auth.Challenger }

func (acceptKeepAuth) Method() string { return "anonymous" }
func (a acceptKeepAuth) Authenticate(_ context.Context, _ *auth.Request, c auth.Challenger) (*auth.Identity, error) {
	*a.keep = c
	return &auth.Identity{AuthID: "x", AuthRole: "y"}, nil
}

// acceptBrokenPeer fails every Recv with a network error and records sends.
type acceptBrokenPeer struct {
	transport.Peer
	mu   sync.Mutex
	sent []protocol.Message
}

var errAcceptReset = errors.New("connection reset by peer")

func (p *acceptBrokenPeer) Recv(context.Context) (protocol.Message, error) {
	return nil, errAcceptReset
}
func (p *acceptBrokenPeer) Send(_ context.Context, m protocol.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, m)
	return nil
}

// A broken connection gets no ABORT, and the error says why.
func TestAcceptReadError(t *testing.T) {
	server, client := transport.Pipe(nil)
	defer client.Close()
	p := &acceptBrokenPeer{Peer: server}
	_, err := Accept(t.Context(), p, AcceptConfig{})
	if !errors.Is(err, errAcceptReset) {
		t.Fatalf("err = %v", err)
	}
	var d *auth.Denied
	if errors.As(err, &d) || len(p.sent) != 0 {
		t.Errorf("ABORT sent on a broken connection: %v %v", d, p.sent)
	}
	if _, err := client.Recv(t.Context()); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("peer not closed: %v", err)
	}
	if _, err := Accept(t.Context(), nil, AcceptConfig{}); err == nil {
		t.Error("nil peer accepted")
	}
}

// The authenticator sees what HELLO said, the future session id and the
// configured transport name.
func TestAcceptRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got *auth.Request
		a := acceptReqAuth{got: &got}
		h := acceptStart(t, t.Context(), nil, AcceptConfig{
			Authenticators: []auth.Authenticator{a}, Transport: "rawsocket",
			NewSessionID: func() protocol.ID { return 99 },
		})
		h.send(acceptHello("realm1", protocol.Dict{"authid": "zed", "authmethods": protocol.List{"x-custom"},
			"authextra": protocol.Dict{"k": "v"}}))
		_, j := h.expectWelcome()
		if got == nil || got.Realm != "realm1" || got.AuthID != "zed" || got.Session != 99 || got.Transport != "rawsocket" ||
			len(got.AuthMethods) != 1 || got.AuthMethods[0] != "x-custom" || got.AuthExtra["k"] != "v" || got.Details["authid"] != "zed" {
			t.Errorf("request %+v", got)
		}
		if j.Identity.AuthMethod != "x-custom" {
			t.Errorf("authmethod %q, want the authenticator's method", j.Identity.AuthMethod)
		}
	})
}

type acceptReqAuth struct{ got **auth.Request }

func (acceptReqAuth) Method() string { return "x-custom" }
func (a acceptReqAuth) Authenticate(_ context.Context, req *auth.Request, _ auth.Challenger) (*auth.Identity, error) {
	*a.got = req
	return &auth.Identity{AuthID: req.AuthID, AuthRole: "r"}, nil
}

// Accept reads nothing after the handshake: a message the client pipelined
// behind its AUTHENTICATE is left for the caller.
func TestAcceptLeavesLaterMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := acceptStart(t, t.Context(), nil, AcceptConfig{Authenticators: acceptTestAuthenticators()})
		h.send(acceptHelloFor("realm1", "alice", auth.Ticket(acceptTestTicket)))
		h.answer(auth.Ticket(acceptTestTicket))
		h.send(&protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "com.example.p"})
		_, j := h.expectWelcome()
		m, err := j.Peer.Recv(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := m.(*protocol.Call); !ok || c.Procedure != "com.example.p" {
			t.Fatalf("got %#v, want the pipelined CALL", m)
		}
		j.Peer.Close()
	})
}

// wireFirst is a peer whose first received message arrives as bytes, the
// way a foreign client's reaches the decoder of a network transport.
type wireFirst struct {
	transport.Peer
	first []byte
	done  bool
}

func (p *wireFirst) Recv(ctx context.Context) (protocol.Message, error) {
	if !p.done {
		p.done = true
		return protocol.JSON.Unmarshal(p.first)
	}
	return p.Peer.Recv(ctx)
}

// A HELLO whose realm breaks the URI rule gets ABORT wamp.error.invalid_uri
// also when the decoder is the one to notice (spec basic/uri_reference.md),
// with the configured rule; any other undecodable HELLO is a protocol
// violation.
func TestAcceptInvalidRealmOnTheWire(t *testing.T) {
	tests := []struct {
		name   string
		cfg    AcceptConfig
		hello  string
		reason string
	}{
		{"empty component", AcceptConfig{}, `[1, "realm..x", {"roles": {"caller": {}}}]`, "wamp.error.invalid_uri"},
		{"empty", AcceptConfig{}, `[1, "", {"roles": {"caller": {}}}]`, "wamp.error.invalid_uri"},
		{"whitespace", AcceptConfig{}, `[1, "a b", {"roles": {"caller": {}}}]`, "wamp.error.invalid_uri"},
		{"strict rule", AcceptConfig{URIs: protocol.StrictURIs}, `[1, "Realm-1", {"roles": {"caller": {}}}]`, "wamp.error.invalid_uri"},
		{"details not a dict", AcceptConfig{}, `[1, "realm..x", []]`, "wamp.error.protocol_violation"},
		{"bad roles", AcceptConfig{}, `[1, "realm..x", {"roles": 5}]`, "wamp.error.protocol_violation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &acceptHarness{t: t, res: make(chan acceptResult, 1), logs: &acceptSyncBuffer{}}
				server, client := transport.Pipe(nil)
				h.server, h.client = &wireFirst{Peer: server, first: []byte(tt.hello)}, client
				go func() {
					j, err := Accept(t.Context(), h.server, tt.cfg)
					h.res <- acceptResult{j, err}
				}()
				h.expectAbort(tt.reason)
			})
		})
	}
	// Loose (the default) accepts what strict refuses.
	synctest.Test(t, func(t *testing.T) {
		h := &acceptHarness{t: t, res: make(chan acceptResult, 1), logs: &acceptSyncBuffer{}}
		server, client := transport.Pipe(nil)
		h.server, h.client = &wireFirst{Peer: server, first: []byte(`[1, "Realm-1", {"roles": {"caller": {}}}]`)}, client
		go func() {
			j, err := Accept(t.Context(), h.server, AcceptConfig{})
			h.res <- acceptResult{j, err}
		}()
		h.expectWelcome()
	})
}

// AcceptConfig.Welcome sends WELCOME in Accept's place (a router attaches
// the session first); its error becomes the ABORT.
func TestAcceptWelcomeHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got *Joined
		cfg := AcceptConfig{Welcome: func(j *Joined, w *protocol.Welcome) error {
			got = j
			w.Details["x_hook"] = true
			return j.Peer.Send(context.Background(), w)
		}}
		h := acceptStart(t, t.Context(), nil, cfg)
		h.send(acceptHello("realm1", nil))
		w, j := h.expectWelcome()
		if got != j || w.Details["x_hook"] != true {
			t.Errorf("the hook saw %v, Accept returned %v; WELCOME %v", got, j, w.Details)
		}
	})
	for _, tt := range []struct {
		err    error
		reason string
		msg    string
	}{
		{&auth.Denied{Reason: protocol.URISystemShutdown, Message: "router shutting down"}, protocol.URISystemShutdown, "router shutting down"},
		{errors.New("internal detail"), protocol.URIAuthenticationFailed, "authentication failed"},
	} {
		synctest.Test(t, func(t *testing.T) {
			cfg := AcceptConfig{Welcome: func(*Joined, *protocol.Welcome) error { return tt.err }}
			h := acceptStart(t, t.Context(), nil, cfg)
			h.send(acceptHello("realm1", nil))
			ab, _ := h.expectAbort(tt.reason)
			if ab.Details["message"] != tt.msg {
				t.Errorf("ABORT message %v, want %q", ab.Details["message"], tt.msg)
			}
		})
	}
}
