// Package routerproc helps the measurement harnesses under
// router/nexus/internal run an `izaber-wamp router` child process.
package routerproc

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

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
