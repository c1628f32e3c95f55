package scenario

import (
	"fmt"
	"strings"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
)

// Level is a requirement level of the WAMP spec (RFC 2119 keywords).
type Level int

// The requirement levels. Only a failed MUST makes a run fail (without an
// expectations file).
const (
	MUST Level = iota
	SHOULD
	MAY
)

func (l Level) String() string {
	switch l {
	case MUST:
		return "MUST"
	case SHOULD:
		return "SHOULD"
	}
	return "MAY"
}

// MarshalText writes the level as MUST, SHOULD or MAY.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads MUST, SHOULD or MAY.
func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "MUST":
		*l = MUST
	case "SHOULD":
		*l = SHOULD
	case "MAY":
		*l = MAY
	default:
		return fmt.Errorf("scenario: unknown level %q", b)
	}
	return nil
}

// SpecBase is where the WAMP spec's text lives.
const SpecBase = "https://github.com/wamp-proto/wamp-proto/blob/master/rfc/text/"

// Section is a section of the WAMP spec: a file of wamp-proto's
// rfc/text/basic or rfc/text/advanced and a heading in it.
type Section struct {
	// Doc is the file under rfc/text, such as "basic/sessions.md".
	Doc string
	// Heading is the section heading, such as "HELLO".
	Heading string
}

// String is "basic/sessions.md § HELLO".
func (s Section) String() string { return s.Doc + " § " + s.Heading }

// URL links to the section on GitHub.
func (s Section) URL() string { return SpecBase + s.Doc + "#" + anchor(s.Heading) }

// anchor is GitHub's anchor for a Markdown heading.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Scenario is one checked rule of the spec.
type Scenario struct {
	// ID is stable and unique, such as "session.hello.second".
	ID string
	// Title says what a conforming router does.
	Title string
	// Section is where the spec says so.
	Section Section
	// Level is the spec's requirement level for the rule.
	Level Level
	// Feature is the router feature the rule belongs to, as
	// "broker.<feature>" or "dealer.<feature>" of WELCOME.Details.roles;
	// empty for the Basic Profile. A router that does not announce it gets
	// "not announced" instead of a result.
	Feature string
	// Transports limits the scenario to some transports (nil: all).
	Transports []string
	// Serializers limits the scenario to some serializers, by name (nil:
	// all).
	Serializers []string
	// Needs lists what the run must provide: credentials ("ticket",
	// "wampcra", "wampcra-salted", "cryptosign", "anonymous") or
	// "max-message-size". Without them the scenario is skipped.
	Needs []string
	// Exclusive scenarios affect other sessions of the realm (killing
	// sessions by role, counting sessions): they run alone, after the
	// others.
	Exclusive bool
	// Run performs the check. It fails through T.Fatalf.
	Run func(t *T)
	// Breaker is a router double that breaks exactly this rule; the
	// package's tests require the scenario to fail against it.
	Breaker fault.Breaker
}

// Status is the outcome of one scenario in one cell.
type Status string

// Outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	// NotAnnounced: the router does not announce the feature.
	NotAnnounced Status = "not announced"
	// Skipped: the run lacks what the scenario needs (credentials, the
	// router's message size limit), or the router does not offer the cell.
	Skipped Status = "skipped"
)
