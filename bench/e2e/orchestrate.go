package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// options are the orchestrator's flags.
type options struct {
	duration     time.Duration
	warmup       time.Duration
	inFlight     []int
	transports   []string
	serializer   protocol.Serializer
	payload      string
	subscribers  int
	lag          int
	idle         int
	idleParallel int
	idleSettle   time.Duration
	only         map[string]bool
	asJSON       bool
	compare      string
	out          string
	rounds       int
	cpuprofile   string
}

const usage = `usage: e2e [run] [flags]

Runs the end-to-end benchmark (see the package documentation, go doc ./bench/e2e):
the floor (a bare coder/websocket two-hop relay), routed calls through our
router over each transport, fan-out 1 -> N subscribers and idle-session
memory, each against processes of its own on loopback, and prints a table.

flags:
`

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	o := &options{}
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "measuring window of each throughput/latency scenario")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "warm-up before each measuring window")
	inFlight := fs.String("inflight", "64,256", "comma-separated numbers of calls in flight, measured after the sequential run (empty: none)")
	transports := fs.String("transports", "ws,raw", "transports of the routed scenarios: ws (WebSocket), raw (RawSocket over TCP)")
	serName := fs.String("serializer", "json", "serializer of the routed scenarios: json, msgpack or cbor")
	fs.StringVar(&o.payload, "payload", "hello, world", "the string argument of every call and event (the floor's message is a WAMP CALL in JSON carrying it)")
	fs.IntVar(&o.subscribers, "subscribers", 100, "fan-out: subscriber sessions (one publisher)")
	fs.IntVar(&o.lag, "lag", 1000, "fan-out: events the slowest subscriber may lag behind the publisher (kept below the old router's 4,096-message drop limit)")
	fs.IntVar(&o.idle, "idle", 10000, "idle scenario: sessions to join")
	fs.IntVar(&o.idleParallel, "idle-parallel", 32, "idle scenario: joins in progress at once")
	fs.DurationVar(&o.idleSettle, "idle-settle", 2*time.Second, "idle scenario: wait after the last join before measuring")
	only := fs.String("only", "floor,call,fanout,idle", "scenario groups to run: floor, call, fanout, idle")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.out, "o", "", "also write the report as JSON to this file")
	fs.StringVar(&o.compare, "compare", "", "a JSON report of an earlier run (e.g. of the old code) to compare with: adds after/before ratios")
	fs.IntVar(&o.rounds, "rounds", 1, "run everything this many times and report, per scenario, the round with the median figure")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write CPU profiles of every process of each throughput scenario, over its measuring window, into this directory (<scenario>.<role>.pprof, and allocation profiles at both ends, <scenario>.<role>.allocs[01].pprof, for go tool pprof -base; idle: the router's heap, <scenario>.router.heap.pprof; the last round's)")
	gomaxprocs := fs.Int("gomaxprocs", 0, "GOMAXPROCS of every started process (0: Go's default)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.serializer, err = protocol.SerializerByName(*serName); err != nil {
		return nil, err
	}
	for f := range strings.SplitSeq(*inFlight, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-inflight: bad number %q", f)
		}
		o.inFlight = append(o.inFlight, n)
	}
	for t := range strings.SplitSeq(*transports, ",") {
		switch t = strings.TrimSpace(t); t {
		case "ws", "raw":
			o.transports = append(o.transports, t)
		case "":
		default:
			return nil, fmt.Errorf("-transports: unknown transport %q", t)
		}
	}
	o.only = map[string]bool{}
	for g := range strings.SplitSeq(*only, ",") {
		switch g = strings.TrimSpace(g); g {
		case "floor", "call", "fanout", "idle":
			o.only[g] = true
		case "":
		default:
			return nil, fmt.Errorf("-only: unknown group %q", g)
		}
	}
	switch {
	case o.duration <= 0 || o.warmup < 0:
		return nil, errors.New("-duration must be positive and -warmup not negative")
	case o.subscribers < 1 || o.lag < 1:
		return nil, errors.New("-subscribers and -lag must be at least 1")
	case o.rounds < 1:
		return nil, errors.New("-rounds must be at least 1")
	case o.idle < 0 || o.idleParallel < 1:
		return nil, errors.New("-idle must not be negative and -idle-parallel must be at least 1")
	}
	if o.cpuprofile != "" {
		if err := os.MkdirAll(o.cpuprofile, 0o755); err != nil {
			return nil, err
		}
	}
	if *gomaxprocs > 0 {
		childEnv = append(childEnv, fmt.Sprintf("GOMAXPROCS=%d", *gomaxprocs))
		runtime.GOMAXPROCS(*gomaxprocs)
	}
	return o, nil
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", a...)
}

// runRound runs every selected scenario once.
func (o *options) runRound(ctx context.Context) ([]*Result, error) {
	var out []*Result
	if o.only["floor"] {
		progress("floor: bare coder/websocket relay")
		res, err := o.runFloor(ctx)
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		out = append(out, res...)
	}
	for _, tr := range o.transports {
		if o.only["call"] {
			progress("routed calls over %s", tr)
			res, err := o.runCalls(ctx, tr)
			if err != nil {
				return nil, fmt.Errorf("calls over %s: %w", tr, err)
			}
			out = append(out, res...)
		}
		if o.only["fanout"] {
			progress("fan-out 1 -> %d over %s", o.subscribers, tr)
			r, err := o.runFanout(ctx, tr)
			if err != nil {
				return nil, fmt.Errorf("fan-out over %s: %w", tr, err)
			}
			out = append(out, r)
		}
	}
	if o.only["idle"] && o.idle > 0 {
		tr := "ws"
		if len(o.transports) > 0 {
			tr = o.transports[0]
		}
		progress("%d idle sessions over %s", o.idle, tr)
		r, err := o.runIdle(ctx, tr)
		if err != nil {
			return nil, fmt.Errorf("idle sessions: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// medianResults picks, for each scenario, the round with the median of
// its headline figure (sequential: p50; idle: RSS per session; otherwise
// ops/s), so one disturbed round on a shared machine does not decide.
func medianResults(rounds [][]*Result) []*Result {
	if len(rounds) == 1 {
		return rounds[0]
	}
	byName := map[string][]*Result{}
	for _, rs := range rounds {
		for _, r := range rs {
			byName[r.Name] = append(byName[r.Name], r)
		}
	}
	var out []*Result
	for _, r := range rounds[0] {
		all := byName[r.Name]
		key := func(r *Result) float64 {
			switch {
			case r.Group == "idle":
				return r.RSSPerSessionKB
			case r.InFlight == 1:
				return r.P50US
			}
			return r.PerSec
		}
		slices.SortFunc(all, func(a, b *Result) int { return cmp.Compare(key(a), key(b)) })
		out = append(out, all[len(all)/2])
	}
	return out
}

func runOrchestrator(ctx context.Context, args []string) error {
	return orchestrate(ctx, args, os.Stdout)
}

// orchestrate runs the benchmark and prints the report to out.
func orchestrate(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var before *Report
	if o.compare != "" {
		b, err := os.ReadFile(o.compare)
		if err != nil {
			return err
		}
		before = new(Report)
		if err := json.Unmarshal(b, before); err != nil {
			return fmt.Errorf("%s: %v", o.compare, err)
		}
	}
	rep := &Report{
		Started:    time.Now().UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Duration:   o.duration.String(),
		Serializer: o.serializer.Name(),
		Payload:    o.payload,
	}
	if bi := buildVCS(); bi != "" {
		rep.Revision = bi
	}
	var rounds [][]*Result
	for i := range o.rounds {
		if o.rounds > 1 {
			progress("round %d of %d", i+1, o.rounds)
		}
		res, err := o.runRound(ctx)
		if err != nil {
			return err
		}
		rounds = append(rounds, res)
	}
	rep.Rounds = o.rounds
	rep.Results = medianResults(rounds)
	floor := map[int]*Result{} // by in-flight count (1: sequential)
	for _, r := range rep.Results {
		if r.Group == "floor" {
			floor[r.InFlight] = r
		}
	}
	for _, r := range rep.Results {
		if f := floor[r.InFlight]; f != nil && r.Group == "call" {
			r.setFloorRatio(f)
		}
	}
	if before != nil {
		rep.compareWith(before, o.compare)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if o.out != "" {
		if err := os.WriteFile(o.out, js, 0o644); err != nil {
			return err
		}
	}
	if o.asJSON {
		_, err := out.Write(js)
		return err
	}
	rep.print(out)
	return nil
}

// window counts the operations completed while a scenario is measuring.
type window struct {
	measuring atomic.Bool
	ops       atomic.Int64
	errs      atomic.Int64

	mu       sync.Mutex
	firstErr error
	lats     []time.Duration
}

// done records one finished operation (err == nil) or failure; lat is
// appended to *local, which the worker hands to merge when it ends.
func (w *window) done(lat time.Duration, err error, local *[]time.Duration) {
	if !w.measuring.Load() {
		return
	}
	if err != nil {
		w.errs.Add(1)
		w.mu.Lock()
		if w.firstErr == nil {
			w.firstErr = err
		}
		w.mu.Unlock()
		return
	}
	w.ops.Add(1)
	if local != nil {
		*local = append(*local, lat)
	}
}

func (w *window) merge(local []time.Duration) {
	w.mu.Lock()
	w.lats = append(w.lats, local...)
	w.mu.Unlock()
}

// procs are the processes of a scenario besides this one (the caller, or
// the floor's client, or fan-out's publisher and subscribers): the router
// (the relay for the floor) and the callee (the floor's echo service), nil
// when the scenario has none.
type procs struct {
	router, callee *child
}

// sampleSet is one sample of every process of a scenario.
type sampleSet struct {
	router, callee, caller procSample
}

func (ps procs) sample() (sampleSet, error) {
	var s sampleSet
	var err error
	if s.router, err = sample(ps.router.pid()); err != nil {
		return s, err
	}
	if ps.callee != nil {
		if s.callee, err = sample(ps.callee.pid()); err != nil {
			return s, err
		}
	}
	s.caller, err = sample(os.Getpid())
	return s, err
}

// perOp fills r's per-operation figures from two samples around ops
// operations.
func (r *Result) perOp(s0, s1 sampleSet, ops int64) {
	if ops <= 0 {
		return
	}
	n := float64(ops)
	r.WritesPerOp = float64(s1.router.syscw-s0.router.syscw) / n
	r.CPUPerOpUS = float64((s1.router.cpu - s0.router.cpu).Microseconds()) / n
	r.CallerWritesPerOp = float64(s1.caller.syscw-s0.caller.syscw) / n
	r.CallerCPUPerOpUS = float64((s1.caller.cpu - s0.caller.cpu).Microseconds()) / n
	if !s0.callee.at.IsZero() {
		r.CalleeWritesPerOp = float64(s1.callee.syscw-s0.callee.syscw) / n
		r.CalleeCPUPerOpUS = float64((s1.callee.cpu - s0.callee.cpu).Microseconds()) / n
	}
}

// profile starts (on) or stops the CPU profiles of every process of the
// scenario r when -cpuprofile is set: DIR/<scenario>.<role>.pprof.
func (o *options) profile(r *Result, ps procs, on bool) error {
	if o.cpuprofile == "" {
		return nil
	}
	slug := strings.NewReplacer(" ", "-", ">", "").Replace(r.Name)
	allocs := slug + ".%s.allocs1.pprof" // at the end of the window
	if on {
		allocs = slug + ".%s.allocs0.pprof"
	}
	cmd := func(c *child, role string) error {
		if c == nil {
			return nil
		}
		err := c.command("allocs " + filepath.Join(o.cpuprofile, fmt.Sprintf(allocs, role)))
		if on {
			return errors.Join(err, c.command("cpuprofile "+filepath.Join(o.cpuprofile, slug+"."+role+".pprof")))
		}
		return errors.Join(err, c.command("cpuprofile-stop"))
	}
	router, callee := "router", "callee"
	if r.Group == "floor" {
		router, callee = "relay", "echo"
	}
	err := errors.Join(cmd(ps.router, router), cmd(ps.callee, callee),
		writeAllocs(filepath.Join(o.cpuprofile, fmt.Sprintf(allocs, "caller"))))
	if on {
		return errors.Join(err, startCPUProfile(filepath.Join(o.cpuprofile, slug+".caller.pprof")))
	}
	return errors.Join(err, stopCPUProfile())
}

// measure runs one scenario: start starts its workers (which must return
// once stop is closed; the returned function waits for them), then after
// the warm-up the window is open for o.duration (longer while nothing has
// finished in it) while every process of the scenario is sampled at both
// ends (and profiled, with -cpuprofile).
func (o *options) measure(ctx context.Context, r *Result, ps procs, start func(w *window, stop <-chan struct{}) (wait func())) error {
	w := &window{}
	stop := make(chan struct{})
	wait := start(w, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wait()
		}
	}()
	if !sleepCtx(ctx, o.warmup) {
		return ctx.Err()
	}
	if err := o.profile(r, ps, true); err != nil {
		return err
	}
	s0, err := ps.sample()
	if err != nil {
		return err
	}
	w.measuring.Store(true)
	ok := sleepCtx(ctx, o.duration)
	// A window in which nothing finished measured nothing (a machine busy
	// enough to stall the processes for longer than a short -duration): it
	// stays open until something has, failed or not, or ctx ends.
	for ok && w.ops.Load() == 0 && w.errs.Load() == 0 {
		ok = sleepCtx(ctx, o.duration)
	}
	w.measuring.Store(false)
	s1, err := ps.sample()
	if err != nil {
		return err
	}
	if err := o.profile(r, ps, false); err != nil {
		return err
	}
	close(stop)
	wait()
	if !ok {
		return ctx.Err()
	}
	r.Ops = w.ops.Load()
	r.Errors = w.errs.Load()
	if w.firstErr != nil {
		r.FirstError = w.firstErr.Error()
	}
	r.Seconds = s1.router.at.Sub(s0.router.at).Seconds()
	if r.Seconds > 0 {
		r.PerSec = float64(r.Ops) / r.Seconds
	}
	r.perOp(s0, s1, r.Ops)
	if len(w.lats) > 0 {
		slices.Sort(w.lats)
		r.P50US = us(percentile(w.lats, 0.50))
		r.P99US = us(percentile(w.lats, 0.99))
	}
	if r.Ops == 0 {
		return fmt.Errorf("%s: no operation completed (%d errors, first: %s)", r.Name, r.Errors, r.FirstError)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// floorMessage is what the floor's client sends: a WAMP CALL in JSON with
// the payload, about the size of the routed call's CALL.
func (o *options) floorMessage() []byte {
	b, _ := json.Marshal([]any{48, 1, map[string]any{}, benchProcedure, []any{o.payload}})
	return b
}

// runFloor measures the bare relay: client (this process) -> relay -> echo
// and back, sequentially and with each in-flight count.
func (o *options) runFloor(ctx context.Context) ([]*Result, error) {
	var echo echoReady
	ec, err := startChild(ctx, 10*time.Second, &echo, "echo")
	if err != nil {
		return nil, err
	}
	defer ec.stop()
	var relay echoReady
	rc, err := startChild(ctx, 10*time.Second, &relay, "relay", "-upstream", echo.URL)
	if err != nil {
		return nil, err
	}
	defer rc.stop()
	msg := o.floorMessage()
	dial := func() (*websocket.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(dctx, relay.URL, nil)
		return c, err
	}
	var out []*Result
	for _, n := range append([]int{1}, o.inFlight...) {
		c, err := dial()
		if err != nil {
			return nil, err
		}
		r := &Result{Name: scenarioName("floor", "call", n), Group: "floor", Transport: "ws", InFlight: n}
		err = o.measure(ctx, r, procs{router: rc, callee: ec}, func(w *window, stop <-chan struct{}) func() {
			return floorClient(c, msg, n, w, stop)
		})
		c.CloseNow()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// floorClient keeps n messages in flight on c: one goroutine writes while
// fewer than n are unanswered, another reads the echoes (which come back in
// order, so a FIFO of send times gives each one's round trip).
func floorClient(c *websocket.Conn, msg []byte, n int, w *window, stop <-chan struct{}) func() {
	ctx, cancel := context.WithCancel(context.Background())
	tokens := make(chan struct{}, n)
	sent := make(chan time.Time, n)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writer
		defer wg.Done()
		for {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
			t := time.Now()
			sent <- t
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				w.done(0, err, nil)
				return
			}
		}
	}()
	go func() { // reader
		defer wg.Done()
		var local []time.Duration
		defer func() { w.merge(local) }()
		for {
			_, _, err := c.Read(ctx)
			if err != nil {
				return
			}
			t := <-sent
			<-tokens
			w.done(time.Since(t), nil, &local)
		}
	}()
	return func() {
		<-stop
		cancel()
		wg.Wait()
	}
}

func (o *options) url(rd routerReady, tr string) string {
	if tr == "raw" {
		return rd.RawSocket
	}
	return rd.WebSocket
}

// startRouter starts a router process.
func startRouter(ctx context.Context) (*child, routerReady, error) {
	var rd routerReady
	c, err := startChild(ctx, 10*time.Second, &rd, "router")
	return c, rd, err
}

// runCalls measures routed calls: caller (this process) -> router process
// -> callee process and back, sequentially and with each in-flight count,
// all callers on one session (as one program would).
func (o *options) runCalls(ctx context.Context, tr string) ([]*Result, error) {
	rc, rd, err := startRouter(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.stop()
	url := o.url(rd, tr)
	cc, err := startChild(ctx, 10*time.Second, nil, "callee", "-url", url, "-serializer", o.serializer.Name())
	if err != nil {
		return nil, err
	}
	defer cc.stop()
	jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	s, err := join(jctx, url, o.serializer)
	cancel()
	if err != nil {
		return nil, err
	}
	defer closeSession(s)
	args := protocol.List{o.payload}
	var out []*Result
	for _, n := range append([]int{1}, o.inFlight...) {
		r := &Result{Name: scenarioName(tr, "call", n), Group: "call", Transport: tr, InFlight: n}
		err := o.measure(ctx, r, procs{router: rc, callee: cc}, func(w *window, stop <-chan struct{}) func() {
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var local []time.Duration
					defer func() { w.merge(local) }()
					for {
						select {
						case <-stop:
							return
						default:
						}
						cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
						t := time.Now()
						_, err := s.Call(cctx, benchProcedure, args, nil)
						cancel()
						w.done(time.Since(t), err, &local)
						if err != nil && s.Err() != nil {
							return // the session is gone
						}
					}
				}()
			}
			return wg.Wait
		})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func closeSession(s *session.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.Close(ctx)
}

// runFanout measures 1 publisher -> o.subscribers subscribers, all sessions
// of this process, through a router process: events delivered per second.
// The publisher publishes without acknowledgement as fast as it can while
// the slowest subscriber lags fewer than o.lag events behind.
func (o *options) runFanout(ctx context.Context, tr string) (*Result, error) {
	rc, rd, err := startRouter(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.stop()
	url := o.url(rd, tr)
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pub, err := join(jctx, url, o.serializer)
	if err != nil {
		return nil, err
	}
	defer closeSession(pub)
	counts := make([]atomic.Int64, o.subscribers)
	subs := make([]*session.Session, o.subscribers)
	var cur atomic.Pointer[window] // the measuring window, once it exists
	cur.Store(&window{})
	for i := range subs {
		s, err := join(jctx, url, o.serializer)
		if err != nil {
			return nil, err
		}
		defer closeSession(s)
		subs[i] = s
		_, err = s.Subscribe(jctx, benchTopic, func(*session.Event) {
			counts[i].Add(1)
			cur.Load().done(0, nil, nil)
		})
		if err != nil {
			return nil, err
		}
	}
	slowest := func() int64 {
		m := counts[0].Load()
		for i := range counts {
			m = min(m, counts[i].Load())
		}
		return m
	}
	var published int64
	r := &Result{Name: scenarioName(tr, "fanout", o.subscribers), Group: "fanout", Transport: tr, Subscribers: o.subscribers}
	args := protocol.List{o.payload}
	// Up to -lag events per subscriber are on their way at any moment, a
	// sizeable part of the window's: writes and CPU per event are taken
	// from here, before the first publication, to when every event has
	// arrived, so that nothing is counted on one side only.
	ps := procs{router: rc}
	quiet0, err := ps.sample()
	if err != nil {
		return nil, err
	}
	err = o.measure(ctx, r, ps, func(win *window, stop <-chan struct{}) func() {
		cur.Store(win)
		done := make(chan struct{})
		go func() {
			defer close(done)
			low := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for published-low >= int64(o.lag) {
					if low = slowest(); published-low < int64(o.lag) {
						break
					}
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Microsecond):
					}
				}
				if err := pub.Publish(ctx, benchTopic, args, nil); err != nil {
					win.done(0, err, nil)
					return
				}
				published++
			}
		}()
		return func() { <-done }
	})
	if err != nil {
		return nil, err
	}
	// Every published event must reach every subscriber.
	deadline := time.Now().Add(5 * time.Second)
	for slowest() < published && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	quiet1, err := ps.sample()
	if err != nil {
		return nil, err
	}
	var delivered int64
	for i := range counts {
		delivered += counts[i].Load()
	}
	r.perOp(quiet0, quiet1, delivered)
	for i := range counts {
		r.Lost += published - counts[i].Load()
		if subs[i].Err() != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = fmt.Sprintf("subscriber %d: %v", i, subs[i].Err())
			}
		}
	}
	return r, nil
}

// runIdle measures what idle sessions cost the router process: RSS and
// goroutines before and after a child process joins o.idle sessions.
func (o *options) runIdle(ctx context.Context, tr string) (*Result, error) {
	rc, rd, err := startRouter(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.stop()
	if !sleepCtx(ctx, 500*time.Millisecond) {
		return nil, ctx.Err()
	}
	type point struct {
		rss, rssGC int64 // KB
		st, stGC   routerStats
	}
	measurePoint := func() (point, error) {
		var p point
		s, err := sample(rc.pid())
		if err != nil {
			return p, err
		}
		p.rss = s.rssKB
		if p.st, err = getStats(ctx, rd.Stats, false); err != nil {
			return p, err
		}
		if p.stGC, err = getStats(ctx, rd.Stats, true); err != nil {
			return p, err
		}
		if s, err = sample(rc.pid()); err != nil {
			return p, err
		}
		p.rssGC = s.rssKB
		return p, nil
	}
	p0, err := measurePoint()
	if err != nil {
		return nil, err
	}
	var ir idleReady
	start := time.Now()
	ic, err := startChild(ctx, time.Duration(o.idle)*10*time.Millisecond+time.Minute, &ir, "idle",
		"-url", o.url(rd, tr), "-n", strconv.Itoa(o.idle), "-parallel", strconv.Itoa(o.idleParallel),
		"-serializer", o.serializer.Name())
	if err != nil {
		return nil, err
	}
	defer ic.stop()
	joinTime := time.Since(start)
	if ir.Joined == 0 {
		return nil, fmt.Errorf("no session joined: %s", ir.FirstError)
	}
	if !sleepCtx(ctx, o.idleSettle) {
		return nil, ctx.Err()
	}
	p1, err := measurePoint()
	if err != nil {
		return nil, err
	}
	if o.cpuprofile != "" {
		// The router's heap with the sessions in it (inuse_space).
		slug := strings.NewReplacer(" ", "-").Replace(scenarioName(tr, "idle", o.idle))
		if err := rc.command("allocs " + filepath.Join(o.cpuprofile, slug+".router.heap.pprof")); err != nil {
			return nil, err
		}
	}
	n := float64(ir.Joined)
	r := &Result{
		Name: scenarioName(tr, "idle", o.idle), Group: "idle", Transport: tr,
		Sessions:               ir.Joined,
		Errors:                 int64(ir.Failed),
		FirstError:             ir.FirstError,
		Seconds:                joinTime.Seconds(),
		RSSPerSessionKB:        float64(p1.rss-p0.rss) / n,
		RSSPerSessionAfterGCKB: float64(p1.rssGC-p0.rssGC) / n,
		HeapStackPerSessionKB:  float64(int64(p1.stGC.HeapInuse+p1.stGC.StackInuse)-int64(p0.stGC.HeapInuse+p0.stGC.StackInuse)) / n / 1024,
		GoroutinesPerSession:   float64(p1.st.Goroutines-p0.st.Goroutines) / n,
		RouterRSSMB:            float64(p1.rss) / 1024,
	}
	return r, nil
}
