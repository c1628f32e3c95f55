package izaber_test

import (
	"testing"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
)

// TestMain fails the run when goroutines the tests started outlive them.
func TestMain(m *testing.M) { leaktest.Main(m) }
