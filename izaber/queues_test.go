package izaber_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// waitFor polls cond until it holds (or fails the test after a long
// while): for states that have no event to wait on, such as a job
// queueing inside the callee.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A named queue runs concurrency_max handlers at once, lets queue_max
// more wait (in order) and answers the next with Python's error; its
// limits change at run time.
func TestQueueLimitsWaitlistAndReconfigure(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	yaml := nr.YAML("backend-1") + "      concurrency_configs:\n        slow: {concurrency_max: 1, queue_max: 2}\n"
	s, err := izaber.Load(izaber.Source{YAML: yaml})
	if err != nil {
		t.Fatal(err)
	}
	callee, err := izaber.New(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Close(ctx)
	if err := callee.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	release := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{}), 3: make(chan struct{})}
	var started sync.Map // call number -> true
	if _, err := callee.Register(ctx, "q.slow", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		var n int
		inv.Decode(&n)
		started.Store(n, true)
		<-release[n]
		return izaber.Yield(n), nil
	}, izaber.Queue("slow")); err != nil {
		t.Fatal(err)
	}
	isStarted := func(n int) bool { _, ok := started.Load(n); return ok }
	caller := login(t, nr, "backend-2")
	stats := func() izaber.QueueStats { return callee.Stats().Queues["slow"] }
	results := make(chan error, 4)
	call := func(n int) {
		go func() {
			_, err := caller.Call(ctx, "q.slow", protocol.List{n}, nil)
			results <- err
		}()
	}
	call(1)
	waitFor(t, "call 1 to run", func() bool { return isStarted(1) })
	call(2)
	waitFor(t, "call 2 to wait", func() bool { return stats().Waiting == 1 })
	call(3)
	waitFor(t, "call 3 to wait", func() bool { return stats().Waiting == 2 })
	call(4) // the waitlist is full
	err = <-results
	var werr *session.Error
	if !errors.As(err, &werr) || werr.URI != "com.izaber.wamp.error.invoke.failure" ||
		fmt.Sprint(werr.Args) != "[Call failed: Queue slow waitlist full]" {
		t.Fatalf("call 4: %v, want Python's waitlist full error", err)
	}
	if st := stats(); st.Rejected != 1 || st.Max != 1 || st.WaitMax != 2 {
		t.Errorf("stats %+v", st)
	}
	// The first waiting call gets the next turn.
	close(release[1])
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "call 2 to start", func() bool { return isStarted(2) })
	if isStarted(3) {
		t.Error("call 3 started before call 2's turn ended")
	}
	// Room for three at once: the waiting call starts.
	callee.ConfigureQueue("slow", izaber.QueueConfig{ConcurrencyMax: 3})
	waitFor(t, "call 3 to start", func() bool { return isStarted(3) })
	close(release[2])
	close(release[3])
	for range 2 {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
}

// Queue names are strict, as Python's default: an unknown one is an
// error, unless concurrency_strict_naming is false.
func TestQueueStrictNaming(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := login(t, nr, "backend-1")
	_, err := c.Register(ctx, "q.x", echoHandler, izaber.Queue("nope"))
	if !errors.Is(err, izaber.ErrConfig) || !strings.Contains(err.Error(), `unknown concurrency queue "nope"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Subscribe(ctx, "q.x", func(*session.Event) {}, izaber.Queue("nope")); err == nil {
		t.Fatal("Subscribe accepted an unknown queue")
	}
	for _, q := range []string{izaber.QueueDefault, izaber.QueueUnlimited} {
		if _, err := c.Register(ctx, "q."+q, echoHandler, izaber.Queue(q)); err != nil {
			t.Errorf("queue %s: %v", q, err)
		}
	}
	var log lines
	lenient := login(t, nr, "backend-2", func(c *izaber.Config) {
		c.LenientQueueNames = true
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	if _, err := lenient.Register(ctx, "q.y", echoHandler, izaber.Queue("adhoc")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `concurrency queue \"adhoc\" is not in wamp.connection.concurrency_configs`) {
		t.Errorf("no warning: %s", log.String())
	}
}

func echoHandler(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
	return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
}

// Events go through their subscription's queue too: two subscriptions in
// a queue of one take turns, each in its own order, and an event that
// finds the waitlist full is dropped and counted.
func TestQueueEvents(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := login(t, nr, "backend-1", func(c *izaber.Config) {
		c.Queues = map[string]izaber.QueueConfig{"ev": {ConcurrencyMax: 1, QueueMax: 1}}
	})
	var active, overlaps atomic.Int32
	var mu sync.Mutex
	got := map[string][]int{}
	gate := make(chan struct{})
	handler := func(name string) session.EventHandler {
		return func(ev *session.Event) {
			if active.Add(1) > 1 {
				overlaps.Add(1)
			}
			var n int
			ev.Decode(&n)
			if name == "a" && n == 0 {
				<-gate // holds the queue's only turn
			}
			mu.Lock()
			got[name] = append(got[name], n)
			mu.Unlock()
			active.Add(-1)
		}
	}
	for _, name := range []string{"a", "b"} {
		if _, err := c.Subscribe(ctx, "q.ev."+name, handler(name), izaber.Queue("ev")); err != nil {
			t.Fatal(err)
		}
	}
	pub := login(t, nr, "backend-2")
	stats := func() izaber.QueueStats { return c.Stats().Queues["ev"] }
	pub.Publish(ctx, "q.ev.a", protocol.List{0}, nil)
	waitFor(t, "a's first event to hold the turn", func() bool { return stats().Running == 1 })
	pub.Publish(ctx, "q.ev.b", protocol.List{0}, nil)
	waitFor(t, "b's first event to wait", func() bool { return stats().Waiting == 1 })
	pub.Publish(ctx, "q.ev.a", protocol.List{1}, nil) // a's goroutine is busy: buffered in its subscription
	pub.Publish(ctx, "q.ev.b", protocol.List{1}, nil) // b's goroutine waits: buffered too
	close(gate)
	waitFor(t, "all events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["a"]) == 2 && len(got["b"]) == 2
	})
	if fmt.Sprint(got) != "map[a:[0 1] b:[0 1]]" || overlaps.Load() != 0 {
		t.Errorf("events %v, overlaps %d", got, overlaps.Load())
	}
	// Now fill the waitlist from a third subscription: its event is dropped.
	gate2 := make(chan struct{})
	if _, err := c.Subscribe(ctx, "q.ev.hold", func(*session.Event) { <-gate2 }, izaber.Queue("ev")); err != nil {
		t.Fatal(err)
	}
	pub.Publish(ctx, "q.ev.hold", nil, nil)
	waitFor(t, "the turn to be held", func() bool { return stats().Running == 1 })
	pub.Publish(ctx, "q.ev.a", protocol.List{2}, nil)
	waitFor(t, "a to wait", func() bool { return stats().Waiting == 1 })
	pub.Publish(ctx, "q.ev.b", protocol.List{2}, nil)
	waitFor(t, "b's event to be dropped", func() bool { return stats().Rejected == 1 })
	close(gate2)
	waitFor(t, "a's event", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["a"]) == 3 })
}

// concurrency_queue_max is Python's waitlist; the event buffer of a
// subscription has a key of its own.
func TestConcurrencyQueueMaxIsTheWaitlist(t *testing.T) {
	s, err := izaber.Load(izaber.Source{YAML: "default:\n  wamp:\n    connection:\n      concurrency_max: 2\n      concurrency_queue_max: 5\n      event_queue_size: 7\n"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Config.ConcurrencyQueueMax != 5 || s.Config.EventQueueSize != 7 {
		t.Errorf("config %+v", s.Config)
	}
	s.Config.Logger = slog.New(slog.DiscardHandler)
	c, err := izaber.New(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Register(context.Background(), "x", echoHandler); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats().Queues[izaber.QueueDefault]; st.Max != 2 || st.WaitMax != 5 {
		t.Errorf("default queue %+v, want 2 running and 5 waiting at most", st)
	}
}

// A subscriber slower than its events drops the excess; the program reads
// how many, per subscription and in Stats, which also counts calls,
// errors, reconnections and the traffic.
func TestDroppedEventsAndStats(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	c := login(t, nr, "backend-1", func(c *izaber.Config) { c.EventQueueSize = 1 })
	gate := make(chan struct{})
	first := make(chan struct{})
	var once sync.Once
	sub, err := c.Subscribe(ctx, "st.ev", func(*session.Event) {
		once.Do(func() { close(first) })
		<-gate
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := login(t, nr, "backend-2")
	pub.Publish(ctx, "st.ev", nil, nil)
	<-first // the handler holds the first event; one more fits in the queue
	for range 5 {
		if err := pub.Publish(ctx, "st.ev", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the drops", func() bool { return sub.Dropped() == 4 })
	close(gate)
	if _, err := c.Call(ctx, "st.none", nil, nil); err == nil {
		t.Fatal("call of a missing procedure succeeded")
	}
	st := c.Stats()
	if st.EventsDropped != 4 || st.Events != 6 || st.Calls != 1 || st.Errors != 1 || st.Reconnects != 0 ||
		st.MessagesIn == 0 || st.BytesIn == 0 || st.BytesOut == 0 {
		t.Errorf("stats %+v", st.Stats)
	}
	joined := make(chan struct{}, 1)
	c.OnJoin(func(context.Context, session.Info) { joined <- struct{}{} })
	nr.Stop()
	if err := nr.Restart(); err != nil {
		t.Fatal(err)
	}
	<-joined
	if st := c.Stats(); st.Reconnects != 1 || st.EventsDropped != 4 || sub.Dropped() != 4 {
		t.Errorf("after a reconnection: stats %+v, dropped %d", st.Stats, sub.Dropped())
	}
}
