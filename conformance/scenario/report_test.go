package scenario

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func sampleReport() *Report {
	return &Report{
		Router: "test router", Realm: "izaber",
		Cells: []CellReport{{Name: "websocket/json", Offered: true}, {Name: "rawsocket-tcp/json", Offered: true}},
		Scenarios: []*ScenarioReport{
			{ID: "a.one", Title: "one", Section: "basic/sessions.md § HELLO", Level: MUST, Status: Fail, Results: []*Result{
				{Cell: "websocket/json", Status: Fail, Message: "went wrong", Transcript: []string{"A → HELLO", "A ← ABORT"}},
				{Cell: "rawsocket-tcp/json", Status: Pass},
			}},
			{ID: "a.two", Title: "two", Section: "basic/sessions.md § HELLO", Level: SHOULD, Status: Pass, Results: []*Result{
				{Cell: "websocket/json", Status: Pass}, {Cell: "rawsocket-tcp/json", Status: Pass},
			}},
			{ID: "b.three", Title: "three", Section: "advanced/x.md § X", Level: MUST, Feature: "dealer.x", Status: NotAnnounced, Results: []*Result{
				{Cell: "websocket/json", Status: NotAnnounced},
			}},
		},
	}
}

func TestExpectations(t *testing.T) {
	known := func(id string) bool { return id != "c.gone" }
	for _, tc := range []struct {
		name, file string
		mismatches []string
		ok         bool
	}{
		{"exact", "a.one @websocket/json it fails\n", nil, true},
		{"all cells", "a.one it fails everywhere\n", []string{"unexpected pass: a.one [rawsocket-tcp/json]"}, false},
		{"by cell", "# comment\n\na.one @websocket/* it fails on websocket\n", nil, true},
		{"wrong cell", "a.one @rawsocket-tcp/* it fails on rawsocket\n", []string{"unexpected failure: a.one [websocket/json]", "unexpected pass: a.one [rawsocket-tcp/json]"}, false},
		{"missing", "", []string{"unexpected failure: a.one [websocket/json]"}, false},
		{"stale", "a.one @websocket/json fails\na.two passes now\n", []string{"unexpected pass: a.two [websocket/json]", "unexpected pass: a.two [rawsocket-tcp/json]"}, false},
		{"not announced is neutral", "a.one @websocket/json fails\nb.three not announced here\n", nil, true},
		{"unknown", "a.one @websocket/json fails\nc.gone was removed\n", []string{"unknown scenario: c.gone"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseExpectations("test.txt", strings.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := sampleReport()
			e.Apply(r, known)
			var got []string
			for _, m := range r.Mismatches {
				s := m.Kind + ": " + m.ID
				if m.Cell != "" {
					s += " [" + m.Cell + "]"
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tc.mismatches, "\n") {
				t.Fatalf("mismatches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.mismatches, "\n"))
			}
			if r.OK() != tc.ok {
				t.Fatalf("OK() = %v", r.OK())
			}
		})
	}
	for _, bad := range []string{"a.one\n", "a.one @[ reason\n", "a.one x\na.one y\n"} {
		if _, err := ParseExpectations("bad.txt", strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReportOutputs(t *testing.T) {
	r := sampleReport()
	if r.OK() {
		t.Fatal("a failed MUST without expectations is OK")
	}
	var text bytes.Buffer
	r.WriteText(&text, TextOptions{Transcripts: 1})
	out := text.String()
	for _, want := range []string{"basic/sessions.md § HELLO", "FAIL", "a.one", "failed in websocket/json", "went wrong", "A → HELLO", "1 more lines"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "a.two") {
		t.Errorf("passed scenarios listed without Passed:\n%s", out)
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&js)
	if err != nil {
		t.Fatal(err)
	}
	if back.Count() != r.Count() || back.Scenarios[0].Level != MUST {
		t.Fatalf("JSON round trip: %+v", back.Count())
	}

	var ju bytes.Buffer
	if err := r.WriteJUnit(&ju); err != nil {
		t.Fatal(err)
	}
	var parsed junitSuites
	if err := xml.Unmarshal(ju.Bytes(), &parsed); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	if parsed.Tests != 5 || parsed.Fail != 1 || parsed.Skipped != 1 || len(parsed.Suites) != 2 {
		t.Fatalf("JUnit counts: tests %d, failures %d, skipped %d, suites %d", parsed.Tests, parsed.Fail, parsed.Skipped, len(parsed.Suites))
	}

	md := r.MarkdownDeviations(5)
	if !strings.Contains(md, "`a.one` (MUST)") || !strings.Contains(md, "went wrong") {
		t.Fatalf("deviations:\n%s", md)
	}
}

func TestAnchor(t *testing.T) {
	s := Section{"advanced/rpc_call_canceling.md", "Call Canceling"}
	if got := s.URL(); got != SpecBase+"advanced/rpc_call_canceling.md#call-canceling" {
		t.Fatal(got)
	}
	if got := anchor("Subscriber Black- and Whitelisting"); got != "subscriber-black--and-whitelisting" {
		t.Fatal(got)
	}
}
