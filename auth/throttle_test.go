package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func tcpAddr(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000} }

// try runs one attempt and reports how long its turn took to come.
func try(t *testing.T, th *Throttle, ctx context.Context, authid, ip string, ok bool) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done, err := th.Attempt(ctx, authid, tcpAddr(ip), "ticket", true)
	if err != nil {
		return time.Since(start), err
	}
	waited := time.Since(start)
	done(ok, true)
	return waited, nil
}

func TestThrottleSpacesOutFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 3, Delay: 100 * time.Millisecond, MaxDelay: time.Second})
		ctx := context.Background()
		var waits []time.Duration
		for range 8 {
			w, err := try(t, th, ctx, "alice", "192.0.2.1", false)
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, w)
		}
		want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second}
		if fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Errorf("waits %v, want %v", waits, want)
		}
		// Meanwhile another user from another address is not slowed down,
		// but alice from another address waits for alice's turn, and bob
		// from alice's address for that address's.
		var wg sync.WaitGroup
		for _, tc := range []struct {
			authid, ip string
			want       time.Duration
		}{{"carol", "192.0.2.2", 0}, {"alice", "192.0.2.3", time.Second}, {"bob", "192.0.2.1", time.Second}} {
			wg.Go(func() {
				if w, _ := try(t, th, ctx, tc.authid, tc.ip, true); w != tc.want {
					t.Errorf("%s from %s waited %v, want %v", tc.authid, tc.ip, w, tc.want)
				}
			})
		}
		wg.Wait()
		// Forgotten after Forget.
		time.Sleep(DefaultThrottleForget + time.Minute)
		if w, _ := try(t, th, ctx, "alice", "192.0.2.1", false); w != 0 {
			t.Errorf("alice after Forget waited %v", w)
		}
	})
}

func TestThrottleSuccessClearsAuthID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 2, Delay: 100 * time.Millisecond})
		ctx := context.Background()
		for range 3 {
			try(t, th, ctx, "alice", "192.0.2.1", false)
		}
		try(t, th, ctx, "alice", "192.0.2.9", true) // waits its turn, then succeeds
		if w, _ := try(t, th, ctx, "alice", "192.0.2.9", true); w != 0 {
			t.Errorf("after a success alice waited %v", w)
		}
	})
}

// Once a key has failed, parallel guesses take turns too.
func TestThrottleParallelAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 1, Delay: 100 * time.Millisecond, MaxDelay: time.Hour})
		ctx := context.Background()
		try(t, th, ctx, "alice", "192.0.2.1", false)
		start := time.Now()
		base := runtime.NumGoroutine()
		var mu sync.Mutex
		var turns []time.Duration
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				done, err := th.Attempt(ctx, "alice", tcpAddr("192.0.2.1"), "ticket", true)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				turns = append(turns, time.Since(start))
				mu.Unlock()
				time.Sleep(10 * time.Millisecond) // the check itself
				done(false, true)
			})
		}
		synctest.Wait()
		// Five goroutines wait, and only they: a turn costs no goroutine.
		if n := runtime.NumGoroutine(); n > base+5 {
			t.Errorf("%d goroutines while 5 attempts wait, %d before", n, base)
		}
		wg.Wait()
		want := "[100ms 200ms 300ms 400ms 500ms]"
		if fmt.Sprint(turns) != want {
			t.Errorf("turns %v, want %v", turns, want)
		}
	})
}

// A turn after the context's deadline is refused at that deadline, unchecked;
// a context ending while waiting gives back the turn.
func TestThrottleDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 1, Delay: 10 * time.Second})
		bg := context.Background()
		try(t, th, bg, "alice", "192.0.2.1", false)
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		if w, err := try(t, th, ctx, "alice", "192.0.2.1", false); err != ErrThrottled || w != 5*time.Second {
			t.Errorf("turn after the deadline: refused after %v, %v; want ErrThrottled at the deadline", w, err)
		}
		if _, err := th.Attempt(bg, "alice", tcpAddr("192.0.2.1"), "ticket", false); err != ErrThrottled {
			t.Errorf("no-wait attempt: %v", err)
		}
		ctx2, cancel2 := context.WithCancel(bg)
		go func() { time.Sleep(time.Second); cancel2() }()
		if _, err := th.Attempt(ctx2, "alice", tcpAddr("192.0.2.1"), "ticket", true); err != context.Canceled {
			t.Errorf("canceled wait: %v", err)
		}
	})
}

// A stranger making up authids and addresses cannot grow the tables past
// MaxKeys.
func TestThrottleMemoryIsBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxKeys: 500, Free: 100})
	ctx := context.Background()
	for i := range 20000 {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		done, err := th.Attempt(ctx, fmt.Sprint(i)+strings.Repeat("x", 4096), tcpAddr(ip), "ticket", false)
		if err != nil {
			t.Fatal(err)
		}
		done(false, true)
	}
	if ids, addrs := th.keys(); ids > 500 || addrs > 500 {
		t.Errorf("tables hold %d authids and %d addresses", ids, addrs)
	}
}

// Repeated failures are summarised: one line when an address starts
// failing, then one per interval, with client strings cut.
func TestThrottleLogsSummaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		th := NewThrottle(ThrottleConfig{Free: 1000, LogInterval: time.Minute, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		ctx := context.Background()
		var huge []string
		for i := range 5 {
			huge = append(huge, fmt.Sprint(i)+strings.Repeat("A", 4<<20))
		}
		for i := range 1000 {
			try(t, th, ctx, huge[i%5], "192.0.2.1", false)
			time.Sleep(100 * time.Millisecond) // 100 s in all
		}
		th.Flush()
		out := buf.String()
		lines := strings.Count(out, "\n")
		if lines < 2 || lines > 3 || len(out) > 4096 {
			t.Errorf("%d lines, %d bytes for 1000 failures:\n%.2000s", lines, len(out), out)
		}
		if !strings.Contains(out, "failures=1 ") || !strings.Contains(out, "bytes)") {
			t.Errorf("no first-failure line with a cut authid:\n%.2000s", out)
		}
	})
}

// The wrapped authenticator counts refusals, not technical failures, and
// answers a throttled attempt with a refusal, without running the inner
// authenticator.
func TestThrottledAuthenticator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 2, Delay: time.Minute})
		calls := 0
		a := th.Authenticator(TicketAuthenticator(func(ctx context.Context, req *Request, ticket string) (*Identity, error) {
			calls++
			switch ticket {
			case "right":
				return &Identity{AuthRole: "user"}, nil
			case "db-down":
				return nil, errDB
			}
			return nil, nil
		}))
		req := &Request{AuthID: "alice", RemoteAddr: tcpAddr("192.0.2.1")}
		run := func(ticket string, timeout time.Duration) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := a.Authenticate(ctx, req, loop(Ticket(ticket), nil))
			return err
		}
		for range 5 {
			run("db-down", time.Second) // not guesses
		}
		run("wrong", time.Second)
		run("wrong", time.Second)
		before := calls
		err := run("right", 20*time.Second) // its turn is a minute away
		if d, ok := err.(*Denied); !ok || d.Reason != ReasonNotAuthorized || calls != before {
			t.Errorf("throttled attempt: %v, inner called %d times", err, calls-before)
		}
		if err := run("right", 2*time.Minute); err != nil {
			t.Errorf("attempt within its deadline: %v", err)
		}
	})
}

// Local clients share an address: they are throttled per authid only.
func TestThrottleLocalClientsByAuthIDOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := NewThrottle(ThrottleConfig{Free: 1, Delay: time.Second})
		ctx := context.Background()
		for range 5 {
			try(t, th, ctx, "alice", "127.0.0.1", false)
		}
		if w, _ := try(t, th, ctx, "bob", "127.0.0.1", true); w != 0 {
			t.Errorf("bob from loopback waited %v", w)
		}
		if w, _ := try(t, th, ctx, "alice", "::1", false); w == 0 {
			t.Error("alice was not throttled")
		}
		for _, a := range []net.Addr{&net.UnixAddr{Name: "/run/wamp.sock", Net: "unix"}, nil} {
			if addrKey(a) != "" {
				t.Errorf("address key of %v: %q", a, addrKey(a))
			}
		}
	})
}
