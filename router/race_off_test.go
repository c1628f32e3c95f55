//go:build !race

package router_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
