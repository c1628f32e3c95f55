package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Report is the result of one run against one router.
type Report struct {
	Router  string        `json:"router"`
	Agent   string        `json:"agent,omitempty"` // WELCOME.Details.agent
	Realm   string        `json:"realm"`
	Roles   protocol.Dict `json:"roles,omitempty"` // WELCOME.Details.roles
	Started time.Time     `json:"started"`
	Seconds float64       `json:"seconds"`
	Cells   []CellReport  `json:"cells"`
	// Scenarios in catalogue order.
	Scenarios []*ScenarioReport `json:"scenarios"`
	// Expectations is the expectations file applied, if any.
	Expectations string `json:"expectations,omitempty"`
	// Mismatches are the differences from the expectations.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
}

// CellReport says whether the router offers a transport × serializer.
type CellReport struct {
	Name       string `json:"name"`
	Transport  string `json:"transport"`
	Serializer string `json:"serializer"`
	URL        string `json:"url"`
	Offered    bool   `json:"offered"`
	Error      string `json:"error,omitempty"`
}

// ScenarioReport is one scenario's results over the cells.
type ScenarioReport struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Section    string `json:"section"`
	SectionURL string `json:"section_url"`
	Level      Level  `json:"level"`
	Feature    string `json:"feature,omitempty"`
	// Status is Fail if any cell failed, else Pass if any passed, else
	// NotAnnounced or Skipped.
	Status  Status    `json:"status"`
	Results []*Result `json:"results"`
	// Expected is the reason from the expectations file when the scenario
	// is expected to fail.
	Expected string `json:"expected,omitempty"`
}

// Result is one scenario in one cell.
type Result struct {
	Cell    string  `json:"cell"`
	Status  Status  `json:"status"`
	Message string  `json:"message,omitempty"`
	Millis  float64 `json:"ms"`
	// Transcript is every message exchanged, kept for failures.
	Transcript []string `json:"transcript,omitempty"`
}

// Counts tallies scenarios (not cells) by status and level.
type Counts struct {
	Scenarios, Sections              int
	Pass, Fail, NotAnnounced, Skip   int
	FailMUST, FailSHOULD, FailMAY    int
	Cells, CellsPass, CellsFail      int
	ExpectedFail, UnexpectedMismatch int
}

// Count tallies the report.
func (r *Report) Count() Counts {
	var c Counts
	sections := map[string]bool{}
	for _, s := range r.Scenarios {
		c.Scenarios++
		sections[s.Section] = true
		switch s.Status {
		case Pass:
			c.Pass++
		case Fail:
			c.Fail++
			switch s.Level {
			case MUST:
				c.FailMUST++
			case SHOULD:
				c.FailSHOULD++
			default:
				c.FailMAY++
			}
			if s.Expected != "" {
				c.ExpectedFail++
			}
		case NotAnnounced:
			c.NotAnnounced++
		default:
			c.Skip++
		}
		for _, res := range s.Results {
			c.Cells++
			switch res.Status {
			case Pass:
				c.CellsPass++
			case Fail:
				c.CellsFail++
			}
		}
	}
	c.Sections = len(sections)
	c.UnexpectedMismatch = len(r.Mismatches)
	return c
}

// OK reports whether the run succeeded: no mismatch with the expectations
// when an expectations file was applied, else no failed MUST.
func (r *Report) OK() bool {
	if r.Expectations != "" {
		return len(r.Mismatches) == 0
	}
	return r.Count().FailMUST == 0
}

// Summary is one line of counts.
func (r *Report) Summary() string {
	c := r.Count()
	s := fmt.Sprintf("%d scenarios in %d spec sections: %d passed, %d failed (MUST %d, SHOULD %d, MAY %d), %d not announced, %d skipped; %d runs (%d passed, %d failed) in %.1fs",
		c.Scenarios, c.Sections, c.Pass, c.Fail, c.FailMUST, c.FailSHOULD, c.FailMAY, c.NotAnnounced, c.Skip,
		c.Cells, c.CellsPass, c.CellsFail, r.Seconds)
	if r.Expectations != "" {
		s += fmt.Sprintf("; expectations %s: %d expected failures, %d mismatches", r.Expectations, c.ExpectedFail, len(r.Mismatches))
	}
	return s
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(rd io.Reader) (*Report, error) {
	r := new(Report)
	if err := json.NewDecoder(rd).Decode(r); err != nil {
		return nil, fmt.Errorf("scenario: decode report: %w", err)
	}
	return r, nil
}

// TextOptions configures WriteText.
type TextOptions struct {
	// Transcripts says how many transcript lines to show per failure
	// (0: none, negative: all).
	Transcripts int
	// Passed lists passed and not applicable scenarios too (default: only
	// failures, per section).
	Passed bool
}

// WriteText writes the human report: per spec section, each scenario's
// level, status and ID; for failures the cells, the message and the start
// of the transcript.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	fmt.Fprintf(w, "WAMP router conformance: %s", r.Router)
	if r.Agent != "" {
		fmt.Fprintf(w, " (agent %q)", r.Agent)
	}
	fmt.Fprintf(w, ", realm %s, %s\n", r.Realm, r.Started.Format(time.RFC3339))
	for _, c := range r.Cells {
		switch {
		case !c.Offered:
			fmt.Fprintf(w, "  cell %-24s not offered (%s)\n", c.Name, c.URL)
		case c.Error != "":
			fmt.Fprintf(w, "  cell %-24s ERROR %s\n", c.Name, c.Error)
		default:
			fmt.Fprintf(w, "  cell %-24s %s\n", c.Name, c.URL)
		}
	}
	for _, g := range r.bySection() {
		shown := 0
		for _, s := range g.scenarios {
			if o.Passed || s.Status == Fail {
				shown++
			}
		}
		if shown == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n  %s\n", g.section, g.url)
		for _, s := range g.scenarios {
			if !o.Passed && s.Status != Fail {
				continue
			}
			mark := strings.ToUpper(string(s.Status))
			if s.Status == Fail && s.Expected != "" {
				mark = "FAIL (expected)"
			}
			feat := ""
			if s.Feature != "" {
				feat = " [" + s.Feature + "]"
			}
			fmt.Fprintf(w, "  %-15s %-6s %s%s — %s\n", mark, s.Level, s.ID, feat, s.Title)
			if s.Status != Fail {
				continue
			}
			if s.Expected != "" {
				fmt.Fprintf(w, "      expected: %s\n", s.Expected)
			}
			var cells []string
			var first *Result
			for _, res := range s.Results {
				if res.Status == Fail {
					cells = append(cells, res.Cell)
					if first == nil {
						first = res
					}
				}
			}
			fmt.Fprintf(w, "      failed in %s\n      %s: %s\n", strings.Join(cells, ", "), first.Cell, first.Message)
			n := len(first.Transcript)
			if o.Transcripts >= 0 && n > o.Transcripts {
				n = o.Transcripts
			}
			for _, l := range first.Transcript[:n] {
				fmt.Fprintf(w, "        %s\n", l)
			}
			if n < len(first.Transcript) {
				fmt.Fprintf(w, "        … %d more lines (--json has them all)\n", len(first.Transcript)-n)
			}
		}
	}
	if len(r.Mismatches) > 0 {
		fmt.Fprintf(w, "\nMismatches with %s:\n", r.Expectations)
		for _, m := range r.Mismatches {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	fmt.Fprintf(w, "\n%s\n", r.Summary())
	return nil
}

type sectionGroup struct {
	section, url string
	scenarios    []*ScenarioReport
}

// bySection groups scenarios by spec section, in order of first
// appearance.
func (r *Report) bySection() []*sectionGroup {
	var out []*sectionGroup
	idx := map[string]*sectionGroup{}
	for _, s := range r.Scenarios {
		g := idx[s.Section]
		if g == nil {
			g = &sectionGroup{section: s.Section, url: s.SectionURL}
			idx[s.Section] = g
			out = append(out, g)
		}
		g.scenarios = append(g.scenarios, s)
	}
	return out
}

// JUnit XML, as read by CI systems: one testsuite per spec section, one
// testcase per scenario and cell.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fail    int          `xml:"failures,attr"`
	Skipped int          `xml:"skipped,attr"`
	Time    float64      `xml:"time,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Tests   int         `xml:"tests,attr"`
	Fail    int         `xml:"failures,attr"`
	Skipped int         `xml:"skipped,attr"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML. A failure expected by the
// expectations file is reported as skipped, with the reason.
func (r *Report) WriteJUnit(w io.Writer) error {
	js := junitSuites{Name: "wamp-conformance " + r.Router, Time: r.Seconds}
	for _, g := range r.bySection() {
		suite := junitSuite{Name: g.section}
		for _, s := range g.scenarios {
			for _, res := range s.Results {
				tc := junitCase{
					Name:      fmt.Sprintf("%s [%s] %s", s.ID, res.Cell, s.Level),
					Classname: g.section,
					Time:      res.Millis / 1000,
				}
				switch res.Status {
				case Fail:
					msg := fmt.Sprintf("%s %s: %s", s.Level, s.Title, res.Message)
					if s.Expected != "" {
						tc.Skipped = &junitMessage{Message: "expected failure: " + s.Expected + " — " + res.Message}
						suite.Skipped++
					} else {
						tc.Failure = &junitMessage{Message: msg, Type: s.Level.String(), Text: strings.Join(res.Transcript, "\n")}
						suite.Fail++
					}
				case Pass:
				default:
					tc.Skipped = &junitMessage{Message: string(res.Status) + ": " + res.Message}
					suite.Skipped++
				}
				suite.Tests++
				suite.Cases = append(suite.Cases, tc)
			}
		}
		js.Tests += suite.Tests
		js.Fail += suite.Fail
		js.Skipped += suite.Skipped
		js.Suites = append(js.Suites, suite)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(js); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Sections returns the distinct spec sections of scenarios, in order.
func Sections(scenarios []*Scenario) []Section {
	var out []Section
	for _, s := range scenarios {
		if !slices.Contains(out, s.Section) {
			out = append(out, s.Section)
		}
	}
	return out
}
