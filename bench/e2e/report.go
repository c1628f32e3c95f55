package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"
)

// Report is the whole output of a run (-json prints it; -compare reads one).
type Report struct {
	Started    string    `json:"started"`
	Revision   string    `json:"revision,omitempty"` // VCS revision the harness was built from
	GoVersion  string    `json:"go_version"`
	NumCPU     int       `json:"num_cpu"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Duration   string    `json:"duration"` // measuring window per scenario
	Serializer string    `json:"serializer"`
	Payload    string    `json:"payload"`
	Rounds     int       `json:"rounds"`
	Results    []*Result `json:"results"`
	// Before is the compared report's file and revision (-compare).
	Before string `json:"before,omitempty"`
}

// Result is one scenario's figures. "Router" figures are of the router
// process; for the floor they are the relay's.
type Result struct {
	Name      string `json:"name"`  // unique in a report; -compare matches on it
	Group     string `json:"group"` // floor, call, fanout, idle
	Transport string `json:"transport"`
	InFlight  int    `json:"in_flight,omitempty"` // calls in flight (1: sequential)

	Ops         int64   `json:"ops,omitempty"` // calls, or events delivered, in the window
	Seconds     float64 `json:"seconds"`       // the window (idle: the time to join)
	PerSec      float64 `json:"per_s,omitempty"`
	P50US       float64 `json:"p50_us,omitempty"`
	P99US       float64 `json:"p99_us,omitempty"`
	WritesPerOp float64 `json:"router_writes_per_op,omitempty"` // write syscalls (/proc/PID/io syscw)
	CPUPerOpUS  float64 `json:"router_cpu_us_per_op,omitempty"` // user+system CPU
	// The same for the caller (this process: the caller, the floor's
	// client, or fan-out's publisher and subscribers) and the callee (the
	// floor's echo service).
	CallerWritesPerOp float64 `json:"caller_writes_per_op,omitempty"`
	CallerCPUPerOpUS  float64 `json:"caller_cpu_us_per_op,omitempty"`
	CalleeWritesPerOp float64 `json:"callee_writes_per_op,omitempty"`
	CalleeCPUPerOpUS  float64 `json:"callee_cpu_us_per_op,omitempty"`
	// FloorRatio is our cost over the floor's: p50 latency for sequential
	// calls, 1/throughput with calls in flight. 1.15 means 15 % slower.
	FloorRatio float64 `json:"floor_ratio,omitempty"`

	Subscribers int   `json:"subscribers,omitempty"`
	Lost        int64 `json:"lost,omitempty"` // fan-out: published events some subscriber never got

	Sessions               int     `json:"sessions,omitempty"`
	RSSPerSessionKB        float64 `json:"rss_per_session_kb,omitempty"`
	RSSPerSessionAfterGCKB float64 `json:"rss_per_session_after_gc_kb,omitempty"`
	HeapStackPerSessionKB  float64 `json:"heap_stack_per_session_kb,omitempty"`
	GoroutinesPerSession   float64 `json:"goroutines_per_session,omitempty"`
	RouterRSSMB            float64 `json:"router_rss_mb,omitempty"`

	Errors     int64  `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`

	// Vs is this result over the same scenario of the compared report
	// (-compare): after/before for each figure present in both.
	Vs map[string]float64 `json:"vs_before,omitempty"`
}

func scenarioName(transport, group string, n int) string {
	switch group {
	case "fanout":
		return fmt.Sprintf("%s fan-out 1->%d", transport, n)
	case "idle":
		return fmt.Sprintf("%s idle x%d", transport, n)
	}
	if n == 1 {
		return transport + " call sequential"
	}
	return fmt.Sprintf("%s call %d in flight", transport, n)
}

// totalCPU is the CPU time of every process of the scenario per operation.
func (r *Result) totalCPU() float64 { return r.CPUPerOpUS + r.CallerCPUPerOpUS + r.CalleeCPUPerOpUS }

func (r *Result) setFloorRatio(floor *Result) {
	switch {
	case r.InFlight == 1 && r.P50US > 0 && floor.P50US > 0:
		r.FloorRatio = r.P50US / floor.P50US
	case r.InFlight > 1 && r.PerSec > 0:
		r.FloorRatio = floor.PerSec / r.PerSec
	}
}

// compareWith fills each result's Vs from the result of the same name in
// before.
func (rep *Report) compareWith(before *Report, file string) {
	rep.Before = file
	if before.Revision != "" {
		rep.Before += " (" + before.Revision + ")"
	}
	old := map[string]*Result{}
	for _, r := range before.Results {
		old[r.Name] = r
	}
	for _, r := range rep.Results {
		b := old[r.Name]
		if b == nil {
			continue
		}
		r.Vs = map[string]float64{}
		ratio := func(key string, after, before float64) {
			if after != 0 && before != 0 {
				r.Vs[key] = after / before
			}
		}
		ratio("per_s", r.PerSec, b.PerSec)
		ratio("p50_us", r.P50US, b.P50US)
		ratio("p99_us", r.P99US, b.P99US)
		ratio("router_writes_per_op", r.WritesPerOp, b.WritesPerOp)
		ratio("router_cpu_us_per_op", r.CPUPerOpUS, b.CPUPerOpUS)
		ratio("caller_cpu_us_per_op", r.CallerCPUPerOpUS, b.CallerCPUPerOpUS)
		ratio("callee_cpu_us_per_op", r.CalleeCPUPerOpUS, b.CalleeCPUPerOpUS)
		ratio("total_cpu_us_per_op", r.totalCPU(), b.totalCPU())
		ratio("rss_per_session_kb", r.RSSPerSessionKB, b.RSSPerSessionKB)
		ratio("goroutines_per_session", r.GoroutinesPerSession, b.GoroutinesPerSession)
	}
}

func (rep *Report) print(out io.Writer) {
	fmt.Fprintf(out, "e2e benchmark  %s  %s  %d CPUs (GOMAXPROCS %d)  window %s  %s payload %q",
		rep.Started, rep.GoVersion, rep.NumCPU, rep.GOMAXPROCS, rep.Duration, rep.Serializer, rep.Payload)
	if rep.Revision != "" {
		fmt.Fprintf(out, "  rev %s", rep.Revision)
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	var idle []*Result
	fmt.Fprintln(w, "\nscenario\tops/s\tp50 µs\tp99 µs\t× floor\twrites/op\tCPU µs/op\tcaller CPU\tcallee CPU\tall CPU\tcaller w/op\tcallee w/op\t"+vsHeader(rep)+"note\t")
	for _, r := range rep.Results {
		if r.Group == "idle" {
			idle = append(idle, r)
			continue
		}
		fmt.Fprintf(w, "%s\t%.0f\t%s\t%s\t%s\t%.2f\t%.1f\t%.1f\t%s\t%.1f\t%.2f\t%s\t%s%s\t\n", r.Name, r.PerSec,
			opt(r.P50US, "%.0f"), opt(r.P99US, "%.0f"), opt(r.FloorRatio, "%.2f"),
			r.WritesPerOp, r.CPUPerOpUS, r.CallerCPUPerOpUS, opt(r.CalleeCPUPerOpUS, "%.1f"), r.totalCPU(),
			r.CallerWritesPerOp, opt(r.CalleeWritesPerOp, "%.2f"),
			vsCells(rep, r, "per_s", "p50_us", "router_writes_per_op", "total_cpu_us_per_op"), note(r))
	}
	w.Flush()
	if len(idle) > 0 {
		fmt.Fprintln(w, "\nidle sessions\tsessions\tRSS KB/session\tafter GC\theap+stack KB\tgoroutines/session\tjoin s\t"+vsIdleHeader(rep)+"note\t")
		for _, r := range idle {
			fmt.Fprintf(w, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%s%s\t\n", r.Name, r.Sessions,
				r.RSSPerSessionKB, r.RSSPerSessionAfterGCKB, r.HeapStackPerSessionKB, r.GoroutinesPerSession, r.Seconds,
				vsCells(rep, r, "rss_per_session_kb", "goroutines_per_session"), note(r))
		}
		w.Flush()
	}
	fmt.Fprintln(out, `
ops/s: calls (or events delivered) per second; p50/p99: round trip; × floor: our
cost over the bare relay's (sequential: p50; in flight: 1/throughput); writes/op and
CPU µs/op: write syscalls and CPU time of the router process (the relay's for the
floor) per call or delivered event; caller and callee: the same for the caller
process (the floor's client; fan-out's publisher and subscribers) and the callee
process (the floor's echo); all CPU: the three together.`)
	if rep.Before != "" {
		fmt.Fprintf(out, "vs before: after/before, before = %s\n", rep.Before)
	}
}

func vsHeader(rep *Report) string {
	if rep.Before == "" {
		return ""
	}
	return "ops/s vs before\tp50 vs before\twrites vs before\tall CPU vs before\t"
}

func vsIdleHeader(rep *Report) string {
	if rep.Before == "" {
		return ""
	}
	return "RSS vs before\tgoroutines vs before\t"
}

func vsCells(rep *Report, r *Result, keys ...string) string {
	if rep.Before == "" {
		return ""
	}
	var b strings.Builder
	for _, k := range keys {
		if v, ok := r.Vs[k]; ok {
			fmt.Fprintf(&b, "%.2f×\t", v)
		} else {
			b.WriteString("-\t")
		}
	}
	return b.String()
}

func opt(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func note(r *Result) string {
	var parts []string
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d errors (%s)", r.Errors, r.FirstError))
	}
	if r.Lost > 0 {
		parts = append(parts, fmt.Sprintf("%d events lost", r.Lost))
	}
	return strings.Join(parts, "; ")
}

// buildVCS is the VCS revision the binary was built from ("" if unknown),
// with "+dirty" when the tree had changes.
func buildVCS() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
