package main

import (
	"context"
	"io"
	"sync"

	"github.com/zabertech/go-izaber-wamp/session"
)

func init() {
	commands["publish"] = command{summary: "publish an event (acknowledged by the router)", run: runPublish}
	commands["subscribe"] = command{summary: "print the events of a topic as JSON lines until Ctrl-C", run: runSubscribe}
}

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := newEnv("publish", stdout, stderr, "publish TOPIC [ARG...] [-k KEY=VALUE...] [flags]", `
Publishes an event to TOPIC (prefixed with uri_base like call) and waits
for the router's acknowledgement, so a refused publication is an error.
The publisher's own subscriptions do not receive it unless --me is given.

`+valueHelp+`

examples:
  izaber-wamp publish test.sub '{"Hello": "World!"}'
  izaber-wamp publish chat.room1 "hello there" -k from=alice
  izaber-wamp publish --no-ack sensors.temp 21.5`)
	var kw kwargsFlag
	e.conn.register(e.fs)
	e.fs.Var(&kw, "k", "keyword argument KEY=VALUE (repeatable)")
	asString := e.fs.Bool("s", false, "take every ARG and VALUE as a string, never as JSON")
	noAck := e.fs.Bool("no-ack", false, "do not wait for the router's acknowledgement")
	me := e.fs.Bool("me", false, "deliver to this session's own subscriptions too (exclude_me=false)")
	pos, rest, _, code, ok := e.parse(args)
	if !ok {
		return code
	}
	pos = append(pos, rest...)
	if len(pos) == 0 {
		return e.usageErr("missing TOPIC")
	}
	c, code := e.connect(ctx, false)
	if c == nil {
		return code
	}
	defer e.close(c)
	opts := e.uriOpts()
	if *noAck {
		opts = append(opts, session.Acknowledge(false))
	}
	if *me {
		opts = append(opts, session.ExcludeMe(false))
	}
	if err := c.Publish(ctx, pos[0], parseArgs(pos[1:], *asString), kw.dict(*asString), opts...); err != nil {
		return e.requestErr(ctx, err)
	}
	return exitOK
}

func runSubscribe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := newEnv("subscribe", stdout, stderr, "subscribe TOPIC [flags]", `
Subscribes to TOPIC (prefixed with uri_base like call) and prints one JSON
line per event, {"topic", "args", "kwargs", "details"}, until Ctrl-C (which
leaves the session with GOODBYE) or until --count events arrived. Output
is always one line per event, whatever the terminal. The subscription is
restored after a reconnection.

examples:
  izaber-wamp subscribe test.sub
  izaber-wamp subscribe --match prefix chat.
  izaber-wamp subscribe --match wildcard sensors..temp
  izaber-wamp subscribe --count 1 jobs.done | jq .args`)
	e.conn.register(e.fs)
	match := e.fs.String("match", "exact", "match policy: exact, prefix or wildcard")
	count := e.fs.Int("count", 0, "exit after this many events (0: run until Ctrl-C)")
	pos, rest, _, code, ok := e.parse(args)
	if !ok {
		return code
	}
	pos = append(pos, rest...)
	switch {
	case len(pos) == 0:
		return e.usageErr("missing TOPIC")
	case len(pos) > 1:
		return e.usageErr("unexpected arguments after TOPIC: %q", pos[1:])
	case *count < 0:
		return e.usageErr("--count must not be negative")
	}
	switch *match {
	case "exact", "prefix", "wildcard":
	default:
		return e.usageErr("--match must be exact, prefix or wildcard, not %q", *match)
	}
	c, code := e.connect(ctx, true)
	if c == nil {
		return code
	}
	defer e.close(c)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex // stdout and n
		n      int
		failed error
	)
	handler := func(ev *session.Event) {
		mu.Lock()
		defer mu.Unlock()
		if *count > 0 && n >= *count {
			return
		}
		rec := map[string]any{"topic": ev.Topic, "args": nonNilList(ev.Args), "kwargs": nonNilDict(ev.Kwargs), "details": nonNilDict(ev.Details)}
		if err := writeJSON(stdout, rec, false); err != nil {
			failed = err // stdout closed (e.g. head): stop
			cancel()
			return
		}
		n++
		if *count > 0 && n >= *count {
			cancel()
		}
	}
	opts := e.uriOpts()
	if *match != "exact" {
		opts = append(opts, session.Match(*match))
	}
	if _, err := c.Subscribe(ctx, pos[0], handler, opts...); err != nil {
		return e.requestErr(ctx, err)
	}
	// On stderr, so that stdout stays pure JSON lines; scripts may wait for it.
	e.errorf(0, "subscribed to %s; Ctrl-C to stop", e.uri(c, pos[0]))
	code = e.hold(ctx, c, 0)
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		return e.errorf(exitWAMPError, "writing output: %v", failed)
	}
	return code // Ctrl-C is the normal way to stop
}
