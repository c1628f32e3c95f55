package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// child is a process started by the orchestrator: this same executable in
// another role. It ends when its stdin is closed.
type child struct {
	role  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has exited
}

// startChild starts this executable as role with args, waits for its READY
// line (at most timeout) and decodes the line's JSON into v (nil: ignore).
// The child's stderr goes to ours, prefixed with its role.
func startChild(ctx context.Context, timeout time.Duration, v any, role string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{role}, args...)...)
	cmd.Env = append(os.Environ(), childEnv...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{role: role, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go prefixLines(os.Stderr, stderr, "["+role+"] ")
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				lines <- line
				break
			}
			fmt.Fprintf(os.Stderr, "[%s] %s\n", role, sc.Text())
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			c.stop()
			return nil, fmt.Errorf("%s exited before it was ready", role)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(line), v); err != nil {
				c.stop()
				return nil, fmt.Errorf("%s: bad READY line %q: %v", role, line, err)
			}
		}
		return c, nil
	case <-t.C:
		c.stop()
		return nil, fmt.Errorf("%s not ready after %v", role, timeout)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// childEnv is added to every child's environment (-gomaxprocs).
var childEnv []string

func prefixLines(w io.Writer, r io.Reader, prefix string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintf(w, "%s%s\n", prefix, sc.Text())
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// command sends the child one command line (see childCommands).
func (c *child) command(line string) error {
	_, err := io.WriteString(c.stdin, line+"\n")
	return err
}

// stop closes the child's stdin, which tells it to exit, and kills it if it
// has not within a second. It returns once the process is gone.
func (c *child) stop() {
	c.stdin.Close()
	select {
	case <-c.done:
		return
	case <-time.After(time.Second):
	}
	c.cmd.Process.Kill()
	<-c.done
}

// procSample is what the orchestrator reads of a process from /proc.
type procSample struct {
	at      time.Time
	syscw   int64         // write-like system calls so far (/proc/PID/io)
	cpu     time.Duration // user + system CPU time so far (/proc/PID/stat)
	rssKB   int64         // resident set size (/proc/PID/status VmRSS)
	threads int64         // OS threads (/proc/PID/status Threads)
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times; 100 on every
// Linux architecture Go supports.
const clockTick = 100

func sample(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return s, err
	}
	if s.syscw, err = procField(string(io), "syscw:"); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	if s.rssKB, err = procField(string(status), "VmRSS:"); err != nil {
		return s, err
	}
	if s.threads, err = procField(string(status), "Threads:"); err != nil {
		return s, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// plain. utime and stime are fields 14 and 15.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, err
	}
	s.cpu = time.Duration(utime+stime) * time.Second / clockTick
	return s, nil
}

// procField returns the integer after name in a /proc key: value file.
func procField(text, name string) (int64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc", name)
}

// getStats asks the router process for its runtime figures.
func getStats(ctx context.Context, url string, gc bool) (routerStats, error) {
	var st routerStats
	if gc {
		url += "?gc=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	req.Close = true // leave no keep-alive connection (and goroutine) behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}
