package scenario

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Expectations are the failures known for a router: one line per scenario,
//
//	<scenario id> [@<cell pattern>[,<cell pattern>…]] <reason>
//
// where a cell pattern is "<transport>/<serializer>" with path.Match
// wildcards (default: every cell) and the reason says what the router does
// instead (the evidence is in the report's transcripts). Blank lines and
// lines starting with # are ignored.
//
// Applied to a report, a failure the file lists is expected; a failure it
// does not list, and a pass of a listed scenario in a listed cell (all
// cells when the line names none), are mismatches: a router that fails in
// some cells only needs cell patterns. Not announced and skipped results
// never mismatch.
type Expectations struct {
	Name    string
	entries map[string]expectation
}

type expectation struct {
	cells  []string
	reason string
	line   int
}

// ParseExpectations reads an expectations file; name is used in messages.
func ParseExpectations(name string, r io.Reader) (*Expectations, error) {
	e := &Expectations{Name: name, entries: map[string]expectation{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		ex := expectation{line: n}
		if strings.HasPrefix(rest, "@") {
			var cells string
			cells, rest, _ = strings.Cut(rest[1:], " ")
			rest = strings.TrimSpace(rest)
			for _, p := range strings.Split(cells, ",") {
				if _, err := path.Match(p, "x/y"); err != nil || p == "" {
					return nil, fmt.Errorf("%s:%d: bad cell pattern %q", name, n, p)
				}
				ex.cells = append(ex.cells, p)
			}
		}
		if rest == "" {
			return nil, fmt.Errorf("%s:%d: %s: a reason is required", name, n, id)
		}
		if _, dup := e.entries[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", name, n, id)
		}
		ex.reason = rest
		e.entries[id] = ex
	}
	return e, sc.Err()
}

func (x expectation) matches(cell string) bool {
	if len(x.cells) == 0 {
		return true
	}
	for _, p := range x.cells {
		if ok, _ := path.Match(p, cell); ok {
			return true
		}
	}
	return false
}

// Mismatch is a difference between a report and its expectations.
type Mismatch struct {
	ID   string `json:"id"`
	Cell string `json:"cell,omitempty"`
	// Kind is "unexpected failure", "unexpected pass" or "unknown
	// scenario".
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
}

func (m Mismatch) String() string {
	s := m.Kind + ": " + m.ID
	if m.Cell != "" {
		s += " [" + m.Cell + "]"
	}
	if m.Message != "" {
		s += ": " + m.Message
	}
	return s
}

// Apply marks the expected failures of rep and records every mismatch in
// rep.Mismatches. known reports whether a scenario id exists (entries for
// unknown ids are mismatches; entries for known scenarios the run did not
// include are not).
func (e *Expectations) Apply(rep *Report, known func(id string) bool) {
	rep.Expectations = e.Name
	for _, s := range rep.Scenarios {
		ex, listed := e.entries[s.ID]
		if listed {
			s.Expected = ex.reason
		}
		for _, res := range s.Results {
			expected := listed && ex.matches(res.Cell)
			switch {
			case res.Status == Fail && !expected:
				rep.Mismatches = append(rep.Mismatches, Mismatch{ID: s.ID, Cell: res.Cell, Kind: "unexpected failure", Message: res.Message})
			case res.Status == Pass && expected:
				rep.Mismatches = append(rep.Mismatches, Mismatch{ID: s.ID, Cell: res.Cell, Kind: "unexpected pass",
					Message: fmt.Sprintf("%s:%d expects a failure (%s)", e.Name, ex.line, ex.reason)})
			}
		}
	}
	for id, ex := range e.entries {
		if !known(id) {
			rep.Mismatches = append(rep.Mismatches, Mismatch{ID: id, Kind: "unknown scenario", Message: fmt.Sprintf("%s:%d", e.Name, ex.line)})
		}
	}
}

// Reason returns the expectation's reason for a scenario ("" if none).
func (e *Expectations) Reason(id string) string { return e.entries[id].reason }
