package scenario_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/zabertech/go-izaber-wamp/conformance/scenario"
	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
)

// Run checks a router from a Go program or test: here the session
// lifecycle scenarios against our router, started in-process (for
// another router, give the URLs of its listeners).
func ExampleRun() {
	srv, err := testrouter.Start(testrouter.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	var cfg scenario.Config
	for _, u := range []string{srv.WebSocket, srv.TCP} {
		ep, err := wire.ParseURL(u)
		if err != nil {
			log.Fatal(err)
		}
		cfg.Endpoints = append(cfg.Endpoints, ep)
	}
	cfg.Anonymous = true // no credentials: the scenarios that need a login method are skipped
	cfg.Filter = func(s *scenario.Scenario) bool { return strings.HasPrefix(s.ID, "session.goodbye.") }

	report, err := scenario.Run(context.Background(), cfg, scenario.All())
	if err != nil {
		log.Fatal(err)
	}
	c := report.Count()
	fmt.Printf("passed: %d of %d, every MUST holds: %v\n", c.Pass, c.Scenarios, report.OK())
	for _, s := range report.Scenarios {
		if s.Status != scenario.Pass {
			fmt.Println(s.ID, s.Status)
		}
	}
	// Output:
	// passed: 4 of 5, every MUST holds: true
	// session.goodbye.during-challenge skipped
}
