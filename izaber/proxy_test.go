package izaber_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/session"
)

// freezer is a TCP proxy that can stop forwarding bytes without closing
// anything: a half-open connection, as behind a dead NAT or a hung router.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, u)
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(c, u)
		go f.pipe(u, c)
	}
}

// pipe copies src to dst, holding bytes back while frozen.
func (f *freezer) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for {
			f.mu.Lock()
			frozen := f.frozen
			f.mu.Unlock()
			if !frozen {
				break
			}
			time.Sleep(5 * time.Millisecond)
			if isClosed(src) {
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func isClosed(c net.Conn) bool {
	c.SetReadDeadline(time.Now())
	var b [0]byte
	_, err := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	return err != nil && !strings.Contains(err.Error(), "timeout")
}

func (f *freezer) setFrozen(v bool) {
	f.mu.Lock()
	f.frozen = v
	f.mu.Unlock()
}

// dropFrozen closes the connections opened so far (the ones the client
// has given up on) and thaws the proxy for new ones.
func (f *freezer) thaw() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.frozen = false
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (f *freezer) close() {
	f.ln.Close()
	f.thaw()
	f.wg.Wait()
}

// TestDeadPeerDetected: the connection goes silent without closing; the
// configured ping_interval / heartbeat_timeout notice it, pending calls
// fail, and the client reconnects once the path works again.
func TestDeadPeerDetected(t *testing.T) {
	nr := newRouter(t)
	ctx := context.Background()
	addr := strings.TrimSuffix(strings.TrimPrefix(nr.URL(), "ws://"), "/ws")
	fz := newFreezer(t, addr)
	yaml := strings.Replace(nr.YAML("backend-1"), nr.URL(), "ws://"+fz.ln.Addr().String()+"/ws", 1) +
		"      ping_interval: 0.1\n      heartbeat_timeout: 0.3\n"
	c, err := izaber.Initialize(ctx, izaber.Source{YAML: yaml})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	disconnected := make(chan error, 4)
	c.OnDisconnect(func(err error) { disconnected <- err })
	joined := make(chan struct{}, 4)
	c.OnJoin(func(context.Context, session.Info) { joined <- struct{}{} })
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}

	fz.setFrozen(true)
	start := time.Now()
	_, err = c.Call(ctx, "auth.whoami", nil, nil)
	if err == nil {
		t.Fatal("call through a frozen connection succeeded")
	}
	if !errors.Is(err, session.ErrConnectionLost) {
		t.Errorf("pending call failed with %v, want ErrConnectionLost", err)
	}
	select {
	case <-disconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("dead connection not detected")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("detection took %s with a 0.4s ping budget", el)
	}
	fz.thaw()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnection after the path recovered")
	}
	if me, err := c.WhoAmI(ctx); err != nil || me.AuthID != "backend-1" {
		t.Errorf("after recovery: %v %v", me, err)
	}
}
