package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// T is what a scenario's Run gets: the cell it runs in, connections to the
// router, and the transcript of everything exchanged. Fatalf and Skipf end
// the scenario (they must be called from the scenario's goroutine).
type T struct {
	ctx    context.Context
	sc     *Scenario
	cell   Cell
	run    *runner
	prefix string
	start  time.Time

	mu      sync.Mutex // guards the fields below
	lines   []string
	conns   []*Conn
	status  Status
	message string
}

// errStop is the panic value of Fatalf/Skipf, recovered by the runner.
var errStop = errors.New("scenario stopped")

// Context ends when the scenario's time is up.
func (t *T) Context() context.Context { return t.ctx }

// Cell is the transport and serializer the scenario runs over.
func (t *T) Cell() Cell { return t.cell }

// Realm is the realm under test.
func (t *T) Realm() string { return t.run.cfg.Realm }

// Fatalf fails the scenario with a message saying what the router did
// wrong, and ends it.
func (t *T) Fatalf(format string, args ...any) { t.end(Fail, format, args...) }

// Skipf ends the scenario as not applicable.
func (t *T) Skipf(format string, args ...any) { t.end(Skipped, format, args...) }

// end ends the scenario with status and a message, unless it has one.
func (t *T) end(status Status, format string, args ...any) {
	t.mu.Lock()
	if t.status == "" {
		t.status = status
		t.message = fmt.Sprintf(format, args...)
	}
	t.mu.Unlock()
	runtime.Goexit()
}

// Logf adds a line to the transcript.
func (t *T) Logf(format string, args ...any) {
	t.line("    " + fmt.Sprintf(format, args...))
}

func (t *T) line(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) < maxTranscript {
		t.lines = append(t.lines, fmt.Sprintf("%6.1fms %s", float64(time.Since(t.start).Microseconds())/1000, s))
	} else if len(t.lines) == maxTranscript {
		t.lines = append(t.lines, "… transcript cut")
	}
}

// maxTranscript bounds the lines kept per scenario run.
const maxTranscript = 400

// URI returns a URI under this run's unique prefix: t.URI("a.b") is
// "<prefix>.a.b".
func (t *T) URI(suffix string) string {
	if suffix == "" {
		return t.prefix
	}
	return t.prefix + "." + suffix
}

// Announced reports whether the router announced "role.feature" in the
// cell's WELCOME.
func (t *T) Announced(feature string) bool { return t.run.announced(t.cell, feature) }

// RouterRoles is WELCOME.Details.roles of the cell's probe session.
func (t *T) RouterRoles() protocol.Dict { return t.run.cells[t.cell].roles }

// MaxMessageSize is the router's message size limit given in the Config,
// or 0 when unknown.
func (t *T) MaxMessageSize() int { return t.run.cfg.MaxMessageSize }

// Timeout is the time one expected message may take.
func (t *T) Timeout() time.Duration { return t.run.cfg.MessageTimeout }

func randomToken() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Conn is a connection of a scenario, named A, B, C… in the transcript.
type Conn struct {
	*wire.Conn
	t    *T
	name string
}

// DialOptions bends a connection's handshake; the zero value asks for the
// cell's serializer the normal way.
type DialOptions = wire.Options

// TryDial connects with o (its Serializer defaults to the cell's) and
// returns the handshake error instead of failing.
func (t *T) TryDial(o DialOptions) (*Conn, error) {
	t.mu.Lock()
	name := string(rune('A' + len(t.conns)%26))
	if len(t.conns) >= 26 {
		name += fmt.Sprint(len(t.conns) / 26)
	}
	t.mu.Unlock()
	if o.Serializer == nil && o.Handshake == nil && o.Subprotocols == nil {
		o.Serializer = t.cell.Serializer
	}
	var c *Conn
	ser := o.Serializer
	o.Observer = func(e wire.Event) {
		switch e.Dir {
		case wire.Note:
			t.line(name + " ·  " + e.Text)
		case wire.Sent:
			t.line(name + " →  " + wire.Describe(ser, t.cell.Endpoint.Transport, e.Frame))
		case wire.Received:
			t.line(name + " ←  " + wire.Describe(ser, t.cell.Endpoint.Transport, e.Frame))
		}
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.Timeout())
	defer cancel()
	wc, err := wire.Dial(ctx, t.cell.Endpoint, o)
	if err != nil {
		return nil, err
	}
	ser = wc.Serializer()
	c = &Conn{Conn: wc, t: t, name: name}
	t.mu.Lock()
	t.conns = append(t.conns, c)
	t.mu.Unlock()
	return c, nil
}

// Dial connects with the cell's serializer; a failure fails the scenario.
func (t *T) Dial() *Conn {
	c, err := t.TryDial(DialOptions{})
	if err != nil {
		t.Fatalf("cannot connect: %v", err)
	}
	return c
}

// Name is the connection's name in the transcript.
func (c *Conn) Name() string { return c.name }

// Send sends m; a failure to send fails the scenario.
func (c *Conn) Send(m protocol.Message) {
	if err := c.Conn.Send(c.t.ctx, m); err != nil {
		c.t.Fatalf("%s: cannot send %s: %v", c.name, m.Code(), err)
	}
}

// TrySend sends m and ignores a failure (the router may have closed the
// connection already).
func (c *Conn) TrySend(m protocol.Message) { c.Conn.Send(c.t.ctx, m) }

// SendList sends a generic list, valid WAMP or not.
func (c *Conn) SendList(l ...any) {
	if err := c.Conn.SendList(c.t.ctx, l); err != nil {
		c.t.Fatalf("%s: cannot send %v: %v", c.name, l, err)
	}
}

// SendPayload sends raw bytes as one message frame.
func (c *Conn) SendPayload(b []byte) {
	if err := c.Conn.SendPayload(c.t.ctx, b); err != nil {
		c.t.Fatalf("%s: cannot send: %v", c.name, err)
	}
}

// NextFrame returns the next frame, or nil and the *wire.ClosedError when
// the connection ended, or nil and a context error when none came within
// the message timeout.
func (c *Conn) NextFrame() (*wire.Frame, error) {
	ctx, cancel := context.WithTimeout(c.t.ctx, c.t.Timeout())
	defer cancel()
	return c.Recv(ctx)
}

// Next returns the next message; the connection ending, a timeout or an
// undecodable message fails the scenario.
func (c *Conn) Next(what string) protocol.Message {
	f, err := c.NextFrame()
	if err != nil {
		c.t.Fatalf("%s: waiting for %s: %s", c.name, what, waitError(err, c.t.Timeout()))
	}
	if f.Msg == nil {
		c.t.Fatalf("%s: waiting for %s, the router sent an invalid message: %s", c.name, what, c.Describe(f))
	}
	return f.Msg
}

func waitError(err error, d time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("nothing came within %v", d)
	}
	var ce *wire.ClosedError
	if errors.As(err, &ce) {
		return "the connection ended (" + ce.Error() + ")"
	}
	return err.Error()
}

// describe renders a message for a failure text.
func describe(m protocol.Message) string {
	if m == nil {
		return "nothing"
	}
	return m.Code().String() + " " + wire.Format(protocol.ToList(m))
}

// quietTime is how long Quiet listens. It only bounds how long a late
// message is looked for: a conforming router sends nothing, whatever the
// time.
const quietTime = 500 * time.Millisecond

// Quiet returns the next frame if one arrives within a short time (or is
// already there), else nil. Only for checking that something does NOT
// come where no round trip can prove it.
func (c *Conn) Quiet() *wire.Frame { return c.QuietFor(quietTime) }

// QuietFor is Quiet listening for d.
func (c *Conn) QuietFor(d time.Duration) *wire.Frame {
	ctx, cancel := context.WithTimeout(c.t.ctx, d)
	defer cancel()
	f, err := c.Recv(ctx)
	if err != nil {
		return nil
	}
	return f
}

// ExpectClosed waits for the router to close the connection; messages
// before the close are allowed only if allow accepts them.
func (c *Conn) ExpectClosed(what string, allow func(protocol.Message) bool) {
	for {
		f, err := c.NextFrame()
		if err == nil {
			if f.Msg != nil && allow != nil && allow(f.Msg) {
				continue
			}
			c.t.Fatalf("%s: %s; instead the router sent %s", c.name, what, c.Describe(f))
		}
		if errors.Is(err, wire.ErrClosed) {
			return
		}
		c.t.Fatalf("%s: %s; %s", c.name, what, waitError(err, c.t.Timeout()))
	}
}

// cells is the cell a T runs in, for messages.
func (c Cell) String() string { return c.Endpoint.Transport + "/" + c.Serializer.Name() }

// transcript returns a copy of the transcript lines.
func (t *T) transcript() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// closeAll closes every connection of the scenario.
func (t *T) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Abandon()
		}()
	}
	wg.Wait()
}

// oneLine squeezes whitespace.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
