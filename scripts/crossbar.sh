#!/usr/bin/env bash
# Manage the crossbar test node used by the conformance matrix (docs/CONFORMANCE.md).
#
#   scripts/crossbar.sh install   # pinned crossbar into .venv-crossbar/ (inside the checkout)
#   scripts/crossbar.sh installed # exit 0 if crossbar is installed
#   scripts/crossbar.sh start     # copy testdata/crossbar/config.json to .crossbar-run/, start, wait
#   scripts/crossbar.sh status    # running or stopped
#   scripts/crossbar.sh stop      # stop the node started by "start"
#   scripts/crossbar.sh env       # print the WAMP_CONFORMANCE_* variables for go test
#
# Ports (127.0.0.1 only): WebSocket 18280 (/ws), RawSocket TCP 18281, RawSocket Unix
# .crossbar-run/crossbar.sock. Override with CROSSBAR_WEB_PORT / CROSSBAR_RS_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

CROSSBAR_VERSION="26.10.1"
VENV="$ROOT/.venv-crossbar"
RUN="$ROOT/.crossbar-run"
CROSSBAR="$VENV/bin/crossbar"
WEB_PORT="${CROSSBAR_WEB_PORT:-18280}"
RS_PORT="${CROSSBAR_RS_PORT:-18281}"
START_TIMEOUT="${CROSSBAR_START_TIMEOUT:-60}"

installed() {
	[ -x "$CROSSBAR" ] && "$VENV/bin/python" -c 'import crossbar' >/dev/null 2>&1
}

install() {
	if installed; then
		echo "crossbar: already installed in .venv-crossbar ($("$VENV/bin/python" -c 'import crossbar; print(crossbar.__version__)'))"
		return 0
	fi
	python3 -m venv "$VENV"
	# No cache outside the checkout.
	PIP_NO_CACHE_DIR=1 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
		"crossbar==$CROSSBAR_VERSION"
	installed
	echo "crossbar: installed $CROSSBAR_VERSION into .venv-crossbar"
}

pid_of() {
	[ -f "$RUN/crossbar.pid" ] && cat "$RUN/crossbar.pid"
}

running() {
	local pid
	pid="$(pid_of 2>/dev/null || true)"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	installed || { echo "crossbar: not installed (run scripts/crossbar.sh install)" >&2; exit 1; }
	if running; then
		echo "crossbar: already running (pid $(pid_of))"
		return 0
	fi
	for p in "$WEB_PORT" "$RS_PORT"; do
		if port_open "$p"; then
			echo "crossbar: port $p on 127.0.0.1 is already in use" >&2
			exit 1
		fi
	done
	rm -rf "$RUN"
	mkdir -p "$RUN/web"
	echo "izaber-wamp conformance node" >"$RUN/web/index.html"
	sed -e "s/18280/$WEB_PORT/; s/18281/$RS_PORT/" testdata/crossbar/config.json >"$RUN/config.json"
	# setsid: its own process group so stop can end the node and its workers together.
	setsid "$CROSSBAR" start --cbdir "$RUN" --loglevel info --color false \
		>"$RUN/node.log" 2>&1 </dev/null &
	echo $! >"$RUN/crossbar.pid"
	local deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if port_open "$WEB_PORT" && port_open "$RS_PORT" && [ -S "$RUN/crossbar.sock" ]; then
			break
		fi
		if ! running; then
			echo "crossbar: exited during start; log follows" >&2
			tail -n 40 "$RUN/node.log" >&2
			exit 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "crossbar: not listening after ${START_TIMEOUT}s; log follows" >&2
			tail -n 40 "$RUN/node.log" >&2
			stop
			exit 1
		fi
		sleep 0.3
	done
	echo "crossbar: running (pid $(pid_of)); ws://127.0.0.1:$WEB_PORT/ws tcp://127.0.0.1:$RS_PORT unix://$RUN/crossbar.sock"
}

stop() {
	if ! running; then
		rm -f "$RUN/crossbar.pid"
		echo "crossbar: not running"
		return 0
	fi
	local pid
	pid="$(pid_of)"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/crossbar.pid"
	echo "crossbar: stopped"
}

status() {
	if running; then echo "crossbar: running (pid $(pid_of))"; else echo "crossbar: stopped"; return 1; fi
}

env_vars() {
	echo "WAMP_CONFORMANCE_WS=ws://127.0.0.1:$WEB_PORT/ws"
	echo "WAMP_CONFORMANCE_TCP=tcp://127.0.0.1:$RS_PORT"
	echo "WAMP_CONFORMANCE_UNIX=unix://$RUN/crossbar.sock"
}

case "${1:-}" in
install) install ;;
installed) installed ;;
start) start ;;
stop) stop ;;
status) status ;;
env) env_vars ;;
*)
	echo "usage: $0 install|installed|start|stop|status|env" >&2
	exit 2
	;;
esac
