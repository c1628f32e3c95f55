#!/usr/bin/env bash
# Run the conformance suites against a crossbar node started for the run
# (see docs/CONFORMANCE.md), then against our own router (in-process):
#   - the client matrix (TestMatrix): our client against the router;
#   - the router conformance scenarios (cmd/wamp-conformance), checked
#     against conformance/expect/crossbar.txt and izaber-wamp.txt: a known
#     deviation does not fail the run, any other failure (and a listed
#     scenario that passes) does.
# Used by `make conformance` and `make test`.
#
#   conformance/run.sh            install crossbar if missing, start it, run, stop, regenerate docs/CONFORMANCE.md
#   conformance/run.sh --no-doc   the same without touching docs/CONFORMANCE.md (make test)
#
# Environment: CONFORMANCE_REPORT (default conformance/report.json), GO (default go),
# CONFORMANCE_JUNIT_DIR (write JUnit XML of the scenario runs there, if set).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
REPORT="${CONFORMANCE_REPORT:-conformance/report.json}"
SELF_REPORT="${CONFORMANCE_SELF_REPORT:-conformance/report-self.json}"
SCEN_REPORT="${CONFORMANCE_SCENARIOS_REPORT:-conformance/scenarios-crossbar.json}"
SCEN_SELF_REPORT="${CONFORMANCE_SCENARIOS_SELF_REPORT:-conformance/scenarios-self.json}"
# crossbar's max_message_size in testdata/crossbar/config.json (WebSocket
# announces none; the oversized-message scenario needs it).
CROSSBAR_MAX_MESSAGE_SIZE=4194304
DOC=1
[ "${1:-}" = "--no-doc" ] && DOC=0

scripts/crossbar.sh install
# One crossbar per checkout at a time: concurrent runs in the same tree wait here.
exec 9>".venv-crossbar/run.lock"
flock -w 600 9

BIN="$(mktemp -d)"
trap 'scripts/crossbar.sh stop; rm -rf "$BIN"' EXIT
scripts/crossbar.sh start
eval "$(scripts/crossbar.sh env | sed 's/^/export /')"
version="$(.venv-crossbar/bin/python -c 'import crossbar; print(crossbar.__version__)')"

rm -f "$REPORT" "$SELF_REPORT" "$SCEN_REPORT" "$SCEN_SELF_REPORT"
"$GO" build -o "$BIN/wamp-conformance" ./cmd/wamp-conformance
junit() { # junit NAME: the -junit flag for a run, if CONFORMANCE_JUNIT_DIR is set
	if [ -n "${CONFORMANCE_JUNIT_DIR:-}" ]; then
		mkdir -p "$CONFORMANCE_JUNIT_DIR"
		echo "-junit=$CONFORMANCE_JUNIT_DIR/wamp-conformance-$1.xml"
	fi
}
rc=0
echo "conformance: matrix against crossbar $version"
"$GO" test -race -count=1 ./conformance/ -run '^TestMatrix$' -args \
	-report "$(pwd)/$REPORT" -router-name "crossbar $version" || rc=$?
echo "conformance: router scenarios against crossbar $version"
"$BIN/wamp-conformance" -q -router "crossbar $version" -expect conformance/expect/crossbar.txt \
	-max-message-size "$CROSSBAR_MAX_MESSAGE_SIZE" -json "$SCEN_REPORT" $(junit crossbar) \
	"$WAMP_CONFORMANCE_WS" "$WAMP_CONFORMANCE_TCP" "$WAMP_CONFORMANCE_UNIX" || rc=$?
scripts/crossbar.sh stop
echo "conformance: router scenarios against our router (in-process)"
"$BIN/wamp-conformance" -q -self -expect conformance/expect/izaber-wamp.txt \
	-json "$SCEN_SELF_REPORT" $(junit izaber-wamp) || rc=$?
echo "conformance: matrix against our router (in-process)"
"$GO" test -race -count=1 ./conformance/ -run '^TestMatrix$' -args \
	-self -report "$(pwd)/$SELF_REPORT" || rc=$?
for f in "$REPORT" "$SELF_REPORT" "$SCEN_REPORT" "$SCEN_SELF_REPORT"; do
	if [ ! -f "$f" ]; then
		echo "conformance: no report written to $f" >&2
		[ "$rc" = 0 ] && rc=1
	fi
done
if [ "$DOC" = 1 ]; then
	"$GO" run ./conformance/gendoc -matrix "$REPORT" -self-matrix "$SELF_REPORT" \
		-scenarios "$SCEN_REPORT" -self-scenarios "$SCEN_SELF_REPORT" -doc docs/CONFORMANCE.md
else
	"$GO" run ./conformance/gendoc -matrix "$REPORT" -self-matrix "$SELF_REPORT" \
		-scenarios "$SCEN_REPORT" -self-scenarios "$SCEN_SELF_REPORT" -summary-only
fi
exit "$rc"
