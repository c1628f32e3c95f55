package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabertech/go-izaber-wamp/internal/leaktest"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// checkLeaks fails the test if goroutines started during it are still
// running shortly after all its other cleanups. Call it first in a test (its
// cleanup then runs last) and never in parallel tests.
func checkLeaks(t testing.TB) {
	t.Helper()
	leaktest.Guard(t)
}

// waitParked waits until a goroutine whose stack mentions each of funcs is
// parked (blocked: IO wait, select, chan receive, ...; not running, runnable
// or in a system call). For a test over real sockets this is the signal
// that the code under test has reached a wait, where synctest.Wait cannot
// be used; nothing else signals it, so it polls the goroutine stacks.
// Examples: ("waitWrite", "TestX") is a write blocked on a full socket;
// ("serverHandshake", "waitRead") a handshake waiting for the client.
func waitParked(t testing.TB, funcs ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			_, status, _ := strings.Cut(header, "[")
			if strings.HasPrefix(status, "running") || strings.HasPrefix(status, "runnable") || strings.HasPrefix(status, "syscall") {
				continue
			}
			if !slices.ContainsFunc(funcs, func(f string) bool { return !strings.Contains(g, f) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine parked in %q after 10s:\n%s", funcs, buf[:n])
		}
		time.Sleep(time.Millisecond)
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var allSers = []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}

// testCall is a message that uses every payload value type.
func testCall(id protocol.ID) *protocol.Call {
	return &protocol.Call{
		Request:   id,
		Options:   protocol.Dict{"receive_progress": true},
		Procedure: "com.example.echo",
		Args:      protocol.List{int64(-7), "text", []byte{0, 1, 2, 255}, 1.5, true, nil, protocol.List{"x"}},
		Kwargs:    protocol.Dict{"big": uint64(1) << 63, "nested": protocol.Dict{"k": "v"}},
	}
}

// bigCall is a CALL whose encoding is a little over n bytes.
func bigCall(n int) *protocol.Call {
	return &protocol.Call{Request: 1, Options: protocol.Dict{}, Procedure: "com.example.big", Args: protocol.List{strings.Repeat("a", n)}}
}

// --- TLS material ---------------------------------------------------------

type testPKI struct {
	dir                   string
	caFile                string
	clientCert, clientKey string
	serverCert            tls.Certificate
	pool                  *x509.CertPool
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

// getPKI returns a CA, a server certificate for 127.0.0.1/localhost and a
// client certificate, written as PEM files. Generated once per test binary.
func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = makePKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func makePKI() (*testPKI, error) {
	dir, err := os.MkdirTemp("", "transport-pki")
	if err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "transport test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		return der, key, err
	}
	srvDER, srvKey, err := issue(2, "localhost", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cliDER, cliKey, err := issue(3, "client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	writePEM := func(name, typ string, b []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600)
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	if p.caFile, err = writePEM("ca.pem", "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	if p.clientCert, err = writePEM("client.pem", "CERTIFICATE", cliDER); err != nil {
		return nil, err
	}
	if p.clientKey, err = writePEM("client-key.pem", "PRIVATE KEY", keyDER(cliKey)); err != nil {
		return nil, err
	}
	p.serverCert = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	return p, nil
}

func (p *testPKI) serverTLS(requireClientCert bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.serverCert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.pool
	}
	return c
}

// --- test servers -----------------------------------------------------------

// testServer runs our server side for one scheme and hands accepted peers
// to handle (each on its own goroutine).
type testServer struct {
	url  string
	stop func()
}

// startServer starts a server for scheme. handle runs per accepted peer and
// must return when the peer fails; the server closes the peer afterwards.
func startServer(t testing.TB, scheme string, opts ServerOptions, tlsConf *tls.Config, handle func(Peer)) *testServer {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	stopped := false
	run := func(p Peer) {
		defer wg.Done()
		defer p.Close()
		handle(p)
	}
	start := func(p Peer) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			p.Close()
			return
		}
		wg.Add(1)
		go run(p)
	}
	wait := func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		wg.Wait()
	}
	switch scheme {
	case "ws", "wss":
		h := WebSocketHandler(opts, start)
		srv := httptest.NewUnstartedServer(h)
		if scheme == "wss" {
			srv.TLS = tlsConf
			srv.StartTLS()
		} else {
			srv.Start()
		}
		u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
		ts := &testServer{url: u, stop: func() { srv.Close(); wait() }}
		t.Cleanup(ts.stop)
		return ts
	}
	var l *RawSocketListener
	var err error
	var u string
	switch scheme {
	case "tcp", "tcpip":
		l, err = ListenRawSocket(context.Background(), "tcp", "127.0.0.1:0", opts)
		if err == nil {
			u = scheme + "://" + l.Addr().String()
		}
	case "tcps", "tcpips":
		var nl net.Listener
		nl, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			l, err = NewRawSocketListener(tls.NewListener(nl, tlsConf), opts)
			u = scheme + "://" + nl.Addr().String()
		}
	case "unix":
		dir, derr := os.MkdirTemp("", "ts")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		path := filepath.Join(dir, "s.sock")
		l, err = ListenRawSocket(context.Background(), "unix", path, opts)
		u = "unix://" + path
	default:
		t.Fatalf("unknown scheme %q", scheme)
	}
	if err != nil {
		t.Fatal(err)
	}
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			p, err := l.Accept(context.Background())
			if err != nil {
				return
			}
			start(p)
		}
	}()
	ts := &testServer{url: u, stop: func() { l.Close(); <-acceptDone; wait() }}
	t.Cleanup(ts.stop)
	return ts
}

// echo sends back every message it receives until the peer fails.
func echo(p Peer) {
	ctx := context.Background()
	for {
		m, err := p.Recv(ctx)
		if err != nil {
			if !errors.Is(err, ErrClosed) && errors.Is(err, protocol.ErrInvalidMessage) {
				continue
			}
			return
		}
		if err := p.Send(ctx, m); err != nil {
			return
		}
	}
}

// dialOpts returns client options trusting the test CA.
func dialOpts(t testing.TB, ser protocol.Serializer) DialOptions {
	o := DialOptions{CAFile: getPKI(t).caFile}
	if ser != nil {
		o.Serializers = []protocol.Serializer{ser}
	}
	return o
}

// rawServer listens on loopback TCP and runs fn for the first connection;
// it returns the tcp:// URL.
func rawServer(t testing.TB, fn func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fn(c)
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return "tcp://" + l.Addr().String()
}

// rawAcceptHandshake reads a client hello and answers it with our limit
// exponent l, echoing the serializer.
func rawAcceptHandshake(t testing.TB, c net.Conn, l byte) protocol.Serializer {
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Errorf("read hello: %v", err)
		return nil
	}
	id := b[1] & 0x0F
	if _, err := c.Write([]byte{0x7F, l<<4 | id, 0, 0}); err != nil {
		t.Errorf("write reply: %v", err)
	}
	s, err := protocol.SerializerByRawSocketID(id)
	if err != nil {
		t.Errorf("serializer: %v", err)
	}
	return s
}
