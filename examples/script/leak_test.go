package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
)

func TestMain(m *testing.M) {
	base := leaktest.Count()
	code := m.Run()
	if code == 0 {
		if err := leaktest.Check(base, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
