//go:build !unix

package session_test

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
