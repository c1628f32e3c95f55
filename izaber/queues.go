package izaber

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zabertech/go-izaber-wamp/session"
)

// Concurrency queues, as in Python's swampyer: every registration and
// subscription belongs to a named queue (Queue(name) on Register or
// Subscribe; "default" otherwise) that limits how many of its handlers run
// at once (concurrency_max) and how many invocations or events may wait
// for a turn (queue_max, the waitlist). When the waitlist is full, an
// invocation is answered with ERROR <uri_base>.error.invoke.failure
// ["Call failed: Queue <name> waitlist full"] and an event is dropped; both
// are counted (Stats.Queues). Waiting jobs start in arrival order. Events
// of one subscription still run one at a time and in order: a
// subscription waits for its turn before taking its next event.
//
// The limits of a queue are, each over the one before: ConcurrencyMax and
// ConcurrencyQueueMax, then Queues["default"], then Queues[name]. The queue
// "unlimited" has no limits (and, unlike Python, Queues["default"] does
// not apply to it). ConfigureQueue changes a queue at run time.
//
// Differences from Python, on purpose: the default limits are bounded
// (64 running, 8 waiting per running slot) where Python's are unlimited;
// concurrency_max: 0 or queue_max: 0 in izaber.yaml mean unlimited, as in
// Python. Queue names are strict, as Python's default: Register or
// Subscribe with a name that is neither "default", "unlimited" nor a key
// of concurrency_configs fails, unless concurrency_strict_naming is false
// (LenientQueueNames), when the queue is created with the defaults and a
// warning is logged.

// Names of the built-in queues.
const (
	QueueDefault   = "default"
	QueueUnlimited = "unlimited"
)

// QueueConfig is the limits of one concurrency queue. Zero means the
// client's default (ConcurrencyMax, ConcurrencyQueueMax); negative means
// no limit.
type QueueConfig struct {
	// ConcurrencyMax is how many handlers of the queue run at once
	// (concurrency_configs.<name>.concurrency_max).
	ConcurrencyMax int
	// QueueMax is how many invocations or events may wait for a turn
	// (concurrency_configs.<name>.queue_max).
	QueueMax int
}

// QueueStats describe a concurrency queue now.
type QueueStats struct {
	Running, Waiting int
	// Max and WaitMax are the limits in force (0: none).
	Max, WaitMax int
	// Rejected counts invocations refused and events dropped because the
	// waitlist was full.
	Rejected uint64
}

type queueKey struct{}

// Queue runs the handler of one Register or Subscribe in the named
// concurrency queue, like Python's concurrency_queue= argument.
func Queue(name string) session.Option { return session.Local(queueKey{}, name) }

func queueName(opts []session.Option) string {
	if v, ok := session.LocalValue(opts, queueKey{}); ok {
		if s, _ := v.(string); s != "" {
			return s
		}
	}
	return QueueDefault
}

// errWaitlistFull is what a handler returns when its queue's waitlist is
// full; the facade turns it into "Call failed: Queue <name> waitlist full".
type errWaitlistFull struct{ name string }

func (e errWaitlistFull) Error() string { return "Queue " + e.name + " waitlist full" }

// queue is one concurrency queue. mu guards everything below it.
type queue struct {
	name string

	mu       sync.Mutex
	max      int             // running jobs at most; 0: unlimited
	waitMax  int             // waiting jobs at most; 0: unlimited
	running  int             // jobs holding a turn (granted waiters included)
	waiting  []chan struct{} // closed to grant a turn, in arrival order
	rejected uint64
}

// acquire waits for a turn (or ctx); release must be called after the
// job. It fails at once when the waitlist is full.
func (q *queue) acquire(ctx context.Context) (release func(), err error) {
	q.mu.Lock()
	if q.max == 0 || q.running < q.max {
		q.running++
		q.mu.Unlock()
		return q.release, nil
	}
	if q.waitMax > 0 && len(q.waiting) >= q.waitMax {
		q.rejected++
		q.mu.Unlock()
		return nil, errWaitlistFull{q.name}
	}
	turn := make(chan struct{})
	q.waiting = append(q.waiting, turn)
	q.mu.Unlock()
	select {
	case <-turn:
		return q.release, nil
	case <-ctx.Done():
		q.mu.Lock()
		defer q.mu.Unlock()
		if i := slices.Index(q.waiting, turn); i >= 0 {
			q.waiting = slices.Delete(q.waiting, i, i+1)
			return nil, ctx.Err()
		}
		// Granted meanwhile: give the turn on.
		q.mu.Unlock()
		q.release()
		q.mu.Lock()
		return nil, ctx.Err()
	}
}

// release ends a job: its turn goes to the first waiting job, if the
// limit allows.
func (q *queue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.running--
	q.startWaitingLocked()
}

func (q *queue) startWaitingLocked() {
	for len(q.waiting) > 0 && (q.max == 0 || q.running < q.max) {
		q.running++
		close(q.waiting[0])
		q.waiting = q.waiting[1:]
	}
}

func (q *queue) configure(run, wait int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.max, q.waitMax = run, wait
	q.startWaitingLocked()
}

func (q *queue) stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{Running: q.running, Waiting: len(q.waiting), Max: q.max, WaitMax: q.waitMax, Rejected: q.rejected}
}

// queues is a Client's set of concurrency queues. mu guards byName.
type queues struct {
	cfg    Config // limits; read-only
	mu     sync.Mutex
	byName map[string]*queue
}

// Defaults of the concurrency limits.
const (
	DefaultConcurrencyMax = 64
	waitPerRunning        = 8 // default waitlist per running slot
)

// queueLimits returns the limits of queue name from cfg (0: unlimited).
func (cfg *Config) queueLimits(name string) (run, wait int) {
	if name == QueueUnlimited {
		run, wait = -1, -1
	} else {
		run, wait = cfg.ConcurrencyMax, cfg.ConcurrencyQueueMax
		if d, ok := cfg.Queues[QueueDefault]; ok {
			run, wait = overlay(run, d.ConcurrencyMax), overlay(wait, d.QueueMax)
		}
	}
	if q, ok := cfg.Queues[name]; ok {
		run, wait = overlay(run, q.ConcurrencyMax), overlay(wait, q.QueueMax)
	}
	if run == 0 {
		run = DefaultConcurrencyMax
	}
	if wait == 0 {
		wait = waitPerRunning * run
		if run < 0 {
			wait = -1
		}
	}
	return max(run, 0), max(wait, 0)
}

func overlay(base, v int) int {
	if v != 0 {
		return v
	}
	return base
}

// get returns queue name, creating it from the configuration. An unknown
// name is an error with strict naming.
func (qs *queues) get(name string, log func(string)) (*queue, error) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q := qs.byName[name]; q != nil {
		return q, nil
	}
	if _, known := qs.cfg.Queues[name]; !known && name != QueueDefault && name != QueueUnlimited {
		if !qs.cfg.LenientQueueNames {
			return nil, configErrorf("izaber: unknown concurrency queue %q: name it in wamp.connection.concurrency_configs (known: %s), or set concurrency_strict_naming: false", name, qs.knownLocked())
		}
		log(fmt.Sprintf("izaber: concurrency queue %q is not in wamp.connection.concurrency_configs; it gets the default limits", name))
	}
	return qs.createLocked(name), nil
}

func (qs *queues) createLocked(name string) *queue {
	max, waitMax := qs.cfg.queueLimits(name)
	q := &queue{name: name, max: max, waitMax: waitMax}
	if qs.byName == nil {
		qs.byName = map[string]*queue{}
	}
	qs.byName[name] = q
	return q
}

func (qs *queues) knownLocked() string {
	names := []string{QueueDefault, QueueUnlimited}
	for n := range qs.cfg.Queues {
		if n != QueueDefault && n != QueueUnlimited {
			names = append(names, n)
		}
	}
	slices.Sort(names[2:])
	return fmt.Sprint(names)
}

// configure changes (or creates) queue name.
func (qs *queues) configure(name string, qc QueueConfig) {
	qs.mu.Lock()
	q := qs.byName[name]
	if q == nil {
		q = qs.createLocked(name)
	}
	qs.mu.Unlock()
	st := q.stats()
	run, wait := st.Max, st.WaitMax
	if qc.ConcurrencyMax != 0 {
		run = max(qc.ConcurrencyMax, 0)
	}
	if qc.QueueMax != 0 {
		wait = max(qc.QueueMax, 0)
	}
	q.configure(run, wait)
}

func (qs *queues) stats() map[string]QueueStats {
	qs.mu.Lock()
	list := maps.Clone(qs.byName)
	qs.mu.Unlock()
	out := make(map[string]QueueStats, len(list))
	for n, q := range list {
		out[n] = q.stats()
	}
	return out
}

// sessionWorkers is how many invocation handlers the session may run or
// hold waiting for a queue: enough for every configured queue's running
// and waiting jobs, within [DefaultConcurrencyMax, 4096].
func (cfg *Config) sessionWorkers() int {
	total := 0
	for _, name := range append([]string{QueueDefault}, slices.Collect(maps.Keys(cfg.Queues))...) {
		run, wait := cfg.queueLimits(name)
		if run == 0 || wait == 0 {
			return 4096
		}
		total += run + wait
	}
	return min(max(total, DefaultConcurrencyMax), 4096)
}

// queued wraps an invocation handler so that it runs in its turn.
func queuedHandler(q *queue, h session.Handler) session.Handler {
	return func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		release, err := q.acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return h(ctx, inv)
	}
}

// queuedEvents wraps an event handler so that it runs in its turn; an
// event finding the waitlist full is dropped and logged.
func queuedEvents(ctx context.Context, q *queue, h session.EventHandler, log func(string)) session.EventHandler {
	return func(ev *session.Event) {
		release, err := q.acquire(ctx)
		if err != nil {
			if errors.As(err, new(errWaitlistFull)) {
				log(fmt.Sprintf("izaber: event on %s dropped: %v", ev.Topic, err))
			}
			return
		}
		defer release()
		h(ev)
	}
}

// ConfigureQueue changes the limits of a concurrency queue at run time,
// or creates it (then strict naming accepts its name); zero fields keep
// the current limits. Waiting jobs start at once if the new limit allows.
func (c *Client) ConfigureQueue(name string, qc QueueConfig) {
	c.queues.configure(name, qc)
}
