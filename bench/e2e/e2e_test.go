package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary play the roles the orchestrator starts
// (it runs os.Executable(), which is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] != "run" {
		if _, ok := roles[os.Args[1]]; ok {
			main()
			return
		}
	}
	os.Exit(m.Run())
}

// TestSmoke runs every scenario once, briefly, and checks that each
// produced figures: the harness keeps working as the code under it changes.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and joins sessions")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := orchestrate(ctx, []string{"-json", "-duration", "100ms", "-warmup", "50ms",
		"-inflight", "8", "-subscribers", "3", "-lag", "10", "-idle", "50", "-idle-settle", "10ms"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.Bytes())
	}
	want := []string{
		"floor call sequential", "floor call 8 in flight",
		"ws call sequential", "ws call 8 in flight", "ws fan-out 1->3",
		"raw call sequential", "raw call 8 in flight", "raw fan-out 1->3",
		"ws idle x50",
	}
	got := map[string]*Result{}
	for _, r := range rep.Results {
		got[r.Name] = r
	}
	for _, name := range want {
		r := got[name]
		switch {
		case r == nil:
			t.Errorf("no result %q", name)
		case r.Errors != 0 || r.Lost != 0:
			t.Errorf("%s: %d errors (%s), %d lost", name, r.Errors, r.FirstError, r.Lost)
		case r.Group == "idle":
			if r.Sessions != 50 || r.GoroutinesPerSession <= 0 || r.RouterRSSMB <= 0 {
				t.Errorf("%s: %+v", name, r)
			}
		case r.Ops == 0 || r.PerSec <= 0 || r.WritesPerOp <= 0:
			t.Errorf("%s: %+v", name, r)
		case r.InFlight == 1 && (r.P50US <= 0 || r.P99US < r.P50US):
			t.Errorf("%s: latencies %+v", name, r)
		case r.Group == "call" && r.FloorRatio <= 0:
			t.Errorf("%s: no ratio to the floor", name)
		}
	}
	if len(rep.Results) != len(want) {
		t.Errorf("%d results, want %d", len(rep.Results), len(want))
	}
}

// TestCPUProfiles checks that -cpuprofile leaves a CPU profile and two
// allocation profiles of every process of a scenario.
func TestCPUProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and joins sessions")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out bytes.Buffer
	err := orchestrate(ctx, []string{"-json", "-only", "call", "-transports", "raw", "-inflight", "",
		"-duration", "100ms", "-warmup", "50ms", "-cpuprofile", dir}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"router", "callee", "caller"} {
		for _, kind := range []string{"pprof", "allocs0.pprof", "allocs1.pprof"} {
			// The children have exited (and finished their files) when
			// orchestrate returns.
			name := filepath.Join(dir, "raw-call-sequential."+role+"."+kind)
			if fi, err := os.Stat(name); err != nil || fi.Size() == 0 {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

func TestProcField(t *testing.T) {
	status := "Name:\te2e\nVmRSS:\t   12345 kB\nThreads:\t7\n"
	if v, err := procField(status, "VmRSS:"); err != nil || v != 12345 {
		t.Errorf("VmRSS = %d, %v", v, err)
	}
	if v, err := procField(status, "Threads:"); err != nil || v != 7 {
		t.Errorf("Threads = %d, %v", v, err)
	}
	if _, err := procField(status, "VmSwap:"); err == nil {
		t.Error("missing field found")
	}
	s, err := sample(os.Getpid())
	if err != nil || s.rssKB <= 0 || s.threads <= 0 {
		t.Errorf("sample of this process: %+v, %v", s, err)
	}
}

func TestMedianResults(t *testing.T) {
	r := func(ps float64) []*Result {
		return []*Result{{Name: "x call 8 in flight", Group: "call", InFlight: 8, PerSec: ps}}
	}
	got := medianResults([][]*Result{r(30), r(10), r(20)})
	if len(got) != 1 || got[0].PerSec != 20 {
		t.Errorf("median = %+v", got[0])
	}
}
