package nexus

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used. Lock the
// goroutine to its thread (runtime.LockOSThread) around a measurement.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
