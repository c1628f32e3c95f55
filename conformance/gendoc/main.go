// Command gendoc renders conformance reports into docs/CONFORMANCE.md,
// between the generated-section markers.
//
//	go run ./conformance/gendoc -matrix conformance/report.json \
//	    -interop conformance/interop.json -doc docs/CONFORMANCE.md
//
// A report flag left empty, or naming a file that does not exist, leaves
// that section of the document unchanged.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/zabertech/go-izaber-wamp/conformance"
)

func main() {
	matrix := flag.String("matrix", "", "matrix report (JSON) written by TestMatrix")
	self := flag.String("self-matrix", "", "matrix report (JSON) of TestMatrix -self (our router)")
	interop := flag.String("interop", "", "foreign-peer report (JSON) written by TestInterop")
	doc := flag.String("doc", "docs/CONFORMANCE.md", "document to update")
	summary := flag.Bool("summary-only", false, "print the summary, leave the document alone")
	flag.Parse()
	if *summary {
		*doc = ""
	}
	if err := run(*matrix, *self, *interop, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

func readMatrix(path string) (*conformance.MatrixReport, error) {
	if path == "" {
		return nil, nil
	}
	m := new(conformance.MatrixReport)
	if err := conformance.ReadJSON(path, m); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "gendoc: %s not found; its section is unchanged\n", path)
		return nil, nil
	}
	return m, nil
}

func printCounts(m *conformance.MatrixReport) {
	if m == nil {
		return
	}
	what := "matrix against " + m.Router
	c := m.Count()
	fmt.Printf("gendoc: %s: %d cells: %d passed, %d failed; checks %d passed, %d failed, %d n/a\n",
		what, c.Cells, c.CellsPassed, c.CellsFailed, c.ChecksPassed, c.ChecksFailed, c.ChecksNA)
}

func run(matrixPath, selfPath, interopPath, doc string) error {
	m, err := readMatrix(matrixPath)
	if err != nil {
		return err
	}
	self, err := readMatrix(selfPath)
	if err != nil {
		return err
	}
	var in *conformance.InteropReport
	if interopPath != "" {
		in = new(conformance.InteropReport)
		if err := conformance.ReadJSON(interopPath, in); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			fmt.Fprintf(os.Stderr, "gendoc: %s not found; interop section unchanged\n", interopPath)
			in = nil
		}
	}
	if doc != "" {
		if err := conformance.WriteDoc(doc, m, self, in); err != nil {
			return err
		}
	}
	printCounts(m)
	printCounts(self)
	if in != nil {
		pass, fail := 0, 0
		for _, r := range in.Results {
			switch r.Status {
			case conformance.Pass:
				pass++
			case conformance.Fail:
				fail++
			}
		}
		fmt.Printf("gendoc: foreign peers %d scenarios passed, %d failed\n", pass, fail)
	}
	return nil
}
