package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
)

// benchResult is what bench reports (the --json output).
type benchResult struct {
	Mode        string        `json:"mode"` // "call" or "pubsub"
	URL         string        `json:"url"`
	Embedded    bool          `json:"embedded"`
	Serializer  string        `json:"serializer"`
	Concurrency int           `json:"concurrency"`
	Size        int           `json:"size_bytes"`
	Elapsed     float64       `json:"elapsed_s"`
	Ops         int64         `json:"ops"` // calls completed, or events received
	Published   int64         `json:"published,omitempty"`
	Lost        int64         `json:"lost,omitempty"`
	Errors      int64         `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
	Throughput  float64       `json:"throughput_per_s"`
	Latency     latencyReport `json:"latency_us"`
	Interrupted bool          `json:"interrupted,omitempty"`
}

type latencyReport struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:       "bench [call|pubsub]",
		Short:     "measure call latency/throughput or pub/sub throughput against a router",
		GroupID:   groupTools,
		ValidArgs: []cobra.Completion{"call", "pubsub"},
		Long: `bench call (the default) registers its own echo procedure on one session
and calls it from another with --concurrency calls in flight, then reports
the round-trip latency (mean, p50, p90, p99, max) and the throughput.
bench pubsub subscribes one session to its own topic and publishes to it
from another (acknowledged unless --no-ack), then reports events received
per second, the publish-to-delivery latency and lost events. Payloads are
strings of --size bytes. Both run for --duration, or for --count
operations, after a short warm-up. A progress bar is drawn on stderr when
it is a terminal; results go to stdout as a table, or as JSON with --json.

--embedded starts an in-process router (anonymous realm "izaber") on a
loopback port, so no server is needed; --transport picks WebSocket or
RawSocket for it. Otherwise the connection settings are those of every
command (izaber.yaml, IZABER_*, flags); the user needs permission to
register/subscribe under uri_base.`,
		Example: `  izaber-wamp bench --embedded
  izaber-wamp bench --embedded --serializer msgpack --concurrency 64 --size 1024 --duration 10s
  izaber-wamp bench pubsub --embedded --transport rawsocket --json
  izaber-wamp bench --url ws://127.0.0.1:8282/ws --user backend-1 --count 10000`,
	}
	e := a.client(cmd)
	var f benchFlags
	fs := cmd.Flags()
	fs.IntVar(&f.concurrency, "concurrency", 16, "requests in flight at once")
	fs.IntVar(&f.size, "size", 64, "payload size in bytes")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "how long to measure (ignored with --count)")
	fs.Int64Var(&f.count, "count", 0, "measure this many operations instead of a duration")
	fs.BoolVar(&f.asJSON, "json", false, "print the results as JSON")
	fs.BoolVar(&f.embedded, "embedded", false, "start an in-process router on a loopback port and bench against it")
	fs.StringVar(&f.transport, "transport", "websocket", "with --embedded: websocket or rawsocket")
	cmd.RegisterFlagCompletionFunc("transport", cobra.FixedCompletions([]cobra.Completion{"websocket", "rawsocket"}, cobra.ShellCompDirectiveNoFileComp))
	fs.BoolVar(&f.noAck, "no-ack", false, "pubsub: publish without waiting for acknowledgements")
	cmd.RunE = e.runE(func(ctx context.Context, args []string) int {
		mode := "call"
		if len(args) > 0 && (args[0] == "call" || args[0] == "pubsub") {
			mode, args = args[0], args[1:]
		}
		if len(args) > 0 {
			return e.usageErr("unexpected arguments %q", args)
		}
		return e.runBench(ctx, mode, &f)
	})
	return cmd
}

// benchFlags are the bench command's own flags.
type benchFlags struct {
	concurrency, size       int
	duration                time.Duration
	count                   int64
	asJSON, embedded, noAck bool
	transport               string
}

func (e *env) runBench(ctx context.Context, mode string, f *benchFlags) int {
	concurrency, size, duration, count := &f.concurrency, &f.size, &f.duration, &f.count
	asJSON, embedded, transportName, noAck := &f.asJSON, &f.embedded, &f.transport, &f.noAck
	switch {
	case *concurrency < 1:
		return e.usageErr("--concurrency must be at least 1")
	case *size < 0 || *size > 64<<20:
		return e.usageErr("--size must be between 0 and 64 MiB")
	case *count < 0:
		return e.usageErr("--count must not be negative")
	case *count == 0 && *duration <= 0:
		return e.usageErr("--duration must be positive")
	case *transportName != "websocket" && *transportName != "rawsocket":
		return e.usageErr("--transport must be websocket or rawsocket")
	}

	st, err := e.conn.load()
	if err != nil {
		return e.fail(err)
	}
	cfg := st.cfg
	if *embedded {
		url, stop, err := startEmbeddedRouter(ctx, *transportName, e.logger())
		if err != nil {
			return e.errorf(exitConnect, "embedded router: %v", err)
		}
		defer stop()
		cfg.URL = url
		cfg.Realm = "izaber"
		cfg.AuthMethods = []string{"anonymous"}
		cfg.Username, cfg.AuthID, cfg.Password = "", "", ""
	}
	cfg.DisableReconnect = true
	cfg.Logger = e.logger()
	if e.conn.trace {
		cfg.Trace = e.tracer()
	}
	if cfg.MaxPayloadSize == 0 && *size > izaber.DefaultMaxPayloadSize-1024 {
		cfg.MaxPayloadSize = *size + 1<<20
	}
	var clients [2]*izaber.Client
	for i := range clients {
		if i > 0 {
			cfg.Warnings = nil // said once, by the first client
		}
		c, err := izaber.New(cfg)
		if err != nil {
			return e.fail(err)
		}
		defer e.close(c)
		if err := c.Connect(ctx); err != nil {
			if ctx.Err() != nil {
				return e.errorf(exitInterrupt, "interrupted")
			}
			return e.fail(err)
		}
		clients[i] = c
	}
	ser := "cbor"
	if len(cfg.Serializers) > 0 {
		ser = cfg.Serializers[0]
	}
	b := &bench{
		e: e, server: clients[0], client: clients[1], opts: e.uriOpts(),
		concurrency: *concurrency, duration: *duration, count: *count, noAck: *noAck,
		payload: strings.Repeat("x", *size),
		res:     benchResult{Mode: mode, URL: cfg.URL, Embedded: *embedded, Serializer: ser, Concurrency: *concurrency, Size: *size},
	}
	var lats []time.Duration
	if mode == "call" {
		lats, err = b.runCall(ctx)
	} else {
		lats, err = b.runPubSub(ctx)
	}
	if err != nil {
		return e.requestErr(ctx, err)
	}
	b.res.Interrupted = ctx.Err() != nil
	b.res.Latency = summarize(lats)
	if b.res.Elapsed > 0 {
		b.res.Throughput = float64(b.res.Ops) / b.res.Elapsed
	}
	if *asJSON {
		if err := writeJSON(e.stdout, b.res, e.indent()); err != nil {
			return e.errorf(exitWAMPError, "%v", err)
		}
	} else {
		printBenchTable(e.stdout, &b.res)
	}
	switch {
	case b.res.Interrupted:
		return exitInterrupt
	case b.res.Ops == 0:
		return e.errorf(exitWAMPError, "no operation succeeded: %s", b.res.FirstError)
	}
	return exitOK
}

type bench struct {
	e              *env
	server, client *izaber.Client
	opts           []session.Option
	concurrency    int
	duration       time.Duration
	count          int64
	noAck          bool
	payload        string
	res            benchResult

	errMu sync.Mutex
}

func (b *bench) recordError(err error) {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	b.res.Errors++
	if b.res.FirstError == "" {
		b.res.FirstError = err.Error()
	}
}

func randomSuffix() string {
	var p [6]byte
	rand.Read(p[:])
	return hex.EncodeToString(p[:])
}

// measure runs op on concurrency workers until the duration or count is
// reached (or ctx ends), drawing the progress bar. It returns every
// successful op's latency and the elapsed time.
func (b *bench) measure(ctx context.Context, op func(ctx context.Context) error) ([]time.Duration, time.Duration) {
	// stop ends the run at the deadline without cancelling the requests in
	// flight (their results count); ctx (Ctrl-C) cancels them.
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline time.Time
	if b.count == 0 {
		deadline = time.Now().Add(b.duration)
		t := time.AfterFunc(b.duration, cancel)
		defer t.Stop()
	}
	var issued, done atomic.Int64
	per := make([][]time.Duration, b.concurrency)
	start := time.Now()
	progressDone := b.progress(stop, start, deadline, &done)
	var wg sync.WaitGroup
	for w := range b.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats := make([]time.Duration, 0, 1024)
			for stop.Err() == nil {
				if b.count > 0 && issued.Add(1) > b.count {
					break
				}
				t0 := time.Now()
				err := op(ctx)
				if err != nil {
					if ctx.Err() != nil {
						break // interrupted
					}
					b.recordError(err)
					continue
				}
				lats = append(lats, time.Since(t0))
				done.Add(1)
			}
			per[w] = lats
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-progressDone
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	return all, elapsed
}

// warmup runs a few operations before measuring.
func (b *bench) warmup(ctx context.Context, op func(ctx context.Context) error) error {
	for range 50 {
		if err := op(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) runCall(ctx context.Context) ([]time.Duration, error) {
	proc := "bench.echo." + randomSuffix()
	_, err := b.server.Register(ctx, proc, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	}, b.opts...)
	if err != nil {
		return nil, err
	}
	args := protocol.List{b.payload}
	op := func(ctx context.Context) error {
		_, err := b.client.Call(ctx, proc, args, nil, b.opts...)
		return err
	}
	if err := b.warmup(ctx, op); err != nil {
		return nil, err
	}
	lats, elapsed := b.measure(ctx, op)
	b.res.Ops = int64(len(lats))
	b.res.Elapsed = elapsed.Seconds()
	return lats, nil
}

func (b *bench) runPubSub(ctx context.Context) ([]time.Duration, error) {
	topic := "bench.events." + randomSuffix()
	var (
		mu       sync.Mutex
		lats     []time.Duration
		received atomic.Int64
		measured atomic.Bool
		lastRecv atomic.Int64 // unix nanos of the last event
	)
	_, err := b.server.Subscribe(ctx, topic, func(ev *session.Event) {
		sent, _ := ev.Kwargs["t"].(int64)
		now := time.Now()
		if !measured.Load() {
			return // warm-up event
		}
		if sent > 0 {
			mu.Lock()
			lats = append(lats, now.Sub(time.Unix(0, sent)))
			mu.Unlock()
		}
		received.Add(1)
		lastRecv.Store(now.UnixNano())
	}, b.opts...)
	if err != nil {
		return nil, err
	}
	opts := b.opts
	if b.noAck {
		opts = append(slices.Clip(opts), session.Acknowledge(false))
	}
	args := protocol.List{b.payload}
	op := func(ctx context.Context) error {
		return b.client.Publish(ctx, topic, args, protocol.Dict{"t": time.Now().UnixNano()}, opts...)
	}
	if err := b.warmup(ctx, op); err != nil {
		return nil, err
	}
	time.Sleep(100 * time.Millisecond) // let warm-up events drain
	measured.Store(true)
	start := time.Now()
	published, _ := b.measure(ctx, op)
	b.res.Published = int64(len(published))
	// Wait for the events still in flight, up to 5 s without progress.
	last, lastChange := received.Load(), time.Now()
	for received.Load() < b.res.Published && ctx.Err() == nil && time.Since(lastChange) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
		if n := received.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	measured.Store(false)
	b.res.Ops = received.Load()
	b.res.Lost = max(0, b.res.Published-b.res.Ops)
	end := time.Now()
	if t := lastRecv.Load(); t > 0 {
		end = time.Unix(0, t)
	}
	b.res.Elapsed = end.Sub(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(lats), nil
}

// progress draws a progress bar on stderr when it is a terminal, until
// ctx ends; the returned channel is closed when the bar is cleared.
func (b *bench) progress(ctx context.Context, start, deadline time.Time, done *atomic.Int64) <-chan struct{} {
	finished := make(chan struct{})
	if !terminal(b.e.stderr) {
		close(finished)
		return finished
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		const width = 30
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintf(b.e.stderr, "\r%s\r", strings.Repeat(" ", width+40))
				return
			case <-t.C:
			}
			var frac float64
			if b.count > 0 {
				frac = float64(done.Load()) / float64(b.count)
			} else {
				frac = float64(time.Since(start)) / float64(deadline.Sub(start))
			}
			frac = math.Min(1, math.Max(0, frac))
			n := int(frac * width)
			rate := float64(done.Load()) / time.Since(start).Seconds()
			fmt.Fprintf(b.e.stderr, "\r[%s%s] %3.0f%% %9.0f ops/s", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, rate)
		}
	}()
	return finished
}

func summarize(lats []time.Duration) latencyReport {
	if len(lats) == 0 {
		return latencyReport{}
	}
	slices.Sort(lats)
	us := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)*10) / 10 }
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lats)))) - 1
		return us(lats[min(max(i, 0), len(lats)-1)])
	}
	var sum time.Duration
	for _, l := range lats {
		sum += l
	}
	return latencyReport{
		Mean: us(sum / time.Duration(len(lats))),
		P50:  pct(0.50),
		P90:  pct(0.90),
		P99:  pct(0.99),
		Max:  us(lats[len(lats)-1]),
	}
}

func printBenchTable(w io.Writer, r *benchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	where := r.URL
	if r.Embedded {
		where += " (embedded)"
	}
	fmt.Fprintf(tw, "mode\t%s\n", r.Mode)
	fmt.Fprintf(tw, "router\t%s\n", where)
	fmt.Fprintf(tw, "serializer\t%s\n", r.Serializer)
	fmt.Fprintf(tw, "concurrency\t%d\n", r.Concurrency)
	fmt.Fprintf(tw, "payload\t%d bytes\n", r.Size)
	fmt.Fprintf(tw, "elapsed\t%.2f s\n", r.Elapsed)
	if r.Mode == "pubsub" {
		fmt.Fprintf(tw, "published\t%d\n", r.Published)
		fmt.Fprintf(tw, "received\t%d (lost %d)\n", r.Ops, r.Lost)
		fmt.Fprintf(tw, "throughput\t%.0f events/s\n", r.Throughput)
		fmt.Fprintf(tw, "delivery latency\tmean %.1f µs  p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  max %.1f µs\n", r.Latency.Mean, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	} else {
		fmt.Fprintf(tw, "calls\t%d\n", r.Ops)
		fmt.Fprintf(tw, "throughput\t%.0f calls/s\n", r.Throughput)
		fmt.Fprintf(tw, "round trip\tmean %.1f µs  p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  max %.1f µs\n", r.Latency.Mean, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	}
	fmt.Fprintf(tw, "errors\t%d\n", r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first error\t%s\n", r.FirstError)
	}
	if r.Interrupted {
		fmt.Fprintf(tw, "note\tinterrupted: partial results\n")
	}
	tw.Flush()
}

// startEmbeddedRouter serves an anonymous realm "izaber" on a loopback
// port and returns its URL and a function that shuts it down.
func startEmbeddedRouter(ctx context.Context, transportName string, log *slog.Logger) (string, func(), error) {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "izaber"}}, Logger: log})
	if err != nil {
		return "", nil, err
	}
	shutdown := func(extra func()) func() {
		return func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r.Close(sctx)
			if extra != nil {
				extra()
			}
		}
	}
	if transportName == "rawsocket" {
		l, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			shutdown(nil)()
			return "", nil, err
		}
		go r.ServeRawSocket(l)
		return "tcp://" + l.Addr().String(), shutdown(nil), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		shutdown(nil)()
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("embedded router", "err", err)
		}
	}()
	return "ws://" + ln.Addr().String() + "/ws", shutdown(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}), nil
}
