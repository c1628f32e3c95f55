package nexus

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/router"
)

// TestPatternScopeIsSound checks the pattern analysis against brute force:
// for random rule sets and patterns over a small alphabet, a pattern
// decided whole has every URI of the universe it matches allowed, one
// decided none has none allowed, and a complete analysis says "some"
// only when the universe has both.
func TestPatternScopeIsSound(t *testing.T) {
	alphabet := []string{"a", "ab", "abc", "b", "ba", "zz"}
	var universe []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		if prefix != "" {
			universe = append(universe, prefix)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			next := c
			if prefix != "" {
				next = prefix + "." + c
			}
			grow(next, n-1)
		}
	}
	grow("", 4)
	rng := rand.New(rand.NewPCG(13, 1))
	ruleLits := []string{"a", "ab", "b", "/a/", "/^b$/"}
	randomPattern := func(segs int, nexus bool) string {
		var b []string
		for range segs {
			lits := alphabet[:5]
			if nexus {
				lits = ruleLits
			}
			b = append(b, lits[rng.IntN(len(lits))])
		}
		return strings.Join(b, ".")
	}
	counts := map[string]int{}
	for iter := range 2000 {
		var pairs [][2]string
		seen := map[string]bool{}
		for range 1 + rng.IntN(5) {
			pat := randomPattern(1+rng.IntN(2), true)
			if iter%2 == 0 {
				pat = strings.ReplaceAll(pat, "/a/", "a") // literal-only rule sets: the analysis is complete
				pat = strings.ReplaceAll(pat, "/^b$/", "b")
			}
			if rng.IntN(3) == 0 {
				pat += ".*"
			}
			if seen[pat] {
				continue
			}
			seen[pat] = true
			pairs = append(pairs, [2]string{pat, []string{"crsp", "crsp", "c", ""}[rng.IntN(4)]})
		}
		rs, err := newRuleSet(pairs)
		if err != nil {
			t.Fatal(err)
		}
		g := &grant{rules: rs, foreign: true}
		var pattern, match string
		switch rng.IntN(3) {
		case 0:
			pattern, match = randomPattern(1+rng.IntN(2), false), "prefix"
			if rng.IntN(2) == 0 {
				pattern += "."
			}
		case 1:
			parts := strings.Split(randomPattern(1+rng.IntN(3), false), ".")
			for i := range parts {
				if rng.IntN(2) == 0 {
					parts[i] = ""
				}
			}
			pattern, match = strings.Join(parts, "."), "wildcard"
			if strings.Trim(pattern, ".") == "" && len(parts) == 1 {
				continue
			}
		default:
			pattern, match = randomPattern(1+rng.IntN(3), false), "exact"
		}
		scope := g.scope(pattern, match, permRegister)
		_, complete := representatives(shapeOf(pattern, match), g.ruleSets(), maxRepresentatives)
		allowed, refused := 0, 0
		var someAllowed, someRefused string
		for _, u := range universe {
			if !router.MatchURI(pattern, match, u) {
				continue
			}
			if g.allows(u, permRegister) {
				allowed++
				someAllowed = u
			} else {
				refused++
				someRefused = u
			}
		}
		desc := fmt.Sprintf("rules %v, %s %q", pairs, match, pattern)
		switch scope {
		case scopeWhole:
			if refused > 0 {
				t.Fatalf("%s: decided whole, but %q is refused", desc, someRefused)
			}
		case scopeNone:
			if allowed > 0 {
				t.Fatalf("%s: decided none, but %q is allowed", desc, someAllowed)
			}
		case scopeSome:
			if complete && (allowed == 0 || refused == 0) {
				t.Fatalf("%s: complete analysis says some; universe has %d allowed, %d refused", desc, allowed, refused)
			}
		}
		counts[fmt.Sprint(scope, complete)]++
	}
	t.Logf("scope/complete counts: %v", counts)
}

// The built-in roles and a role with a hole in its namespace, decided on
// patterns: what a session may use whole, what it may not use at all, and
// what the router must check URI by URI.
func TestPatternScopeOfRoles(t *testing.T) {
	s, err := New(Config{UsersFile: writeUsers(t, `
users:
  - {login: u, password: pw, role: app}
roles:
  app:
    - {uri: "com.izaber.wamp.app.*", perms: "crsp"}
    - {uri: "com.izaber.wamp.app.admin", perms: ""}
    - {uri: "com.izaber.wamp.app.admin.*", perms: ""}
`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	names := map[patternScope]string{scopeNone: "none", scopeSome: "some", scopeWhole: "whole"}
	for _, tc := range []struct {
		role, pattern, match string
		want                 patternScope
	}{
		{"app", "com.izaber.wamp.app.adm", "prefix", scopeSome}, // matches app.admin
		{"app", "com.izaber.wamp.app.", "prefix", scopeSome},
		{"app", "com.izaber.wamp.app.x", "prefix", scopeWhole},
		{"app", "com.izaber.wamp.app.user.", "prefix", scopeWhole},
		{"app", "com.izaber.wamp.app.admin", "prefix", scopeSome}, // app.administrators is allowed
		{"app", "com.izaber.wamp.app.admin.", "prefix", scopeNone},
		{"app", "com.izaber.wamp.app..data", "wildcard", scopeSome},
		{"app", "com.izaber.wamp.app.x.", "wildcard", scopeWhole},
		{"app", "com.izaber.wamp.app.admin.", "wildcard", scopeNone},
		{"app", "com.izaber.wamp.ap", "prefix", scopeSome},
		{"app", "com.izaber", "prefix", scopeSome},
		{"app", "org.", "prefix", scopeNone},
		{"backend", "com.izaber.wamp.", "prefix", scopeWhole},
		{"backend", "com.izaber.wamp", "prefix", scopeSome}, // com.izaber.wamp.x is allowed, com.izaber.wampx not
		{"backend", "com.izaber.wamp..x", "wildcard", scopeWhole},
		{"backend", "com.izaber..x", "wildcard", scopeSome},
		{"backend", "com..", "wildcard", scopeNone},
		{"frontend", "com.izaber.wamp.frontend.", "prefix", scopeWhole},
		{"frontend", "com.izaber.wamp.public.", "prefix", scopeWhole},
		{"frontend", "com.izaber.wamp.", "prefix", scopeSome},
		{"frontend", "com.izaber.wamp.my.", "prefix", scopeNone}, // call only
		{"trust", "wamp.", "prefix", scopeWhole},
	} {
		g := s.grantFor(tc.role, nil, true)
		if got := g.scope(tc.pattern, tc.match, permSubscribe); got != tc.want {
			t.Errorf("%s subscribing %s %q: %s, want %s", tc.role, tc.match, tc.pattern, names[got], names[tc.want])
		}
	}
}
