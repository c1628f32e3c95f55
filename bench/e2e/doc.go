// Command e2e is the end-to-end benchmark of izaber-wamp's connection core
// (issue 11): what a routed call, a fan-out and an idle session cost over
// real loopback sockets, with every role in a process of its own, next to
// the floor of a bare coder/websocket relay.
//
//	make bench-e2e                       # build bin/e2e and run everything (~1 to 2 minutes)
//	make bench-e2e E2E_FLAGS="-duration 1s -idle 2000 -rounds 3"
//	make bench-e2e-compare               # before (f3abe3a) and after, in one sitting
//	go run ./bench/e2e -h                # every flag
//
// # Scenarios
//
// Each scenario starts its own processes (this executable in another role,
// see below), measures for -duration after -warmup, and stops them:
//
//   - floor: this process -> relay process -> echo process and back, bare
//     coder/websocket (Conn.Read/Conn.Write, one goroutine per direction in
//     the relay). The message is a WAMP CALL in JSON carrying -payload.
//     Sequential, then with each -inflight count of messages in flight on
//     one connection.
//   - call (per -transports: ws = WebSocket, raw = RawSocket over TCP, with
//     -serializer): caller (this process, one session) -> router process ->
//     callee process (one session registering an echo procedure) and back.
//     Sequential, then with each -inflight count of concurrent Calls.
//   - fanout: one publisher and -subscribers subscriber sessions (all in this
//     process, each on its own connection) -> router process. The publisher
//     publishes without acknowledgement as fast as it can while the slowest
//     subscriber lags fewer than -lag events behind (below the 4,096 queued
//     messages at which the old router drops a session); the figure is events
//     delivered per second, summed over subscribers.
//   - idle: an idle process joins -idle sessions (default 10,000) over the
//     first transport and holds them; the router process's RSS
//     (/proc/PID/status VmRSS) and goroutine count (its stats endpoint, which
//     reports runtime.NumGoroutine) are read before and after, and divided by
//     the number of sessions. RSS is also read after a forced GC and
//     debug.FreeOSMemory, and the Go heap+stack in use is reported, since raw
//     RSS depends on when the collector last ran.
//
// For every throughput scenario the router process (the relay for the floor)
// is sampled at both ends of the window: write syscalls (/proc/PID/io syscw)
// and CPU time (/proc/PID/stat) per call. For fan-out, where up to -lag events
// per subscriber are on their way at any time, they are sampled from before
// the first publication to after the last delivery instead, per delivered
// event. A call is two
// messages out of the router (INVOCATION, RESULT), so 2 writes per call means
// no coalescing; below 2 means messages went out together. The same figures
// are taken of the caller (this process: the caller, the floor's client, or
// fan-out's publisher and subscribers) and of the callee (the floor's echo
// service); "all CPU", their sum with the router's, is what one call costs
// the machine, the figure that decides throughput on a machine whose CPUs
// are all busy, and the steadiest one on a shared machine.
//
// -cpuprofile DIR profiles every process of each throughput scenario over
// its measuring window: DIR/<scenario>.<role>.pprof (CPU) and
// <scenario>.<role>.allocs0.pprof and .allocs1.pprof, the allocation
// profiles at both ends of the window, for
//
//	go tool pprof -sample_index=alloc_objects -base X.allocs0.pprof X.allocs1.pprof
//
// For the idle scenario it writes the router's heap with the sessions
// joined, <scenario>.router.heap.pprof (go tool pprof -sample_index=inuse_space).
// The orchestrator tells its children to start and stop through their
// stdin (see childCommands).
//
// The table gives ops/s, round-trip p50/p99, and "× floor": our cost over the
// floor's at the same in-flight count (sequential: p50 latency; in flight:
// floor throughput / ours). 1.15 means 15 % slower than the bare relay.
// -json prints the report as JSON, -o writes it to a file as well, and
// -compare FILE adds after/before ratios against such a file. -rounds N runs
// everything N times and keeps, per scenario, the round with the median
// figure. To pin every process to one CPU, run the harness under taskset:
// processes it starts inherit the affinity (taskset -c 0 bin/e2e).
//
// The machine this runs on should be otherwise idle: on a shared machine the
// figures move by tens of percent from run to run, so compare runs made in
// one sitting and prefer -rounds 3 or more.
//
// # Before and after
//
// The harness uses only public APIs of the transport, session, protocol and
// router packages, so the same source builds against older code.
// bench/e2e/before-after.sh (make bench-e2e-compare BASE=<commit>) does the
// comparison in one sitting: it extracts BASE with git archive into a
// temporary directory, copies this bench/e2e into it (rewriting the import
// path when the old go.mod names another module, e.g. github.com/izaber/wamp
// before f3abe3a), builds both, runs the old one and then the new one with
// -compare, and keeps both JSON reports in bin/. By hand:
//
//	git worktree add /tmp/old f3abe3a
//	cp -r bench/e2e /tmp/old/bench/
//	# only if /tmp/old/go.mod names another module:
//	sed -i 's#"github.com/zabertech/go-izaber-wamp/#"github.com/izaber/wamp/#' /tmp/old/bench/e2e/*.go
//	(cd /tmp/old && go build -o /tmp/e2e-before ./bench/e2e)
//	go build -o /tmp/e2e-after ./bench/e2e
//	/tmp/e2e-before -o before.json && /tmp/e2e-after -compare before.json
//
// # Roles
//
// e2e [run] is the orchestrator. The other roles are the processes it
// starts; each prints one line "READY <json>" on stdout once it serves, and
// exits when its stdin closes, so an interrupted run leaves nothing behind:
//
//	e2e router                 our router (router.New defaults, realm "realm1",
//	                           anonymous) on WebSocket and RawSocket, plus /stats
//	e2e callee -url U          one session registering bench.echo
//	e2e idle -url U -n N       N joined sessions, idle
//	e2e echo                   bare coder/websocket echo server
//	e2e relay -upstream U      bare coder/websocket relay to U
package main
