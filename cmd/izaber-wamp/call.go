package main

import (
	"context"
	"sync"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

const valueHelp = `Each ARG and -k VALUE is parsed as JSON when it is valid JSON (42, 1.5, true,
null, [1,2], {"a":1}, "quoted"), else taken as a string. To send a string
that looks like JSON, quote it as a JSON string ('"42"', '"true"') or give -s
to take every ARG and VALUE as a string. Arguments starting with "-" (other
than negative numbers) go after "--".`

func newCallCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "call PROCEDURE [ARG...]",
		Short:   "call a procedure and print its result as JSON",
		GroupID: groupWAMP,
		Long: `Calls PROCEDURE (prefixed with uri_base unless it already starts with it or
with "wamp.", or --absolute is given) and prints the result as JSON: the
only positional result, a list when there are several, null when there are
none, {"args": [...], "kwargs": {...}} when there are keyword results, and
{"args", "kwargs", "details"} with --full. Output is indented on a terminal
and one line per result when piped.

` + valueHelp,
		Example: `  izaber-wamp call auth.whoami
  izaber-wamp call example.add 2 3
  izaber-wamp call example.greet Alice -k greeting=Hi -k times=2
  izaber-wamp call example.store '{"id": 7, "tags": ["a", "b"]}' '"0042"'
  izaber-wamp call --progress --timeout 1m example.long_job
  izaber-wamp call --absolute wamp.session.count`,
		Annotations: map[string]string{annotationTakesValues: "yes"},
	}
	e := a.client(cmd)
	var p payloadFlags
	p.register(cmd)
	opts := optionFlag(cmd, "CALL")
	full := cmd.Flags().Bool("full", false, `print {"args", "kwargs", "details"} of the result`)
	progress := cmd.Flags().Bool("progress", false, "ask for progressive results and print each as it arrives")
	cmd.RunE = e.runE(func(ctx context.Context, pos []string) int {
		if len(pos) == 0 {
			return e.usageErr("missing PROCEDURE")
		}
		args, kwargs, err := p.payload(pos[1:], a.stdin)
		if err != nil {
			return e.usageErr("%v", err)
		}
		return e.runCall(ctx, pos[0], args, kwargs, wampOptions(opts), *full, *progress)
	})
	return cmd
}

func (e *env) runCall(ctx context.Context, proc string, cargs protocol.List, ckw protocol.Dict, callOpts []session.Option, full, progress bool) int {
	c, code := e.connect(ctx, false)
	if c == nil {
		return code
	}
	defer e.close(c)

	format := func(r *session.Result) any {
		if full {
			return map[string]any{"args": nonNilList(r.Args), "kwargs": nonNilDict(r.Kwargs), "details": nonNilDict(r.Details)}
		}
		return resultValue(r.Args, r.Kwargs)
	}
	opts := append(e.uriOpts(), callOpts...)
	var mu sync.Mutex // progress callbacks and the final print share stdout
	if progress {
		opts = append(opts, session.ReceiveProgress(func(r *session.Result) {
			mu.Lock()
			defer mu.Unlock()
			e.printJSON(format(r))
		}))
	}
	res, err := c.Call(ctx, proc, cargs, ckw, opts...)
	if err != nil {
		return e.requestErr(ctx, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if err := e.printJSON(format(res)); err != nil {
		return e.errorf(exitWAMPError, "cannot print the result: %v", err)
	}
	return exitOK
}
