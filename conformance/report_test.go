package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *MatrixReport {
	return &MatrixReport{
		Router:   "test router",
		Started:  time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Seconds:  12,
		Checks:   []string{"join", "bad_password"},
		Complete: true,
		Cells: []Cell{
			{Transport: "websocket", Serializer: "json", Auth: "anonymous", Checks: map[string]CheckResult{
				"join": {Status: Pass}, "bad_password": {Status: NotApplicable, Note: "anonymous has no password"}}},
			{Transport: "websocket", Serializer: "json", Auth: "ticket", Checks: map[string]CheckResult{
				"join": {Status: Fail, Detail: "boom | pipe"}, "bad_password": {Status: Pass}}},
			{Transport: "websocket", Serializer: "cbor", Auth: "ticket", Checks: map[string]CheckResult{
				"join": {Status: NotApplicable}, "bad_password": {Status: NotApplicable}}},
		},
	}
}

func TestCount(t *testing.T) {
	c := sampleReport().Count()
	want := Counts{Cells: 3, CellsPassed: 1, CellsFailed: 2, Checks: 6, ChecksPassed: 2, ChecksFailed: 1, ChecksNA: 3}
	if c != want {
		t.Fatalf("Count = %+v, want %+v", c, want)
	}
}

func TestRenderMatrix(t *testing.T) {
	out := RenderMatrix(sampleReport())
	for _, want := range []string{
		"**3 cells: 1 passed, 2 failed.**",
		"| websocket | json | anonymous | pass | n/a |",
		"| websocket | json | ticket | **FAIL** | pass |",
		"FAIL join: boom | pipe (websocket/json/ticket)",
		"bad_password: anonymous has no password (websocket/json/anonymous)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered matrix lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "# title\n" + MatrixBegin + "\nold matrix\n" + MatrixEnd + "\nmiddle\n" + SelfBegin + "\nold self\n" + SelfEnd + "\n" + InteropBegin + "\nold interop\n" + InteropEnd + "\ntail\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &InteropReport{Router: "r", Results: []InteropResult{{Peer: "autobahn-js", Scenario: "call", Status: Pass}}}
	if err := WriteDoc(path, sampleReport(), sampleReport(), in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "old matrix") || strings.Contains(got, "old self") || strings.Contains(got, "old interop") {
		t.Errorf("old sections kept:\n%s", got)
	}
	for _, want := range []string{"# title\n", "\nmiddle\n", "\ntail\n", "| autobahn-js | call | pass |  |", "| websocket | cbor | ticket | n/a | n/a |"} {
		if !strings.Contains(got, want) {
			t.Errorf("document lacks %q:\n%s", want, got)
		}
	}
	// Idempotent: a second run gives the same document.
	if err := WriteDoc(path, sampleReport(), sampleReport(), in); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path)
	if string(b2) != got {
		t.Error("second WriteDoc changed the document")
	}
	// Missing markers are an error, not a silent no-op.
	if _, err := ReplaceBetween([]byte("no markers"), MatrixBegin, MatrixEnd, "x"); err == nil {
		t.Error("ReplaceBetween without markers succeeded")
	}
}
