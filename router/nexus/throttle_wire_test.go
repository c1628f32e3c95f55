package nexus_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// passlibHash makes a password_hash with the given PBKDF2 rounds (the
// package's HashPassword uses cheap rounds under test).
func passlibHash(t *testing.T, pw string, rounds int) string {
	t.Helper()
	ab64 := base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)
	salt := make([]byte, 16)
	rand.Read(salt)
	sum, err := pbkdf2.Key(sha256.New, pw, salt, rounds, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", rounds, ab64.EncodeToString(salt), ab64.EncodeToString(sum))
}

// addrListener makes the connections it accepts report addr as their
// remote address: clients of the test that stand for another machine.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return addrConn{c, l.addr}, nil
}

type addrConn struct {
	net.Conn
	addr net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }

// serveAs serves the router on a RawSocket listener whose connections
// report addr as their remote address, and returns its URL: clients of the
// test that stand for another machine.
func serveAs(t *testing.T, sr *sockRig, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := transport.NewRawSocketListener(addrListener{ln, &net.TCPAddr{IP: net.ParseIP(addr), Port: 5555}}, transport.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- sr.r.ServeRawSocket(rl) }()
	t.Cleanup(func() { rl.Close(); <-served })
	return "tcp://" + ln.Addr().String()
}

// A brute-force run does not slow down another user's login from
// elsewhere: with the attack running, the other user's login takes less
// than twice as long as with it paused. Attack and measurement alternate,
// so that load from the rest of the machine hits both alike. The attack
// guesses one account's password from a local address (throttled per
// authid), or sprays guesses over many accounts from one remote address
// (throttled per address). A pause lets the guesses in progress end (at
// most 200 ms: a throttled guess is held by the router until its handshake
// deadline, and only waits, so it may go on); the attacker gives up on a
// guess after a second.
func TestBruteForceDoesNotSlowOthers(t *testing.T) {
	const rounds = 20000 // PBKDF2 rounds of the users' hashes: a few ms per check
	users := fmt.Sprintf("users:\n  - {login: alice, password_hash: %q, role: frontend}\n  - {login: bob, password_hash: %q, role: backend}\n",
		passlibHash(t, "alice-secret", rounds), passlibHash(t, "bob-pw", rounds))
	for _, attack := range []struct {
		name   string
		url    func(sr *sockRig) string
		authid func(w, i int) string
	}{
		{"one account from loopback", func(sr *sockRig) string { return sr.ws }, func(w, i int) string { return "alice" }},
		{"many accounts from one address", func(sr *sockRig) string { return serveAs(t, sr, "198.51.100.9") },
			func(w, i int) string { return []string{"alice", fmt.Sprintf("user%d-%d", w, i)}[i%2] }},
	} {
		t.Run(attack.name, func(t *testing.T) {
			sr := newSockRig(t, users)
			bruteForce(t, sr, attack.url(sr), attack.authid)
		})
	}
}

func bruteForce(t *testing.T, sr *sockRig, attackURL string, authid func(w, i int) string) {
	bobURL := serveAs(t, sr, "192.0.2.77")
	bobLogin := func() time.Duration {
		start := time.Now()
		s, err := sr.dial(bobURL, "bob", "bob-pw")
		if err != nil {
			t.Fatalf("bob: %v", err)
		}
		d := time.Since(start)
		s.Close(sr.ctx)
		return d
	}
	bobLogin() // warm up

	// The attacker guesses with eight connections at a time, as fast as
	// the router lets it.
	var (
		paused   atomic.Bool
		inflight atomic.Int64
		attempts atomic.Int64
		wg       sync.WaitGroup
	)
	paused.Store(true)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				inflight.Add(1)
				if paused.Load() {
					inflight.Add(-1)
					time.Sleep(time.Millisecond)
					continue
				}
				ctx, cancel := context.WithTimeout(sr.ctx, time.Second)
				p, err := transport.Dial(ctx, attackURL, transport.DialOptions{})
				if err == nil {
					s, err := session.Join(ctx, p, session.Config{Realm: "izaber", AuthID: authid(w, i),
						Auth: []auth.ClientMethod{auth.Ticket(fmt.Sprintf("guess-%d-%d", w, i))}})
					if err == nil {
						s.Close(ctx)
						t.Error("a guess logged in")
					}
					attempts.Add(1)
				}
				cancel()
				inflight.Add(-1)
			}
		})
	}
	var quiet, attacked []time.Duration
	for range 15 {
		paused.Store(true)
		for deadline := time.Now().Add(200 * time.Millisecond); inflight.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		quiet = append(quiet, bobLogin())
		paused.Store(false)
		time.Sleep(100 * time.Millisecond)
		attacked = append(attacked, bobLogin())
	}
	close(stop)
	wg.Wait()
	// The lower quartile: on a shared machine other processes stretch
	// some logins by tens of milliseconds, which moves the median about in
	// both phases alike; a brute force that competes for the CPU moves the
	// whole distribution, the lower quartile with it.
	slices.Sort(quiet)
	slices.Sort(attacked)
	q, a := quiet[len(quiet)/4], attacked[len(attacked)/4]
	t.Logf("bob's login, lower quartile: %v quiet, %v under attack (%d guesses answered)", q, a, attempts.Load())
	if a >= 2*q {
		t.Errorf("bob's login takes %v under attack, %v without: the brute force slows others down\nquiet %v\nattacked %v", a, q, quiet, attacked)
	}
}
