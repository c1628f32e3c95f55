package scenario

import (
	"fmt"
	"sort"
	"strings"
)

// Markdown renders the catalogue, results and deviations for
// docs/CONFORMANCE.md (conformance/gendoc puts them between its markers).

// MarkdownCatalogue lists every scenario by spec section: ID, level,
// feature and title.
func MarkdownCatalogue(all []*Scenario) string {
	var b strings.Builder
	secs := Sections(all)
	fmt.Fprintf(&b, "%d scenarios in %d spec sections (MUST %d, SHOULD %d, MAY %d).\n",
		len(all), len(secs), countLevel(all, MUST), countLevel(all, SHOULD), countLevel(all, MAY))
	for _, sec := range secs {
		fmt.Fprintf(&b, "\n**[%s](%s)**\n\n| ID | level | feature | a conforming router… |\n|---|---|---|---|\n", sec, sec.URL())
		for _, s := range all {
			if s.Section != sec {
				continue
			}
			feat := "—"
			if s.Feature != "" {
				feat = "`" + s.Feature + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.ID, s.Level, feat, cell(s.Title))
		}
	}
	return b.String()
}

func countLevel(all []*Scenario, l Level) int {
	n := 0
	for _, s := range all {
		if s.Level == l {
			n++
		}
	}
	return n
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", "\\|")
}

// MarkdownResults summarises a report: counts, cells, and per spec
// section the scenarios by outcome.
func (r *Report) MarkdownResults() string {
	var b strings.Builder
	c := r.Count()
	fmt.Fprintf(&b, "Last run: %s against **%s**", r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Router)
	if r.Agent != "" {
		fmt.Fprintf(&b, " (agent `%s`)", r.Agent)
	}
	fmt.Fprintf(&b, ", %.0f s.\n\n", r.Seconds)
	fmt.Fprintf(&b, "**%d scenarios: %d passed, %d failed (MUST %d, SHOULD %d, MAY %d), %d not announced, %d skipped.** %d runs over the cells: %d passed, %d failed.",
		c.Scenarios, c.Pass, c.Fail, c.FailMUST, c.FailSHOULD, c.FailMAY, c.NotAnnounced, c.Skip, c.Cells, c.CellsPass, c.CellsFail)
	if r.Expectations != "" {
		fmt.Fprintf(&b, " Expectations `%s`: %d expected failures, %d mismatches.", r.Expectations, c.ExpectedFail, len(r.Mismatches))
	}
	b.WriteString("\n\nCells: ")
	var cells []string
	for _, cl := range r.Cells {
		switch {
		case !cl.Offered:
			cells = append(cells, cl.Name+" (not offered)")
		case cl.Error != "":
			cells = append(cells, cl.Name+" (ERROR)")
		default:
			cells = append(cells, cl.Name)
		}
	}
	b.WriteString(strings.Join(cells, ", ") + ".\n\n")
	b.WriteString("| spec section | passed | failed | not announced | skipped |\n|---|---|---|---|---|\n")
	for _, g := range r.bySection() {
		var pass, na, skip []string
		var fail []string
		for _, s := range g.scenarios {
			switch s.Status {
			case Pass:
				pass = append(pass, s.ID)
			case Fail:
				fail = append(fail, "`"+s.ID+"`")
			case NotAnnounced:
				na = append(na, s.ID)
			default:
				skip = append(skip, s.ID)
			}
		}
		fmt.Fprintf(&b, "| [%s](%s) | %d | %s | %d | %d |\n", g.section, g.url, len(pass), countAndList(fail), len(na), len(skip))
	}
	return b.String()
}

func countAndList(ids []string) string {
	if len(ids) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d: %s", len(ids), strings.Join(ids, ", "))
}

// MarkdownDeviations lists the report's failures grouped by the reason
// the expectations give (or by scenario without one), each with its
// evidence: the failure message and the end of the transcript of the
// first failing cell.
func (r *Report) MarkdownDeviations(evidenceLines int) string {
	type group struct {
		reason string
		items  []*ScenarioReport
	}
	var groups []*group
	byReason := map[string]*group{}
	for _, s := range r.Scenarios {
		if s.Status != Fail {
			continue
		}
		key := s.Expected
		if key == "" {
			key = "(not in the expectations) " + s.ID
		}
		g := byReason[key]
		if g == nil {
			g = &group{reason: key}
			byReason[key] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, s)
	}
	if len(groups) == 0 {
		return "No failures.\n"
	}
	sort.SliceStable(groups, func(i, j int) bool { return worst(groups[i].items) < worst(groups[j].items) })
	var b strings.Builder
	for _, g := range groups {
		first := g.items[0]
		var ids []string
		for _, s := range g.items {
			ids = append(ids, fmt.Sprintf("`%s` (%s)", s.ID, s.Level))
		}
		fmt.Fprintf(&b, "- **%s** — %s\n", oneLine(g.reason), strings.Join(ids, ", "))
		var res *Result
		for _, x := range first.Results {
			if x.Status == Fail {
				res = x
				break
			}
		}
		if res == nil {
			continue
		}
		fmt.Fprintf(&b, "  <br>Evidence (`%s`, %s): %s\n", first.ID, res.Cell, oneLine(res.Message))
		if lines := evidence(res.Transcript, evidenceLines); len(lines) > 0 {
			b.WriteString("\n  ```\n")
			for _, l := range lines {
				fmt.Fprintf(&b, "  %s\n", l)
			}
			b.WriteString("  ```\n")
		}
	}
	return b.String()
}

// worst orders groups: MUST failures first.
func worst(items []*ScenarioReport) Level {
	w := MAY
	for _, s := range items {
		if s.Level < w {
			w = s.Level
		}
	}
	return w
}

// evidence keeps the last n transcript lines that are messages or the
// end of a connection, skipping the opening handshake.
func evidence(lines []string, n int) []string {
	var keep []string
	for _, l := range lines {
		if strings.Contains(l, " HELLO [") || strings.Contains(l, " WELCOME [") || strings.Contains(l, "handshake") ||
			strings.Contains(l, "connected") || strings.Contains(l, "closed: abandoned") {
			continue
		}
		if len(l) > 260 {
			l = l[:260] + "…"
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return keep
}
