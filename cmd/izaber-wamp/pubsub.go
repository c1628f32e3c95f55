package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

func newPublishCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "publish TOPIC [ARG...]",
		Short:   "publish an event (acknowledged by the router)",
		GroupID: groupWAMP,
		Long: `Publishes an event to TOPIC (prefixed with uri_base like call) and waits
for the router's acknowledgement, so a refused publication is an error.
The publisher's own subscriptions do not receive it unless --me is given.

` + valueHelp,
		Example: `  izaber-wamp publish test.sub '{"Hello": "World!"}'
  izaber-wamp publish chat.room1 "hello there" -k from=alice
  izaber-wamp publish --no-ack sensors.temp 21.5`,
		Annotations: map[string]string{annotationTakesValues: "yes"},
	}
	e := a.client(cmd)
	var p payloadFlags
	p.register(cmd)
	opts := optionFlag(cmd, "PUBLISH")
	noAck := cmd.Flags().Bool("no-ack", false, "do not wait for the router's acknowledgement")
	me := cmd.Flags().Bool("me", false, "deliver to this session's own subscriptions too (exclude_me=false)")
	cmd.RunE = e.runE(func(ctx context.Context, pos []string) int {
		if len(pos) == 0 {
			return e.usageErr("missing TOPIC")
		}
		args, kwargs, err := p.payload(pos[1:], a.stdin)
		if err != nil {
			return e.usageErr("%v", err)
		}
		return e.runPublish(ctx, pos[0], args, kwargs, wampOptions(opts), *noAck, *me)
	})
	return cmd
}

func (e *env) runPublish(ctx context.Context, topic string, pargs protocol.List, pkw protocol.Dict, pubOpts []session.Option, noAck, me bool) int {
	c, code := e.connect(ctx, false)
	if c == nil {
		return code
	}
	defer e.close(c)
	opts := append(e.uriOpts(), pubOpts...)
	if noAck {
		opts = append(opts, session.Acknowledge(false))
	}
	if me {
		opts = append(opts, session.ExcludeMe(false))
	}
	if err := c.Publish(ctx, topic, pargs, pkw, opts...); err != nil {
		return e.requestErr(ctx, err)
	}
	return exitOK
}

func newSubscribeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "subscribe TOPIC",
		Short:   "print the events of a topic as JSON lines until Ctrl-C",
		GroupID: groupWAMP,
		Long: `Subscribes to TOPIC (prefixed with uri_base like call) and prints one JSON
line per event, {"topic", "args", "kwargs", "details"}, until Ctrl-C (which
leaves the session with GOODBYE) or until --count events arrived. Output
is always one line per event, whatever the terminal. The subscription is
restored after a reconnection.`,
		Example: `  izaber-wamp subscribe test.sub
  izaber-wamp subscribe --match prefix chat.
  izaber-wamp subscribe --match wildcard sensors..temp
  izaber-wamp subscribe --count 1 jobs.done | jq .args`,
	}
	e := a.client(cmd, "timeout") // --timeout is the subscription's own
	match := matchFlag(cmd)
	count := cmd.Flags().Int("count", 0, "exit after this many events (0: run until Ctrl-C)")
	timeout := cmd.Flags().Duration("timeout", 0, "exit after `DURATION` (0: run until Ctrl-C); with --count, fewer events by then exit 1")
	opts := optionFlag(cmd, "SUBSCRIBE")
	cmd.RunE = e.runE(func(ctx context.Context, pos []string) int {
		switch {
		case len(pos) == 0:
			return e.usageErr("missing TOPIC")
		case len(pos) > 1:
			return e.usageErr("unexpected arguments after TOPIC: %q", pos[1:])
		case *count < 0:
			return e.usageErr("--count must not be negative")
		case *timeout < 0:
			return e.usageErr("--timeout must not be negative")
		}
		if err := checkMatch(*match); err != nil {
			return e.usageErr("%v", err)
		}
		return e.runSubscribe(ctx, pos[0], *match, *count, *timeout, wampOptions(opts))
	})
	return cmd
}

func (e *env) runSubscribe(ctx context.Context, topic, match string, count int, timeout time.Duration, subOpts []session.Option) int {
	c, code := e.connect(ctx, true)
	if c == nil {
		return code
	}
	defer e.close(c)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu     sync.Mutex // stdout and n
		n      int
		failed error
	)
	handler := func(ev *session.Event) {
		mu.Lock()
		defer mu.Unlock()
		if count > 0 && n >= count {
			return
		}
		rec := map[string]any{"topic": ev.Topic, "args": nonNilList(ev.Args), "kwargs": nonNilDict(ev.Kwargs), "details": nonNilDict(ev.Details)}
		if err := writeJSON(e.stdout, rec, false); err != nil {
			failed = err // stdout closed (e.g. head): stop
			cancel(errFinished)
			return
		}
		n++
		if count > 0 && n >= count {
			cancel(errFinished)
		}
	}
	opts := e.uriOpts()
	if match != "exact" {
		opts = append(opts, session.Match(match))
	}
	opts = append(opts, subOpts...)
	if _, err := c.Subscribe(ctx, topic, handler, opts...); err != nil {
		return e.requestErr(ctx, err)
	}
	// On stderr, so that stdout stays pure JSON lines; scripts may wait for it.
	e.errorf(0, "subscribed to %s; Ctrl-C to stop", e.uri(c, topic))
	code = e.hold(ctx, c, timeout)
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		return e.errorf(exitWAMPError, "writing output: %v", failed)
	}
	if code == exitOK && count > 0 && n < count {
		return e.errorf(exitWAMPError, "timeout: %d of %d events in %s", n, count, timeout)
	}
	return code
}

// matchFlag adds --match to cmd: the match policy of a subscription or
// registration, completed in the shell.
func matchFlag(cmd *cobra.Command) *string {
	p := cmd.Flags().String("match", "exact", "match policy: exact, prefix or wildcard")
	cmd.RegisterFlagCompletionFunc("match", cobra.FixedCompletions([]cobra.Completion{
		cobra.CompletionWithDesc("exact", "the URI itself"),
		cobra.CompletionWithDesc("prefix", "every URI starting with it"),
		cobra.CompletionWithDesc("wildcard", "empty components match any (a..c)"),
	}, cobra.ShellCompDirectiveNoFileComp))
	return p
}

// checkMatch checks a --match value.
func checkMatch(m string) error {
	switch m {
	case "exact", "prefix", "wildcard":
		return nil
	}
	return fmt.Errorf("--match must be exact, prefix or wildcard, not %q", m)
}
