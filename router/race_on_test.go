//go:build race

package router_test

// raceEnabled: the race detector makes every operation several times
// slower; load tests scale down under it (they check for races then, not
// for capacity).
const raceEnabled = true
