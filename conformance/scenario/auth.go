package scenario

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// authDenied are the ABORT reasons the spec defines for refused
// credentials (basic/uri_reference.md, advanced/uris.md).
var authDenied = []string{"wamp.error.authentication_denied", "wamp.error.not_authorized", "wamp.error.no_such_principal"}

// challenged opens a connection, sends the HELLO of authentication name
// (its details changed by edit, if not nil) and returns the connection and
// the router's first answer, which must be a CHALLENGE for method.
func (t *T) challenged(name, method string, edit func(protocol.Dict)) (*Conn, *protocol.Challenge, auth.ClientMethod) {
	c := t.Dial()
	hello, cm := t.hello(JoinOptions{Auth: name})
	if edit != nil {
		edit(hello.Details)
	}
	c.Send(hello)
	m := c.Next("CHALLENGE")
	ch, ok := m.(*protocol.Challenge)
	if !ok {
		t.Fatalf("HELLO with authmethods [%s] answered with %s, want CHALLENGE", method, describe(m))
	}
	if ch.AuthMethod != method {
		t.Fatalf("CHALLENGE for authmethod %q, want %q", ch.AuthMethod, method)
	}
	return c, ch, cm
}

// respond answers ch with cm and returns the router's answer: WELCOME or
// ABORT (anything else fails).
func (t *T) respond(c *Conn, cm auth.ClientMethod, ch *protocol.Challenge) protocol.Message {
	return t.answer(c, t.sign(cm, ch))
}

// sign is cm's AUTHENTICATE for ch; an error fails the scenario.
func (t *T) sign(cm auth.ClientMethod, ch *protocol.Challenge) *protocol.Authenticate {
	a, err := cm.Respond(t.ctx, ch)
	if err != nil {
		t.Fatalf("cannot answer the CHALLENGE: %v", err)
	}
	return a
}

// welcomed authenticates with the credentials name (whose CHALLENGE must
// be for method) and requires a WELCOME naming authid (if not empty) and
// method; what says which answer it was, for the failure.
func (t *T) welcomed(name, method, authid, what string) *protocol.Welcome {
	c, ch, cm := t.challenged(name, method, nil)
	w := mustWelcome(t, t.respond(c, cm, ch), what)
	welcomeIdentity(t, w, authid, method)
	return w
}

// refusedHello sends the HELLO of authentication name, its details changed
// by edit, and answers every CHALLENGE with answer (nil: the credentials'
// own signature) until the router sends ABORT. Anything else fails the
// scenario as "<what> answered with ..., want ABORT"; waiting names what
// the scenario waits for.
func (t *T) refusedHello(name string, edit func(protocol.Dict), answer func(*protocol.Challenge) *protocol.Authenticate, waiting, what string) {
	c := t.Dial()
	hello, cm := t.hello(JoinOptions{Auth: name})
	edit(hello.Details)
	if answer == nil {
		answer = func(ch *protocol.Challenge) *protocol.Authenticate { return t.sign(cm, ch) }
	}
	c.Send(hello)
	for {
		switch m := c.Next(waiting).(type) {
		case *protocol.Challenge:
			c.Send(answer(m))
		case *protocol.Abort:
			return
		default:
			t.Fatalf("%s answered with %s, want ABORT", what, describe(m))
		}
	}
}

// sendTicket answers a CHALLENGE with the configured ticket, whatever
// method the CHALLENGE names.
func (t *T) sendTicket(*protocol.Challenge) *protocol.Authenticate {
	return &protocol.Authenticate{Signature: t.run.cfg.Ticket.Secret, Extra: protocol.Dict{}}
}

// wrongTicket answers the ticket CHALLENGE with a wrong ticket and
// requires ABORT, which it returns.
func wrongTicket(t *T) *protocol.Abort {
	c, _, _ := t.challenged("ticket", "ticket", nil)
	return mustAbort(t, t.answer(c, &protocol.Authenticate{Signature: "wrong-" + randomToken(), Extra: protocol.Dict{}}), "a wrong ticket")
}

// unknownAuthID gives HELLO an authid no router knows.
func unknownAuthID(details protocol.Dict) {
	details["authid"] = "conformance-nobody-" + randomToken()
}

// freshChallenge is the rule that each CHALLENGE of method is new, so the
// signature of an earlier one is refused; label names the method in
// failures.
func freshChallenge(id, title string, section Section, method, label string) *Scenario {
	return &Scenario{
		ID: id, Title: title,
		Section: section, Level: MUST, Needs: []string{method},
		Run: func(t *T) {
			c1, ch1, cm := t.challenged(method, method, nil)
			old := t.sign(cm, ch1)
			c1.Abandon()
			c2, ch2, _ := t.challenged(method, method, nil)
			if ch1.Extra["challenge"] == ch2.Extra["challenge"] {
				t.Fatalf("two %s challenges are identical: %v", label, ch1.Extra["challenge"])
			}
			mustAbort(t, t.answer(c2, old), "the signature of an earlier challenge")
		},
		Breaker: replayChallenge(),
	}
}

// noMatchingMethod sends a HELLO offering only a method no router supports
// and requires ABORT, which it returns.
func noMatchingMethod(t *T) *protocol.Abort {
	c := t.Dial()
	c.Send(&protocol.Hello{Realm: t.Realm(), Details: protocol.Dict{"roles": Roles(), "authmethods": protocol.List{"x_conformance_method"}, "authid": "nobody"}})
	return mustAbort(t, c.Next("ABORT"), "HELLO with authmethods [x_conformance_method]")
}

// answer sends AUTHENTICATE a and returns WELCOME or ABORT.
func (t *T) answer(c *Conn, a *protocol.Authenticate) protocol.Message {
	c.Send(a)
	m := c.Next("WELCOME or ABORT")
	switch m.(type) {
	case *protocol.Welcome, *protocol.Abort:
		return m
	}
	t.Fatalf("AUTHENTICATE answered with %s, want WELCOME or ABORT", describe(m))
	return nil
}

// mustAbort requires m to be an ABORT.
func mustAbort(t *T, m protocol.Message, what string) *protocol.Abort {
	a, ok := m.(*protocol.Abort)
	if !ok {
		t.Fatalf("%s: the router answered %s, want ABORT", what, describe(m))
	}
	return a
}

// mustWelcome requires m to be a WELCOME.
func mustWelcome(t *T, m protocol.Message, what string) *protocol.Welcome {
	w, ok := m.(*protocol.Welcome)
	if !ok {
		t.Fatalf("%s: the router answered %s, want WELCOME", what, describe(m))
	}
	return w
}

// welcomeIdentity checks WELCOME.Details.authid/authmethod/authrole/
// authprovider.
func welcomeIdentity(t *T, w *protocol.Welcome, authid, method string) {
	d := w.Details
	for _, k := range []string{"authid", "authrole", "authmethod", "authprovider"} {
		if _, ok := d[k].(string); !ok {
			t.Fatalf("WELCOME.Details.%s is %s, want a string", k, typeOf(d[k]))
		}
	}
	if d["authmethod"] != method {
		t.Fatalf("WELCOME.Details.authmethod is %q, want %q", d["authmethod"], method)
	}
	if authid != "" && d["authid"] != authid {
		t.Fatalf("WELCOME.Details.authid is %q, want %q (the authid authenticated)", d["authid"], authid)
	}
}

// abortToWelcome turns the router's ABORT during authentication into a
// WELCOME (a router that lets anyone in).
func abortToWelcome() fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		if _, ok := m.(*protocol.Abort); !ok {
			return nil, false
		}
		return &protocol.Welcome{Session: 77, Details: protocol.Dict{
			"authid": "intruder", "authrole": "frontend", "authmethod": "ticket", "authprovider": "static",
			"roles": protocol.Dict{"broker": protocol.Dict{}, "dealer": protocol.Dict{}},
		}}, true
	})
}

// replayChallenge sends every connection the first CHALLENGE the double
// saw (a router whose challenges are not fresh).
func replayChallenge() fault.Breaker {
	var mu sync.Mutex
	var first protocol.Dict
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		ch, ok := m.(*protocol.Challenge)
		if !ok {
			return nil, false
		}
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = ch.Extra
			return nil, false
		}
		ch.Extra = first
		return ch, true
	})
}

// editChallenge rewrites the extra of every CHALLENGE.
func editChallenge(fn func(extra protocol.Dict)) fault.Breaker {
	return fault.Rewrite(fault.ToClient, func(m protocol.Message) (protocol.Message, bool) {
		ch, ok := m.(*protocol.Challenge)
		if !ok {
			return nil, false
		}
		fn(ch.Extra)
		return ch, true
	})
}

// editCRAChallenge rewrites the JSON object inside a WAMP-CRA challenge.
func editCRAChallenge(fn func(obj map[string]any)) fault.Breaker {
	return editChallenge(func(extra protocol.Dict) {
		s, _ := extra["challenge"].(string)
		var obj map[string]any
		if json.Unmarshal([]byte(s), &obj) != nil {
			return
		}
		fn(obj)
		b, _ := json.Marshal(obj)
		extra["challenge"] = string(b)
	})
}

func randomKey() ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return k
}

func authScenarios() []*Scenario {
	return []*Scenario{
		{
			ID:      "auth.anonymous.welcome",
			Title:   "HELLO with authmethods [anonymous] is welcomed with WELCOME.Details.authmethod \"anonymous\" and string authid and authrole",
			Section: secAuthMethods, Level: SHOULD, Needs: []string{"anonymous"},
			Run: func(t *T) {
				s := t.Join(JoinOptions{Auth: "anonymous"})
				d := s.Welcome.Details
				if d["authmethod"] != "anonymous" {
					t.Fatalf("WELCOME.Details.authmethod is %v, want \"anonymous\"", d["authmethod"])
				}
				for _, k := range []string{"authid", "authrole"} {
					if _, ok := d[k].(string); !ok {
						t.Fatalf("WELCOME.Details.%s is %s, want a string", k, typeOf(d[k]))
					}
				}
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { w.Details["authmethod"] = "ticket" }),
		},
		{
			ID:      "auth.ticket.challenge",
			Title:   "HELLO with authmethods [ticket] and an authid is answered with CHALLENGE \"ticket\", never WELCOME before the ticket",
			Section: secTicket, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				t.challenged("ticket", "ticket", nil)
			},
			Breaker: fault.RewriteFlow(fault.ToRouter, func(f *fault.Flow, m protocol.Message) (protocol.Message, bool) {
				if _, ok := m.(*protocol.Hello); ok {
					f.Inject(fault.ToClient, &protocol.Welcome{Session: 77, Details: protocol.Dict{"roles": protocol.Dict{"broker": protocol.Dict{}}}})
					return nil, true
				}
				return nil, false
			}),
		},
		{
			ID:      "auth.ticket.welcome",
			Title:   "The right ticket is welcomed with authid, authrole, authmethod \"ticket\" and authprovider in WELCOME.Details",
			Section: secTicket, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				t.welcomed("ticket", "ticket", t.run.cfg.Ticket.AuthID, "the right ticket")
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { delete(w.Details, "authprovider") }),
		},
		{
			ID:      "auth.ticket.wrong",
			Title:   "A wrong ticket is refused with ABORT",
			Section: secTicket, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				wrongTicket(t)
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.ticket.wrong-reason",
			Title:   "A wrong ticket is refused with a reason the spec defines (wamp.error.authentication_denied, not_authorized or no_such_principal)",
			Section: secAdvancedURIs, Level: SHOULD, Needs: []string{"ticket"},
			Run: func(t *T) {
				a := wrongTicket(t)
				if !slices.Contains(authDenied, a.Reason) {
					t.Fatalf("a wrong ticket was refused with reason %q, want one of %v", a.Reason, authDenied)
				}
			},
			Breaker: rewriteAbortReason("com.example.error.wrong_password"),
		},
		{
			ID:      "auth.ticket.unknown-authid",
			Title:   "A ticket for an authid the router does not know is refused with ABORT",
			Section: secTicket, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				t.refusedHello("ticket", unknownAuthID, t.sendTicket, "CHALLENGE or ABORT", "HELLO for an unknown authid")
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.ticket.no-authid",
			Title:   "HELLO with authmethods [ticket] but no authid (which ticket authentication requires) is refused with ABORT",
			Section: secTicket, Level: SHOULD, Needs: []string{"ticket"},
			Run: func(t *T) {
				noAuthID := func(d protocol.Dict) { delete(d, "authid") }
				t.refusedHello("ticket", noAuthID, t.sendTicket, "ABORT", "HELLO for ticket without authid")
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.wampcra.challenge",
			Title:   "The WAMP-CRA CHALLENGE carries extra.challenge, a JSON object with authid, authrole, authmethod \"wampcra\", authprovider, nonce, an ISO 8601 timestamp and the session id",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra"},
			Run: func(t *T) {
				_, ch, _ := t.challenged("wampcra", "wampcra", nil)
				craChallenge(t, ch, t.run.cfg.WAMPCRA.AuthID)
			},
			Breaker: editCRAChallenge(func(obj map[string]any) { delete(obj, "nonce") }),
		},
		{
			ID:      "auth.wampcra.welcome",
			Title:   "The right WAMP-CRA signature is welcomed with authmethod \"wampcra\" and the session id the challenge announced",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra"},
			Run: func(t *T) {
				c, ch, cm := t.challenged("wampcra", "wampcra", nil)
				obj := craChallenge(t, ch, t.run.cfg.WAMPCRA.AuthID)
				w := mustWelcome(t, t.respond(c, cm, ch), "the right WAMP-CRA signature")
				welcomeIdentity(t, w, t.run.cfg.WAMPCRA.AuthID, "wampcra")
				if id, _ := obj["session"].(json.Number).Int64(); protocol.ID(id) != w.Session {
					t.Fatalf("WELCOME has session %d, the challenge announced %v", w.Session, obj["session"])
				}
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { w.Session++ }),
		},
		{
			ID:      "auth.wampcra.wrong",
			Title:   "A wrong WAMP-CRA signature is refused with ABORT",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra"},
			Run: func(t *T) {
				c, ch, _ := t.challenged("wampcra", "wampcra", nil)
				mustAbort(t, t.respond(c, auth.WAMPCRA("wrong-"+randomToken()), ch), "a wrong WAMP-CRA signature")
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.wampcra.unknown-authid",
			Title:   "WAMP-CRA for an authid the router does not know is refused with ABORT",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra"},
			Run: func(t *T) {
				t.refusedHello("wampcra", unknownAuthID, nil, "CHALLENGE or ABORT", "HELLO for an unknown authid")
			},
			Breaker: abortToWelcome(),
		},
		freshChallenge("auth.wampcra.fresh",
			"Each WAMP-CRA challenge is new (a random nonce), so a signature of an earlier challenge is refused",
			secCRA, "wampcra", "WAMP-CRA"),
		{
			ID:      "auth.wampcra.salted.challenge",
			Title:   "A salted WAMP-CRA CHALLENGE carries salt (a string), iterations and keylen (positive integers)",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra-salted"},
			Run: func(t *T) {
				_, ch, _ := t.challenged("wampcra-salted", "wampcra", nil)
				craChallenge(t, ch, t.run.cfg.WAMPCRASalted.AuthID)
				if s, ok := ch.Extra["salt"].(string); !ok || s == "" {
					t.Fatalf("CHALLENGE.Extra.salt is %s, want a non-empty string", typeOf(ch.Extra["salt"]))
				}
				for _, k := range []string{"iterations", "keylen"} {
					if n, ok := ch.Extra[k].(int64); !ok || n <= 0 {
						t.Fatalf("CHALLENGE.Extra.%s is %v (%s), want a positive integer", k, ch.Extra[k], typeOf(ch.Extra[k]))
					}
				}
			},
			Breaker: editChallenge(func(extra protocol.Dict) { extra["iterations"] = "100" }),
		},
		{
			ID:      "auth.wampcra.salted.welcome",
			Title:   "A signature keyed with the PBKDF2-derived key of a salted WAMP-CRA principal is welcomed",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra-salted"},
			Run: func(t *T) {
				t.welcomed("wampcra-salted", "wampcra", t.run.cfg.WAMPCRASalted.AuthID, "the right salted WAMP-CRA signature")
			},
			Breaker: editChallenge(func(extra protocol.Dict) { extra["salt"] = "pepper" }),
		},
		{
			ID:      "auth.wampcra.salted.wrong",
			Title:   "A signature keyed with the plain secret instead of the derived key is refused with ABORT",
			Section: secCRA, Level: MUST, Needs: []string{"wampcra-salted"},
			Run: func(t *T) {
				c, ch, _ := t.challenged("wampcra-salted", "wampcra", nil)
				plain := &protocol.Challenge{AuthMethod: ch.AuthMethod, Extra: protocol.Dict{"challenge": ch.Extra["challenge"]}}
				a, err := auth.WAMPCRA(t.run.cfg.WAMPCRASalted.Secret).Respond(t.ctx, plain)
				if err != nil {
					t.Fatalf("cannot sign: %v", err)
				}
				mustAbort(t, t.answer(c, a), "a signature keyed with the plain secret of a salted principal")
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.cryptosign.challenge",
			Title:   "HELLO with authmethods [cryptosign] and authextra.pubkey is answered with CHALLENGE \"cryptosign\" whose extra.challenge is 32 bytes in hex",
			Section: secCryptosign, Level: MUST, Needs: []string{"cryptosign"},
			Run: func(t *T) {
				_, ch, _ := t.challenged("cryptosign", "cryptosign", nil)
				cryptosignChallenge(t, ch)
			},
			Breaker: editChallenge(func(extra protocol.Dict) { extra["challenge"] = "00ff" }),
		},
		{
			ID:      "auth.cryptosign.welcome",
			Title:   "A signature of the challenge with the announced key is welcomed with authmethod \"cryptosign\"",
			Section: secCryptosign, Level: MUST, Needs: []string{"cryptosign"},
			Run: func(t *T) {
				t.welcomed("cryptosign", "cryptosign", "", "the right cryptosign signature")
			},
			Breaker: fault.Welcome(func(w *protocol.Welcome) { w.Details["authmethod"] = "anonymous" }),
		},
		{
			ID:      "auth.cryptosign.wrong",
			Title:   "A signature made with another key than the announced one is refused with ABORT",
			Section: secCryptosign, Level: MUST, Needs: []string{"cryptosign"},
			Run: func(t *T) {
				c, ch, _ := t.challenged("cryptosign", "cryptosign", nil)
				mustAbort(t, t.respond(c, auth.Cryptosign(randomKey()), ch), "a signature with another key")
			},
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.cryptosign.unknown-key",
			Title:   "HELLO announcing a public key the router does not know is refused with ABORT",
			Section: secCryptosign, Level: MUST, Needs: []string{"cryptosign"},
			Run: func(t *T) {
				other := auth.Cryptosign(randomKey())
				announce := func(d protocol.Dict) { d["authextra"] = other.HelloExtra() }
				sign := func(ch *protocol.Challenge) *protocol.Authenticate { return t.sign(other, ch) }
				t.refusedHello("cryptosign", announce, sign, "ABORT", "HELLO with an unknown public key")
			},
			Breaker: abortToWelcome(),
		},
		freshChallenge("auth.cryptosign.fresh",
			"Each cryptosign challenge is new, so a signature of an earlier challenge is refused",
			secCryptosign, "cryptosign", "cryptosign"),
		{
			ID:      "auth.no-matching-method",
			Title:   "HELLO offering only authentication methods the router does not support is refused with ABORT",
			Section: secAuthMethods, Level: MUST,
			Run:     func(t *T) { noMatchingMethod(t) },
			Breaker: abortToWelcome(),
		},
		{
			ID:      "auth.no-matching-method.reason",
			Title:   "Refusing all offered authentication methods uses ABORT reason wamp.error.no_matching_auth_method (the spec's URI; wamp.error.no_auth_method, which implementations use, is accepted)",
			Section: secAdvancedURIs, Level: SHOULD,
			Run: func(t *T) {
				a := noMatchingMethod(t)
				if a.Reason != "wamp.error.no_matching_auth_method" && a.Reason != "wamp.error.no_auth_method" {
					t.Fatalf("ABORT reason %q, want wamp.error.no_matching_auth_method", a.Reason)
				}
			},
			Breaker: rewriteAbortReason("wamp.error.not_authorized"),
		},
		{
			ID:      "auth.hello-during-challenge",
			Title:   "A second HELLO while authenticating is a protocol violation: ABORT, no WELCOME",
			Section: secProtocolErrors, Level: MUST, Needs: []string{"ticket"},
			Run: func(t *T) {
				c, ch, cm := t.challenged("ticket", "ticket", nil)
				hello, _ := t.hello(JoinOptions{Auth: "ticket"})
				c.Send(hello)
				c.ExpectViolation("HELLO during authentication", t.sign(cm, ch))
			},
			Breaker: dropAfterFirst(fault.Is[*protocol.Hello]),
		},
	}
}

// craChallenge parses and checks a WAMP-CRA challenge string.
func craChallenge(t *T, ch *protocol.Challenge, authid string) map[string]any {
	s, ok := ch.Extra["challenge"].(string)
	if !ok {
		t.Fatalf("CHALLENGE.Extra.challenge is %s, want a string", typeOf(ch.Extra["challenge"]))
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		t.Fatalf("CHALLENGE.Extra.challenge is not a JSON object: %v (%q)", err, s)
	}
	for _, k := range []string{"authid", "authrole", "authmethod", "authprovider", "nonce", "timestamp"} {
		if _, ok := obj[k].(string); !ok {
			t.Fatalf("the WAMP-CRA challenge has no string %q: %s", k, s)
		}
	}
	if obj["authmethod"] != "wampcra" {
		t.Fatalf("the WAMP-CRA challenge has authmethod %q, want \"wampcra\"", obj["authmethod"])
	}
	if authid != "" && obj["authid"] != authid {
		t.Fatalf("the WAMP-CRA challenge has authid %q, want %q", obj["authid"], authid)
	}
	ts := obj["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		if _, err2 := time.Parse("2006-01-02T15:04:05.999999", ts); err2 != nil {
			t.Fatalf("the WAMP-CRA challenge timestamp %q is not ISO 8601: %v", ts, err)
		}
	}
	n, ok := obj["session"].(json.Number)
	if !ok {
		t.Fatalf("the WAMP-CRA challenge has no integer \"session\": %s", s)
	}
	if id, err := n.Int64(); err != nil || id < 1 || id > 1<<53 {
		t.Fatalf("the WAMP-CRA challenge session %v is no session id", n)
	}
	return obj
}

// cryptosignChallenge checks a cryptosign challenge: 32 bytes in hex.
func cryptosignChallenge(t *T, ch *protocol.Challenge) {
	s, ok := ch.Extra["challenge"].(string)
	if !ok {
		t.Fatalf("CHALLENGE.Extra.challenge is %s, want a string", typeOf(ch.Extra["challenge"]))
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("CHALLENGE.Extra.challenge %q is not 32 bytes in hex", s)
	}
}
