package izaber_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
)

// TestMain fails the run when goroutines started by the tests are still
// running after every test finished (and clients were closed).
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
