//go:build !linux

package nexus

import "time"

// threadCPU is not available here: measurements fall back to wall time.
func threadCPU() (time.Duration, bool) { return 0, false }
