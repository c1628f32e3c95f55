// Command loginload measures what logins reveal and cost on an
// `izaber-wamp router` process: it starts the given router binary with a
// users file (plaintext passwords, which every version reads, and a
// WAMP-CRA user) and, over WebSocket on loopback,
//
//   - times -n failed ticket logins for existing and for unknown users,
//     interleaved (one attempt per user, so that throttling does not
//     interfere), and looks at what a WAMP-CRA HELLO for each gets;
//   - runs a brute force on one account (-workers connections guessing for
//     -attack) and times another user's logins before and during it;
//   - counts the bytes the router logs for five failed logins with 4 MiB
//     authids.
//
// It is the before/after harness of issue #13's login items:
//
//	go build -o /tmp/new ./cmd/izaber-wamp
//	go run ./router/nexus/internal/loginload -router /tmp/new
//	go run ./router/nexus/internal/loginload -router /tmp/new -hashed   # hashed passwords
//
// It starts one child process and stops it before exiting.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router/nexus"
	"github.com/zabertech/go-izaber-wamp/router/nexus/internal/routerproc"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

const users = `users:
  - {login: alice, password: alice-secret-pw, role: frontend}
  - {login: bob, password: bob-pw, role: backend}
  - {login: craig, password: craig-pw, role: backend, wampcra_secret: craig-cra, wampcra_salt: craig-salt}
`

// usersFile is users plus n users u0... whose failed logins are timed: one
// attempt each, so that a router that throttles failures per authid does
// not delay the measurement. With hashed, their passwords, alice's and
// bob's are password_hash values (nexus.HashPassword, production strength).
func usersFile(n int, hashed bool) (string, error) {
	s := users
	if hashed { // alice and bob too
		s = "users:\n  - {login: craig, password: craig-pw, role: backend, wampcra_secret: craig-cra, wampcra_salt: craig-salt}\n"
		for _, u := range [][2]string{{"alice", "alice-secret-pw"}, {"bob", "bob-pw"}} {
			h, err := nexus.HashPassword(u[1])
			if err != nil {
				return "", err
			}
			s += fmt.Sprintf("  - {login: %s, password_hash: %q, role: frontend}\n", u[0], h)
		}
	}
	for i := range n {
		if !hashed {
			s += fmt.Sprintf("  - {login: u%d, password: u%d-pw, role: frontend}\n", i, i)
			continue
		}
		h, err := nexus.HashPassword(fmt.Sprintf("u%d-pw", i))
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("  - {login: u%d, password_hash: %q, role: frontend}\n", i, h)
	}
	return s, nil
}

func main() {
	bin := flag.String("router", "", "path of the izaber-wamp binary to measure (required)")
	n := flag.Int("n", 40, "failed logins of each kind to time")
	workers := flag.Int("workers", 8, "brute-force connections")
	attack := flag.Duration("attack", 10*time.Second, "brute-force duration")
	hashed := flag.Bool("hashed", false, "give the users password_hash values (production strength) instead of plaintext passwords")
	flag.Parse()
	if *bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *n, *workers, *attack, *hashed); err != nil {
		fmt.Fprintln(os.Stderr, "loginload:", err)
		os.Exit(1)
	}
}

// logCounter counts the bytes the router writes to its log (stderr).
type logCounter struct{ n atomic.Int64 }

func (c *logCounter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

func run(bin string, n, workers int, attack time.Duration, hashed bool) error {
	dir, err := os.MkdirTemp("", "loginload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "users.yaml")
	content, err := usersFile(n, hashed)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var logged logCounter
	rp, err := routerproc.Start(ctx, bin, file, filepath.Join(dir, "data"), "info", &logged)
	if err != nil {
		return err
	}
	defer rp.Stop()
	url := rp.URL
	login := func(authid, pw string) (time.Duration, error) {
		start := time.Now()
		lctx, lcancel := context.WithTimeout(ctx, 30*time.Second)
		defer lcancel()
		p, err := transport.Dial(lctx, url, transport.DialOptions{})
		if err != nil {
			return 0, err
		}
		s, err := session.Join(lctx, p, session.Config{Realm: "izaber", AuthID: authid, Auth: []auth.ClientMethod{auth.Ticket(pw)}})
		d := time.Since(start)
		if err == nil {
			s.Close(lctx)
		}
		return d, err
	}
	fmt.Printf("router: %s\n", bin)

	// 1. Failed logins, existing and unknown user, interleaved.
	var known, unknown []time.Duration
	for i := range n {
		d, err := login(fmt.Sprintf("u%d", i), "wrong-guess")
		if err == nil {
			return errors.New("a wrong password logged in")
		}
		known = append(known, d)
		d, _ = login(fmt.Sprintf("nobody%d", i), "wrong-guess")
		unknown = append(unknown, d)
	}
	fmt.Printf("failed login, existing user: %s\n", quantiles(known))
	fmt.Printf("failed login, unknown user:  %s\n", quantiles(unknown))
	for _, authid := range []string{"craig", "nobody"} {
		fmt.Printf("WAMP-CRA HELLO for %-7s %s\n", authid+":", craHello(ctx, url, authid))
	}

	// 2. Brute force on alice; bob's logins before and during it. (Let the
	// guesses of part 1 be forgotten by a throttle that remembers them:
	// bob is another user, so they do not matter to him either way.)
	var quiet []time.Duration
	for range 15 {
		time.Sleep(300 * time.Millisecond) // as during the attack
		d, err := login("bob", "bob-pw")
		if err != nil {
			return fmt.Errorf("bob: %w", err)
		}
		quiet = append(quiet, d)
	}
	var guesses atomic.Int64
	actx, acancel := context.WithTimeout(ctx, attack)
	defer acancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; actx.Err() == nil; i++ {
				p, err := transport.Dial(actx, url, transport.DialOptions{})
				if err != nil {
					continue
				}
				_, err = session.Join(actx, p, session.Config{Realm: "izaber", AuthID: "alice",
					Auth: []auth.ClientMethod{auth.Ticket(fmt.Sprintf("guess-%d-%d", w, i))}})
				var ae *session.AbortError
				if errors.As(err, &ae) {
					guesses.Add(1)
				}
			}
		})
	}
	start := time.Now()
	var loaded []time.Duration
	for time.Since(start) < attack-time.Second {
		time.Sleep(300 * time.Millisecond)
		d, err := login("bob", "bob-pw")
		if err != nil {
			return fmt.Errorf("bob during the attack: %w", err)
		}
		loaded = append(loaded, d)
	}
	wg.Wait()
	fmt.Printf("brute force: %d workers, %.1f refused guesses/s\n", workers, float64(guesses.Load())/attack.Seconds())
	fmt.Printf("other user's login, quiet:        %s\n", quantiles(quiet))
	fmt.Printf("other user's login, under attack: %s\n", quantiles(loaded))

	// 3. Log bytes for five failed logins with 4 MiB authids.
	before := logged.n.Load()
	for i := range 5 {
		login(strings.Repeat("x", 4<<20)+fmt.Sprint(i), "wrong")
	}
	time.Sleep(time.Second)
	fmt.Printf("log bytes for five 4 MiB authids: %d\n", logged.n.Load()-before)
	return nil
}

// craHello sends a WAMP-CRA HELLO and describes the answer.
func craHello(ctx context.Context, url, authid string) string {
	p, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		return err.Error()
	}
	defer p.Close()
	p.Send(ctx, &protocol.Hello{Realm: "izaber", Details: protocol.Dict{"roles": protocol.Dict{"caller": protocol.Dict{}},
		"authid": authid, "authmethods": protocol.List{"wampcra"}}})
	m, err := p.Recv(ctx)
	if err != nil {
		return err.Error()
	}
	switch m := m.(type) {
	case *protocol.Challenge:
		var c map[string]any
		s, _ := m.Extra["challenge"].(string)
		json.Unmarshal([]byte(s), &c)
		return fmt.Sprintf("CHALLENGE (salted: %v, authrole %q)", m.Extra["salt"] != nil, c["authrole"])
	case *protocol.Abort:
		return fmt.Sprintf("ABORT %s", m.Reason)
	}
	return m.Code().String()
}

func quantiles(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) time.Duration { return s[int(f*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("p10 %v, median %v, p90 %v (%d)", q(0.1), q(0.5), q(0.9), len(s))
}
