package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// maxStderr bounds the stderr text of a failed command put in the error.
const maxStderr = 64 << 10

func newRegisterCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "register PROCEDURE -- COMMAND [ARG...]",
		Short:   "serve a procedure with a shell command until Ctrl-C",
		GroupID: groupWAMP,
		Long: `Registers PROCEDURE (prefixed with uri_base like call) and serves it until
Ctrl-C (which unregisters and leaves with GOODBYE). Each invocation runs
COMMAND with {"procedure", "args", "kwargs", "details"} as JSON on its
standard input. Its standard output is the result: parsed as JSON when it
is one JSON value, else returned as a string (one trailing newline
removed); empty output returns no result. A non-zero exit status returns
the WAMP error <uri_base>.error.invoke.failure with the command's standard
error text as the message and {"exit_status": N} as kwargs. A cancelled
call kills the command. The registration is restored after a
reconnection.`,
		Example: `  izaber-wamp register example.echo -- sh -c 'cat'
  izaber-wamp register example.add -- sh -c 'jq "[.args[] ] | add"'
  izaber-wamp register --match prefix example.files. -- ./handle.sh
  izaber-wamp register --force example.hello -- echo '"hello"'`,
	}
	e := a.client(cmd)
	match := matchFlag(cmd)
	invoke := cmd.Flags().String("invoke", "", "shared registration policy: single, roundrobin, random, first or last")
	cmd.RegisterFlagCompletionFunc("invoke", cobra.FixedCompletions([]cobra.Completion{"single", "roundrobin", "random", "first", "last"}, cobra.ShellCompDirectiveNoFileComp))
	force := cmd.Flags().Bool("force", false, "take the procedure over from its current callee (force_reregister)")
	wopts := optionFlag(cmd, "REGISTER")
	concurrency := cmd.Flags().Int("concurrency", 0, "invocations (commands) running at once; more wait (default: concurrency_max from izaber.yaml, else 64)")
	cmd.RunE = e.runE(func(ctx context.Context, args []string) int {
		pos, rest := args, []string(nil)
		if dash := cmd.ArgsLenAtDash(); dash >= 0 {
			pos, rest = args[:dash], args[dash:]
		}
		switch {
		case len(pos) == 0:
			return e.usageErr("missing PROCEDURE")
		case len(pos) > 1:
			return e.usageErr("unexpected arguments %q: the command goes after \"--\"", pos[1:])
		case len(rest) == 0:
			return e.usageErr("missing COMMAND after \"--\"")
		}
		if err := checkMatch(*match); err != nil {
			return e.usageErr("%v", err)
		}
		if *concurrency < 0 {
			return e.usageErr("--concurrency must not be negative")
		}
		if *concurrency > 0 {
			e.configure = func(cfg *izaber.Config) { cfg.ConcurrencyMax = *concurrency }
		}
		if _, err := exec.LookPath(rest[0]); err != nil {
			return e.usageErr("command %q: %v", rest[0], err)
		}
		var opts []session.Option
		if *match != "exact" {
			opts = append(opts, session.Match(*match))
		}
		if *invoke != "" {
			opts = append(opts, session.Invoke(*invoke))
		}
		if *force {
			opts = append(opts, session.ForceReregister())
		}
		opts = append(opts, wampOptions(wopts)...)
		return e.runRegister(ctx, pos[0], rest, opts)
	})
	return cmd
}

func (e *env) runRegister(ctx context.Context, proc string, argv []string, regOpts []session.Option) int {
	c, code := e.connect(ctx, true)
	if c == nil {
		return code
	}
	defer e.close(c)

	errURI := e.uri(c, "error.invoke.failure")
	handler := func(hctx context.Context, inv *session.Invocation) (*session.Result, error) {
		return runHandlerCommand(hctx, argv, inv, errURI)
	}
	opts := append(e.uriOpts(), regOpts...)
	reg, err := c.Register(ctx, proc, handler, opts...)
	if err != nil {
		return e.requestErr(ctx, err)
	}
	e.errorf(0, "registered %s; Ctrl-C to stop", reg.Procedure)
	return e.hold(ctx, c, 0)
}

// runHandlerCommand runs one invocation of the register command.
func runHandlerCommand(ctx context.Context, argv []string, inv *session.Invocation, errURI string) (*session.Result, error) {
	in := map[string]any{"procedure": inv.Procedure, "args": nonNilList(inv.Args), "kwargs": nonNilDict(inv.Kwargs), "details": nonNilDict(inv.Details)}
	var stdin bytes.Buffer
	if err := writeJSON(&stdin, in, false); err != nil {
		return nil, session.NewError(errURI, protocol.List{"cannot encode the invocation as JSON: " + err.Error()}, nil)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = &stdin
	var out bytes.Buffer
	errOut := &limitedBuffer{max: maxStderr}
	cmd.Stdout = &out
	cmd.Stderr = errOut
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(errOut.String())
		status := -1
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			status = exitErr.ExitCode()
		}
		if msg == "" {
			msg = fmt.Sprintf("command %s: %v", argv[0], err)
		}
		return nil, session.NewError(errURI, protocol.List{msg}, protocol.Dict{"exit_status": int64(status)})
	}
	b := out.Bytes()
	if len(bytes.TrimSpace(b)) == 0 {
		return &session.Result{}, nil
	}
	if v, err := decodeJSON(b); err == nil {
		return izaber.Yield(v), nil
	}
	return izaber.Yield(strings.TrimSuffix(string(b), "\n")), nil
}

// limitedBuffer keeps the first max bytes written and discards the rest.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

// Write keeps what fits and reports everything written, so that the
// command never blocks on a full stderr.
func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// String returns what was kept.
func (l *limitedBuffer) String() string { return l.buf.String() }
