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

	"github.com/izaber/wamp/conformance"
)

func main() {
	matrix := flag.String("matrix", "", "matrix report (JSON) written by TestMatrix")
	interop := flag.String("interop", "", "foreign-peer report (JSON) written by TestInterop")
	doc := flag.String("doc", "docs/CONFORMANCE.md", "document to update")
	summary := flag.Bool("summary-only", false, "print the summary, leave the document alone")
	flag.Parse()
	if *summary {
		*doc = ""
	}
	if err := run(*matrix, *interop, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

func run(matrixPath, interopPath, doc string) error {
	var m *conformance.MatrixReport
	if matrixPath != "" {
		m = new(conformance.MatrixReport)
		if err := conformance.ReadJSON(matrixPath, m); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			fmt.Fprintf(os.Stderr, "gendoc: %s not found; matrix section unchanged\n", matrixPath)
			m = nil
		}
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
		if err := conformance.WriteDoc(doc, m, in); err != nil {
			return err
		}
	}
	if m != nil {
		c := m.Count()
		fmt.Printf("gendoc: matrix %d cells: %d passed, %d failed; checks %d passed, %d failed, %d n/a\n",
			c.Cells, c.CellsPassed, c.CellsFailed, c.ChecksPassed, c.ChecksFailed, c.ChecksNA)
	}
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
