package scenario

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// TestMain fails the run when goroutines the tests started outlive them.
func TestMain(m *testing.M) { leaktest.Main(m) }

// testConfig points a run at the in-process router; scenarios run in the
// cells of serializer ser only.
func testConfig(t *testing.T, eps []wire.Endpoint, ser protocol.Serializer) Config {
	return Config{
		Endpoints:      eps,
		Serializers:    []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR},
		Cells:          func(c Cell) bool { return c.Serializer == ser },
		Realm:          testrouter.Realm,
		Anonymous:      true,
		Ticket:         &Credential{testrouter.TicketAuthID, testrouter.TicketSecret},
		WAMPCRA:        &Credential{testrouter.CRAAuthID, testrouter.CRASecret},
		WAMPCRASalted:  &Credential{testrouter.SaltedAuthID, testrouter.SaltedSecret},
		Cryptosign:     &CryptosignKey{testrouter.CryptosignAuthID, testrouter.CryptosignKey()},
		MaxMessageSize: testMaxMessageSize,
		// Generous: the machine running the tests may be loaded. Only a
		// failing scenario waits this long.
		MessageTimeout: 10 * time.Second,
		Timeout:        60 * time.Second,
	}
}

const testMaxMessageSize = 1 << 20

func startRouter(t *testing.T) *testrouter.Server {
	t.Helper()
	srv, err := testrouter.Start(testrouter.Options{MaxMessageSize: testMaxMessageSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func endpoint(t *testing.T, url string) wire.Endpoint {
	t.Helper()
	ep, err := wire.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// cellFor picks the cell a scenario is proven in: RawSocket TCP unless the
// scenario is for other transports; serializers rotate over the catalogue.
func cellFor(srv *testrouter.Server, sc *Scenario, i int) (string, protocol.Serializer) {
	sers := []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}
	ser := sers[i%len(sers)]
	if sc.Serializers != nil {
		ser, _ = protocol.SerializerByName(sc.Serializers[i%len(sc.Serializers)])
	}
	for _, tr := range []string{wire.RawSocketTCP, wire.WebSocket, wire.RawSocketUnix} {
		if sc.Transports == nil || slices.Contains(sc.Transports, tr) {
			switch tr {
			case wire.WebSocket:
				return srv.WebSocket, ser
			case wire.RawSocketUnix:
				return srv.Unix, ser
			}
			return srv.TCP, ser
		}
	}
	return srv.TCP, ser
}

var flagOnly = os.Getenv("SCENARIO")

// ourExpectations are our router's known failures.
func ourExpectations(t *testing.T) *Expectations {
	f, err := os.Open("../expect/izaber-wamp.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := ParseExpectations("conformance/expect/izaber-wamp.txt", f)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, sc := range All() {
		known[sc.ID] = true
	}
	for id := range e.entries {
		if !known[id] {
			t.Errorf("%s lists unknown scenario %s", e.Name, id)
		}
	}
	return e
}

// TestScenarios proves every scenario: it passes against our router (or
// reports its feature as not announced; or fails as listed in
// conformance/expect/izaber-wamp.txt) and fails against its breaker, a
// proxy in front of the same router that breaks exactly that rule.
//
// The checks run concurrently (most of their time is spent waiting for
// messages), then each scenario reports as a subtest.
func TestScenarios(t *testing.T) {
	srv := startRouter(t)
	expected := ourExpectations(t)
	type outcome struct {
		real, broken *ScenarioReport
		err          error
	}
	all := All()
	results := make([]outcome, len(all))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var exclusive []int
	for i, sc := range all {
		if flagOnly != "" && !regexp.MustCompile(flagOnly).MatchString(sc.ID) {
			continue
		}
		if sc.Exclusive {
			// It affects other sessions of the realm (kill_all,
			// kill_by_authrole): alone, after the others, as Run does.
			exclusive = append(exclusive, i)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i].real, results[i].broken, results[i].err = proveScenario(t, srv, sc, i)
		}()
	}
	wg.Wait()
	for _, i := range exclusive {
		results[i].real, results[i].broken, results[i].err = proveScenario(t, srv, all[i], i)
	}
	for i, sc := range all {
		r := results[i]
		if r.real == nil && r.err == nil {
			continue
		}
		t.Run(sc.ID, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			got := r.real
			switch reason := expected.Reason(sc.ID); {
			case reason != "":
				if got.Status != Fail {
					t.Errorf("against our router: %s, but %s expects a failure (%s): delete the line", got.Status, expected.Name, reason)
				}
			case got.Status == Pass:
			case got.Status == NotAnnounced:
				t.Logf("our router does not announce %s", sc.Feature)
			default:
				t.Errorf("against our router: %s", explain(got))
			}
			if b := r.broken; b.Status != Fail {
				t.Errorf("against its breaker the scenario did not fail: %s", explain(b))
			} else if testing.Verbose() {
				t.Logf("against its breaker: %s", b.Results[0].Message)
			}
		})
	}
}

// proveScenario runs sc against our router and against its breaker.
func proveScenario(t *testing.T, srv *testrouter.Server, sc *Scenario, i int) (real, broken *ScenarioReport, err error) {
	url, ser := cellFor(srv, sc, i)
	ep, err := wire.ParseURL(url)
	if err != nil {
		return nil, nil, err
	}
	only := func(s *Scenario) bool { return s.ID == sc.ID }
	ctx := context.Background()
	cfg := testConfig(t, []wire.Endpoint{ep}, ser)
	cfg.Filter = only
	rep, err := Run(ctx, cfg, All())
	if err != nil {
		return nil, nil, err
	}
	var features []string
	if sc.Feature != "" {
		features = []string{sc.Feature}
	}
	p, err := fault.Start([]wire.Endpoint{ep}, sc.Breaker, fault.Options{Features: features})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	bcfg := testConfig(t, p.Endpoints(), ser)
	bcfg.Filter = only
	// Against a breaker the scenario must fail; a shorter wait only makes
	// that quicker.
	bcfg.MessageTimeout = 2 * time.Second
	brep, err := Run(ctx, bcfg, All())
	if err != nil {
		return nil, nil, err
	}
	return rep.Scenarios[0], brep.Scenarios[0], nil
}

func explain(s *ScenarioReport) string {
	var b strings.Builder
	b.WriteString(string(s.Status))
	for _, r := range s.Results {
		b.WriteString("\n  [" + r.Cell + "] " + string(r.Status) + ": " + r.Message)
		for _, l := range r.Transcript {
			b.WriteString("\n      " + l)
		}
	}
	return b.String()
}

// TestCatalogue checks what every scenario must declare.
func TestCatalogue(t *testing.T) {
	ids := map[string]bool{}
	feature := regexp.MustCompile(`^(broker|dealer)\.[a-z_]+$`)
	id := regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9-]+)+$`)
	for _, sc := range All() {
		if !id.MatchString(sc.ID) {
			t.Errorf("%q: bad ID", sc.ID)
		}
		if ids[sc.ID] {
			t.Errorf("%s: duplicate ID", sc.ID)
		}
		ids[sc.ID] = true
		if sc.Title == "" || sc.Run == nil {
			t.Errorf("%s: no title or no Run", sc.ID)
		}
		if sc.Section.Doc == "" || sc.Section.Heading == "" || !strings.HasPrefix(sc.Section.Doc, "basic/") && !strings.HasPrefix(sc.Section.Doc, "advanced/") {
			t.Errorf("%s: bad section %v", sc.ID, sc.Section)
		}
		if sc.Feature != "" && !feature.MatchString(sc.Feature) {
			t.Errorf("%s: bad feature %q", sc.ID, sc.Feature)
		}
		if sc.Breaker.Rule == nil && sc.Breaker.RawSocketReply == nil && sc.Breaker.Subprotocol == nil && !sc.Breaker.KeepClientOpen {
			t.Errorf("%s: no breaker", sc.ID)
		}
	}
	t.Logf("%d scenarios in %d spec sections", len(All()), len(Sections(All())))
}
