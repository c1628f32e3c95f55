// Command storeload measures what a frontend user's metadata writes cost an
// `izaber-wamp router` process: it starts the given router binary with a
// users file and a data directory, logs in as a frontend user over
// WebSocket, stores -values values of -size bytes with my.metadata.set,
// then times -small writes of a 100-byte value, and prints the router's
// resident memory (VmRSS and its peak VmHWM), the data directory's size
// and the write times. It is the before/after harness of issue #13's
// "unbounded stored values" item:
//
//	go build -o /tmp/new ./cmd/izaber-wamp
//	go run ./router/nexus/internal/storeload -router /tmp/new
//	go run ./router/nexus/internal/storeload -router /tmp/new -quotas   # quotas raised: the old workload
//
// Linux only (it reads /proc). It starts one child process and stops it
// before exiting.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router/nexus/internal/routerproc"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

func main() {
	bin := flag.String("router", "", "path of the izaber-wamp binary to measure (required)")
	values := flag.Int("values", 24, "number of large metadata values to store")
	size := flag.Int("size", 8<<20, "size of each large value, in bytes")
	small := flag.Int("small", 20, "number of 100-byte writes to time afterwards")
	quotas := flag.Bool("quotas", false, "raise the users file's quotas so the large values fit (new routers only)")
	flag.Parse()
	if *bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *values, *size, *small, *quotas); err != nil {
		fmt.Fprintln(os.Stderr, "storeload:", err)
		os.Exit(1)
	}
}

func run(bin string, values, size, small int, quotas bool) error {
	dir, err := os.MkdirTemp("", "storeload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	users := "users:\n  - {login: alice, password: alice-pw, role: frontend}\n"
	if quotas {
		users += fmt.Sprintf("quotas:\n  metadata_value_bytes: %d\n  metadata_bytes_per_user: %d\n", size+1024, (values+small+1)*(size+1024))
	}
	usersFile := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(usersFile, []byte(users), 0o600); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rp, err := routerproc.Start(ctx, bin, usersFile, data, "error", os.Stderr)
	if err != nil {
		return err
	}
	defer rp.Stop()
	url := rp.URL

	peer, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		return err
	}
	s, err := session.Join(ctx, peer, session.Config{Realm: "izaber", AuthID: "alice", Auth: []auth.ClientMethod{auth.Ticket("alice-pw")}})
	if err != nil {
		return err
	}
	defer s.Close(context.Background())

	set := func(key string, v string) (time.Duration, error) {
		start := time.Now()
		_, err := s.Call(ctx, "com.izaber.wamp.my.metadata.set", protocol.List{key, v}, nil)
		return time.Since(start), err
	}

	stored := 0
	var bigTimes []time.Duration
	var refusal error
	for i := range values {
		d, err := set(fmt.Sprintf("big.%d", i), randomString(size))
		if err != nil {
			refusal = err
			continue
		}
		stored++
		bigTimes = append(bigTimes, d)
	}
	var smallTimes []time.Duration
	for i := range small {
		d, err := set(fmt.Sprintf("small.%d", i), randomString(100))
		if err != nil {
			return fmt.Errorf("small write: %w", err)
		}
		smallTimes = append(smallTimes, d)
	}
	rss, hwm, err := memory(rp.Pid())
	if err != nil {
		return err
	}
	du, largest, err := dirSize(data)
	if err != nil {
		return err
	}
	fmt.Printf("router:                      %s\n", bin)
	fmt.Printf("large values stored:         %d of %d (%d bytes each)\n", stored, values, size)
	if refusal != nil {
		fmt.Printf("refusal:                     %v\n", refusal)
	}
	if len(bigTimes) > 0 {
		fmt.Printf("large write, median / last:  %v / %v\n", median(bigTimes), bigTimes[len(bigTimes)-1])
	}
	fmt.Printf("100-byte write, median/max:  %v / %v\n", median(smallTimes), slices.Max(smallTimes))
	fmt.Printf("router VmRSS / VmHWM:        %.1f MiB / %.1f MiB\n", float64(rss)/(1<<20), float64(hwm)/(1<<20))
	fmt.Printf("data dir / largest file:     %.1f MiB / %.1f MiB\n", float64(du)/(1<<20), float64(largest)/(1<<20))
	return nil
}

func randomString(n int) string {
	b := make([]byte, (n*3+3)/4)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// memory returns VmRSS and VmHWM of pid in bytes.
func memory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// dirSize returns the bytes used by the files under dir and the largest one.
func dirSize(dir string) (total, largest int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		largest = max(largest, fi.Size())
		return nil
	})
	return total, largest, err
}
