package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/izaber/izabertest"
)

// TestScript runs the program, with its izaber.yaml pointed at the
// embedded router, as a user runs it in the directory of the file.
func TestScript(t *testing.T) {
	leaktest.Guard(t)
	nx, err := izabertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer nx.Close()
	yaml, err := os.ReadFile("izaber.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mine := strings.NewReplacer("wss://nexus.izaber.com/ws", nx.URL(), "USERNAME", "backend-1",
		"PASSWORD", nx.Password("backend-1")).Replace(string(yaml))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "izaber.yaml"), []byte(mine), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("HOME", dir)
	for _, v := range []string{izaber.EnvYAML, izaber.EnvEnvironment, izaber.EnvURL, izaber.EnvUser, izaber.EnvPassword,
		izaber.EnvRealm, izaber.EnvSerializer, izaber.EnvURIBase} {
		t.Setenv(v, "")
	}

	out := captureStdout(t, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := run(ctx); err != nil {
			t.Error(err)
		}
	})
	want := "logged in as backend-1 (role backend)\n(2 + 3) * 10 = 50\nnews: hello\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func captureStdout(t *testing.T, f func()) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, r)
		done <- b.String()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	return <-done
}

// TestREADME keeps the README's "A script in Go" equal to this program
// and its izaber.yaml.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## A script in Go\n")
	if !ok {
		t.Fatal(`README has no "## A script in Go" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, f := range []struct{ file, lang string }{{"izaber.yaml", "yaml"}, {"main.go", "go"}} {
		want, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(section, "```"+f.lang+"\n"+string(want)+"```\n") {
			t.Errorf("README's \"A script in Go\" does not show examples/script/%s as it is", f.file)
		}
	}
}
