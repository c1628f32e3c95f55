package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// roles are the subcommands. "run" (the default) is the orchestrator; the
// others are the processes it starts, each printing one READY line.
var roles = map[string]func(ctx context.Context, args []string) error{
	"run":    runOrchestrator,
	"router": runRouter,
	"callee": runCallee,
	"idle":   runIdle,
	"echo":   runEcho,
	"relay":  runRelay,
}

func main() {
	args := os.Args[1:]
	role := "run"
	if len(args) > 0 {
		if _, ok := roles[args[0]]; ok {
			role, args = args[0], args[1:]
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if role != "run" {
		// A child lives as long as its parent holds its stdin open, so a
		// crashed or interrupted orchestrator leaves nothing behind.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			childCommands(os.Stdin)
			cancel()
		}()
	}
	err := roles[role](ctx, args)
	stopCPUProfile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e %s: %v\n", role, err)
		os.Exit(1)
	}
}

// ready is what a child prints once it serves: the line "READY " followed
// by v as JSON. The orchestrator waits for it before going on.
func ready(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "READY %s\n", b)
	w.Flush()
}
