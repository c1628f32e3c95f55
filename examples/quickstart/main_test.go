package main

import (
	"context"
	"testing"
	"time"
)

// TestRun keeps the README's first command true: every quickstart step
// against the embedded router must succeed.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
}
