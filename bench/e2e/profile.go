package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
)

// A child reads commands from its stdin, one a line, and ends when stdin
// closes:
//
//	cpuprofile FILE    start writing a CPU profile to FILE
//	cpuprofile-stop    stop it (and finish FILE)
//	allocs FILE        write the allocation profile so far to FILE
//
// The orchestrator uses them (-cpuprofile) to profile every process of a
// scenario over its measuring window only (allocations: the difference of
// two allocs profiles, go tool pprof -base).
func childCommands(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		var err error
		switch cmd {
		case "cpuprofile":
			err = startCPUProfile(arg)
		case "cpuprofile-stop":
			err = stopCPUProfile()
		case "allocs":
			err = writeAllocs(arg)
		case "":
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		}
	}
}

var profiling struct {
	mu sync.Mutex
	f  *os.File // the profile being written, or nil
}

// startCPUProfile starts this process's CPU profile, written to path.
func startCPUProfile(path string) error {
	profiling.mu.Lock()
	defer profiling.mu.Unlock()
	if profiling.f != nil {
		return fmt.Errorf("cpuprofile %s: a profile is already running", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	profiling.f = f
	return nil
}

// stopCPUProfile stops the running CPU profile, if any, and closes its file.
func stopCPUProfile() error {
	profiling.mu.Lock()
	defer profiling.mu.Unlock()
	if profiling.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := profiling.f.Close()
	profiling.f = nil
	return err
}

// writeAllocs writes the process's allocation profile to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}
