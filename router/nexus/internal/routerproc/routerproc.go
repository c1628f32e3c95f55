// Package routerproc helps the measurement harnesses under
// router/nexus/internal run an `izaber-wamp router` child process.
package routerproc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
)

// Router is a running router child process.
type Router struct {
	// URL is its WebSocket URL.
	URL string
	cmd *exec.Cmd
}

// Start runs `bin router --ws 127.0.0.1:0 --rawsocket "" --users users
// --data data --log-level level`, its standard error going to stderr, and
// waits for its WebSocket URL.
func Start(ctx context.Context, bin, users, data, level string, stderr io.Writer) (*Router, error) {
	cmd := exec.CommandContext(ctx, bin, "router", "--ws", "127.0.0.1:0", "--rawsocket", "",
		"--users", users, "--data", data, "--log-level", level)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &Router{cmd: cmd}
	if r.URL, err = URL(out); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// Pid is the router's process id.
func (r *Router) Pid() int { return r.cmd.Process.Pid }

// Stop kills the router and waits for it.
func (r *Router) Stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// URL reads the router's banner from its standard output and returns its
// WebSocket URL; it keeps draining the output afterwards.
func URL(out io.Reader) (string, error) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "WebSocket: "); ok {
			go func() { // keep draining the banner
				for sc.Scan() {
				}
			}()
			return strings.TrimSpace(u), nil
		}
	}
	return "", errors.New("router exited without printing its WebSocket URL")
}
