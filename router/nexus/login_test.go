package nexus

// Issue 13: logins reveal nothing about who exists.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
)

// loginUsers has users of every kind a login can be for, with password
// hashes of different strengths.
func loginUsers(t *testing.T, strongRounds int) string {
	t.Helper()
	strong, err := hashPassword("strong-pw", strongRounds)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := hashPassword("weak-pw", strongRounds/4)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`
users:
  - {login: strong, password_hash: %q, role: backend}
  - {login: weak, password_hash: %q, role: frontend}
  - {login: plain, password: plain-pw, role: frontend}
  - {login: off, password: off-pw, disabled: true}
  - {login: craig, password: craig-pw, role: backend, wampcra_secret: craig-cra, wampcra_salt: craig-salt, wampcra_iterations: %d}
`, strong, weak, strongRounds)
}

// ticketAttempts are failed logins for every kind of user, and for users
// that do not exist.
var ticketAttempts = []struct{ name, authid, ticket string }{
	{"strong hash, wrong password", "strong", "guess"},
	{"weak hash, wrong password", "weak", "guess"},
	{"plaintext, wrong password", "plain", "guess"},
	{"disabled, right password", "off", "off-pw"},
	{"unknown", "nobody", "guess"},
	{"unknown, 1 MiB authid", strings.Repeat("x", 1<<20), "guess"},
	{"empty ticket", "strong", ""},
}

// Every failed ticket login costs the same PBKDF2 work and store reads,
// whoever it is for.
func TestLoginWorkDoesNotRevealUsers(t *testing.T) {
	s, err := New(Config{UsersFile: writeUsers(t, loginUsers(t, 4000))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	type work struct{ rounds, reads int64 }
	var first work
	for i, a := range ticketAttempts {
		r0, s0 := s.work.pbkdf2Rounds.Load(), s.work.storeReads.Load()
		if _, err := s.checkTicket(context.Background(), a.authid, a.ticket); err == nil {
			t.Fatalf("%s: logged in", a.name)
		}
		w := work{s.work.pbkdf2Rounds.Load() - r0, s.work.storeReads.Load() - s0}
		if i == 0 {
			first = w
			if w.rounds < 4000 || w.reads != 1 {
				t.Fatalf("%s: %d PBKDF2 rounds, %d store reads", a.name, w.rounds, w.reads)
			}
		} else if w != first {
			t.Errorf("%s: %d PBKDF2 rounds and %d store reads; %s: %d and %d",
				a.name, w.rounds, w.reads, ticketAttempts[0].name, first.rounds, first.reads)
		}
	}
}

// interleavedMedians runs each of attempts in n batches of batch runs, in
// a fresh random order every round (so that load on a shared machine hits
// them all alike), and returns the median cost of a batch of each: the CPU
// time of the thread running it where the system tells (Linux), which
// other processes on a loaded machine do not inflate, else the wall time.
// Batches span several scheduler ticks, which the CPU time is counted in.
func interleavedMedians(n, batch int, attempts []func()) []time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := func() time.Duration {
		if d, ok := threadCPU(); ok {
			return d
		}
		return time.Duration(time.Now().UnixNano())
	}
	times := make([][]time.Duration, len(attempts))
	order := make([]int, len(attempts))
	for i := range order {
		order[i] = i
	}
	for range n {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			start := clock()
			for range batch {
				attempts[i]()
			}
			times[i] = append(times[i], clock()-start)
		}
	}
	med := make([]time.Duration, len(attempts))
	for i, ts := range times {
		slices.Sort(ts)
		med[i] = ts[len(ts)/2]
	}
	return med
}

// A failed login takes as long for a user that does not exist as for one
// that does, for ticket and WAMP-CRA: the medians of many interleaved
// attempts agree within a quarter of a known user's cost. (Before, an
// unknown login cost a key digest only: a twentieth of a known one.)
func TestLoginTimingDoesNotRevealUsers(t *testing.T) {
	s, err := New(Config{UsersFile: writeUsers(t, loginUsers(t, 10000)), Throttle: unthrottled})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	ticket := func(authid string) func() {
		return func() { s.checkTicket(ctx, authid, "guess") }
	}
	cra := authByMethod(t, s, "wampcra")
	craLogin := func(authid string) func() {
		return func() { runAuth(cra, &auth.Request{AuthID: authid, Session: 1}, auth.WAMPCRA("guess")) }
	}
	names := []string{"ticket strong", "ticket plain", "ticket disabled", "ticket unknown", "wampcra craig", "wampcra unknown"}
	med := interleavedMedians(15, 4, []func(){
		ticket("strong"), ticket("plain"), ticket("off"), ticket("nobody"),
		craLogin("craig"), craLogin("nobody"),
	})
	t.Logf("medians: %v", med)
	for _, g := range [][]int{{0, 1, 2, 3}, {4, 5}} {
		known := med[g[0]]
		for _, i := range g[1:] {
			if diff := med[i] - known; diff > known/4 || -diff > known/4 {
				t.Errorf("%s takes %v, %s %v: more than a quarter apart", names[i], med[i], names[g[0]], known)
			}
		}
	}
}

// unthrottled lets tests that measure logins fail as often as they like.
var unthrottled = auth.ThrottleConfig{Free: 1 << 30}
