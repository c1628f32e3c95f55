#!/usr/bin/env bash
# Run the conformance matrix against a crossbar node started for the run
# (see docs/CONFORMANCE.md), then the same matrix against our own router
# (in-process). Used by `make conformance` and `make test`.
#
#   conformance/run.sh            install crossbar if missing, start it, run, stop, regenerate docs/CONFORMANCE.md
#   conformance/run.sh --no-doc   the same without touching docs/CONFORMANCE.md (make test)
#
# Environment: CONFORMANCE_REPORT (default conformance/report.json), GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
REPORT="${CONFORMANCE_REPORT:-conformance/report.json}"
SELF_REPORT="${CONFORMANCE_SELF_REPORT:-conformance/report-self.json}"
DOC=1
[ "${1:-}" = "--no-doc" ] && DOC=0

scripts/crossbar.sh install
# One crossbar per checkout at a time: concurrent runs in the same tree wait here.
exec 9>".venv-crossbar/run.lock"
flock -w 600 9

trap 'scripts/crossbar.sh stop' EXIT
scripts/crossbar.sh start
eval "$(scripts/crossbar.sh env | sed 's/^/export /')"
version="$(.venv-crossbar/bin/python -c 'import crossbar; print(crossbar.__version__)')"

rm -f "$REPORT" "$SELF_REPORT"
rc=0
echo "conformance: matrix against crossbar $version"
"$GO" test -race -count=1 ./conformance/ -run '^TestMatrix$' -args \
	-report "$(pwd)/$REPORT" -router-name "crossbar $version" || rc=$?
scripts/crossbar.sh stop
echo "conformance: matrix against our router (in-process)"
"$GO" test -race -count=1 ./conformance/ -run '^TestMatrix$' -args \
	-self -report "$(pwd)/$SELF_REPORT" || rc=$?
for f in "$REPORT" "$SELF_REPORT"; do
	if [ ! -f "$f" ]; then
		echo "conformance: no report written to $f" >&2
		[ "$rc" = 0 ] && rc=1
	fi
done
if [ "$DOC" = 1 ]; then
	"$GO" run ./conformance/gendoc -matrix "$REPORT" -self-matrix "$SELF_REPORT" -doc docs/CONFORMANCE.md
else
	"$GO" run ./conformance/gendoc -matrix "$REPORT" -self-matrix "$SELF_REPORT" -summary-only
fi
exit "$rc"
