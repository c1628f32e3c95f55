package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/router"
	"github.com/zabertech/go-izaber-wamp/session"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// The realm and procedure every scenario uses.
const (
	benchRealm     = "realm1"
	benchProcedure = "bench.echo"
	benchTopic     = "bench.fanout"
)

// routerReady is the router process's READY line.
type routerReady struct {
	WebSocket string `json:"ws"`    // ws:// URL of the WAMP endpoint
	RawSocket string `json:"raw"`   // tcp:// URL of the RawSocket endpoint
	Stats     string `json:"stats"` // http:// URL answering routerStats
}

// routerStats is what the router process's stats endpoint answers: the Go
// runtime's view of the process (RSS comes from /proc, read by the
// orchestrator). With ?gc=1 the process collects garbage and returns freed
// memory to the OS first.
type routerStats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
}

// runRouter is the router process: our router with defaults, one anonymous
// realm, WebSocket and RawSocket on loopback, and a stats endpoint.
func runRouter(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("router", flag.ExitOnError)
	fs.Parse(args)
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: benchRealm}}})
	if err != nil {
		return err
	}
	raw, err := r.ListenRawSocket(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go r.ServeRawSocket(raw)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r.WebSocketHandler())
	mux.HandleFunc("/stats", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Get("gc") == "1" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(routerStats{
			Goroutines: runtime.NumGoroutine(),
			HeapInuse:  ms.HeapInuse,
			StackInuse: ms.StackInuse,
		})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	ready(routerReady{
		WebSocket: "ws://" + ln.Addr().String() + "/ws",
		RawSocket: "tcp://" + raw.Addr().String(),
		Stats:     "http://" + ln.Addr().String() + "/stats",
	})
	<-ctx.Done()
	// Sessions are the clients' to end; the router process just goes.
	cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r.Close(cctx)
	return nil
}

// join dials url with serializer ser and joins the bench realm
// anonymously, with every other setting at its default.
func join(ctx context.Context, url string, ser protocol.Serializer) (*session.Session, error) {
	p, err := transport.Dial(ctx, url, transport.DialOptions{Serializers: []protocol.Serializer{ser}})
	if err != nil {
		return nil, err
	}
	s, err := session.Join(ctx, p, session.Config{Realm: benchRealm})
	if err != nil {
		p.Close()
		return nil, err
	}
	return s, nil
}

func serializerFlag(fs *flag.FlagSet) *string {
	return fs.String("serializer", "json", "json, msgpack or cbor")
}

// runCallee is the callee process: one session registering benchProcedure,
// which answers with the arguments it got.
func runCallee(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("callee", flag.ExitOnError)
	url := fs.String("url", "", "router URL")
	serName := serializerFlag(fs)
	fs.Parse(args)
	ser, err := protocol.SerializerByName(*serName)
	if err != nil {
		return err
	}
	jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := join(jctx, *url, ser)
	if err != nil {
		return err
	}
	_, err = s.Register(jctx, benchProcedure, func(_ context.Context, inv *session.Invocation) (*session.Result, error) {
		return &session.Result{Args: inv.Args}, nil
	})
	if err != nil {
		return err
	}
	ready(struct{}{})
	select {
	case <-ctx.Done():
	case <-s.Done():
		return fmt.Errorf("session ended: %v", s.Err())
	}
	cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
	defer ccancel()
	s.Close(cctx)
	return nil
}

// idleReady is the idle process's READY line.
type idleReady struct {
	Joined     int    `json:"joined"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
}

// runIdle is the idle-sessions process: it joins -n sessions, -parallel at
// a time, reports, and then holds them without a word until it is told to
// stop.
func runIdle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	url := fs.String("url", "", "router URL")
	n := fs.Int("n", 10000, "sessions to join")
	parallel := fs.Int("parallel", 32, "joins in progress at once")
	serName := serializerFlag(fs)
	fs.Parse(args)
	ser, err := protocol.SerializerByName(*serName)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		sessions []*session.Session
		failed   int
		firstErr error
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range *parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*n) && ctx.Err() == nil {
				jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				s, err := join(jctx, *url, ser)
				cancel()
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					sessions = append(sessions, s)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rd := idleReady{Joined: len(sessions), Failed: failed}
	if firstErr != nil {
		rd.FirstError = firstErr.Error()
	}
	ready(rd)
	<-ctx.Done()
	return nil
}

// echoReady and relayReady are the READY lines of the floor's processes.
type echoReady struct {
	URL string `json:"url"`
}

// serveWS serves h on a loopback port and returns its ws:// URL.
func serveWS(h http.HandlerFunc) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "ws://" + ln.Addr().String() + "/", nil
}

// runEcho is the floor's service: a bare coder/websocket server writing
// back every message it reads.
func runEcho(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	fs.Parse(args)
	url, err := serveWS(func(w http.ResponseWriter, req *http.Request) {
		c, err := websocket.Accept(w, req, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, b); err != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	ready(echoReady{URL: url})
	<-ctx.Done()
	return nil
}

// runRelay is the floor's middle hop: for each client it dials -upstream
// and copies messages both ways, one goroutine per direction, as a bare
// coder/websocket program would.
func runRelay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	upstream := fs.String("upstream", "", "ws:// URL of the echo service")
	fs.Parse(args)
	if *upstream == "" {
		return errors.New("-upstream is required")
	}
	pump := func(dst, src *websocket.Conn) {
		for {
			typ, b, err := src.Read(ctx)
			if err != nil {
				return
			}
			if err := dst.Write(ctx, typ, b); err != nil {
				return
			}
		}
	}
	url, err := serveWS(func(w http.ResponseWriter, req *http.Request) {
		c, err := websocket.Accept(w, req, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		u, _, err := websocket.Dial(ctx, *upstream, nil)
		if err != nil {
			c.Close(websocket.StatusInternalError, "upstream")
			return
		}
		defer u.CloseNow()
		go func() {
			pump(u, c)
			u.CloseNow()
			c.CloseNow()
		}()
		pump(c, u)
	})
	if err != nil {
		return err
	}
	ready(echoReady{URL: url})
	<-ctx.Done()
	return nil
}
