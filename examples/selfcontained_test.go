// Package examples holds example programs (quickstart, script) and this
// test, which keeps every package's Examples self-contained.
package examples

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// universe lists Go's predeclared identifiers.
var universe = strings.Fields(`any bool byte comparable complex64 complex128 error float32 float64
	int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr
	true false iota nil append cap clear close complex copy delete imag len make max min
	new panic print println real recover`)

// TestExamplesSelfContained checks that every example file of the module
// uses only what it declares, its imports and Go's predeclared names: no
// helper of another test file, so that any Example can be pasted into a
// program as it is.
func TestExamplesSelfContained(t *testing.T) {
	root := ".."
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), "\nfunc Example") {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d example files: %v", len(files), files)
	}
	for _, p := range files {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(f.Name.Name, "_test") {
			t.Errorf("%s: package %s: examples belong in the external test package, where only exported names are visible", p, f.Name.Name)
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && !strings.HasPrefix(fd.Name.Name, "Example") && strings.HasSuffix(p, "example_test.go") {
				t.Errorf("%s declares the helper %s: put it inside the Examples that use it", p, fd.Name.Name)
			}
		}
		declared := map[string]bool{}
		for _, imp := range f.Imports {
			name := ""
			if imp.Name != nil {
				name = imp.Name.Name
			} else {
				ip, _ := strconv.Unquote(imp.Path.Value)
				name = path.Base(ip)
				if strings.HasPrefix(name, "v") && strings.Contains(ip, "/") { // .../msgpack/v5
					name = path.Base(path.Dir(ip))
				}
			}
			declared[name] = true
		}
		for _, id := range unresolved(fset, p) {
			if !declared[id] && !slices.Contains(universe, id) {
				t.Errorf("%s uses %s, which it does not declare or import: an Example must be self-contained", p, id)
			}
		}
	}
}

// unresolved returns the identifiers of the file at p that its own
// declarations do not resolve, as the parser's old object resolution
// reports them.
func unresolved(fset *token.FileSet, p string) []string {
	f, err := parser.ParseFile(fset, p, nil, 0)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range f.Unresolved { //nolint:staticcheck // the file-scope resolution is what we need
		if !seen[id.Name] {
			seen[id.Name] = true
			out = append(out, id.Name)
		}
	}
	return out
}
