#!/usr/bin/env bash
# Foreign WAMP peers against our router (docs/CONFORMANCE.md).
#
#   scripts/interop.sh install     # npm ci in testdata/interop; Python izaber-wamp into .venv-izaber/,
#                                  # autobahn-python into .venv-autobahn/
#   scripts/interop.sh installed   # exit 0 if all are installed
#   scripts/interop.sh run         # go test -run TestInterop -interop, then rewrite docs/CONFORMANCE.md
#   scripts/interop.sh run --no-doc
#   scripts/interop.sh autobahn URL REALM
#                                  # the autobahn-python checks against any router (crossbar, an older
#                                  # build of ours), three serializers; prints the results and counts
#
# Everything is pinned and installed inside the checkout; no cache outside it.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
REPORT="${INTEROP_REPORT:-conformance/interop.json}"
VENV=".venv-izaber"
# The Python package and what it needs, pinned (msgpack: swampyer's msgpack
# serializer imports it but izaber-wamp does not depend on it).
PY_PACKAGES=(izaber-wamp==3.0.20231125 izaber==3.1.20240731 swampyer==3.1.20260922
	websocket-client==1.9.2 cbor2==6.3.0 msgpack==1.2.4)
# autobahn-python (asyncio) as a foreign peer (testdata/interop/autobahn_checks.py), pinned with
# the serializers it needs; the same versions crossbar 26.10.1 runs with.
AB_VENV=".venv-autobahn"
AB_PACKAGES=(autobahn==26.10.2 txaio==26.6.1 cbor2==6.3.0 msgpack==1.2.4 ujson==6.1.0)

installed() {
	[ -d testdata/interop/node_modules/autobahn ] && [ -d testdata/interop/node_modules/ws ] &&
		[ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import izaber_wamp, msgpack, cbor2' 2>/dev/null &&
		[ -x "$AB_VENV/bin/python" ] && "$AB_VENV/bin/python" -c 'import autobahn.asyncio.wamp, msgpack, cbor2' 2>/dev/null
}

install() {
	if installed; then
		echo "interop: peers already installed"
		return 0
	fi
	command -v node >/dev/null || { echo "interop: node is required" >&2; exit 1; }
	(cd testdata/interop && npm ci --no-audit --no-fund --cache "$PWD/.npm-cache" --loglevel=error)
	rm -rf testdata/interop/.npm-cache
	[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
	PIP_NO_CACHE_DIR=1 "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
	[ -x "$AB_VENV/bin/python" ] || python3 -m venv "$AB_VENV"
	PIP_NO_CACHE_DIR=1 "$AB_VENV/bin/pip" install --quiet --disable-pip-version-check "${AB_PACKAGES[@]}"
	installed
	echo "interop: installed autobahn-js (testdata/interop/node_modules), izaber-wamp ($VENV) and autobahn-python ($AB_VENV)"
}

# autobahn URL REALM: the autobahn-python checks against any router whose REALM lets anonymous
# sessions do everything (crossbar: scripts/crossbar.sh start, realm izaber).
autobahn() {
	local url="${1:?usage: $0 autobahn URL REALM}" realm="${2:?usage: $0 autobahn URL REALM}" total=0 ser out
	[ -x "$AB_VENV/bin/python" ] || { echo "interop: autobahn-python not installed (scripts/interop.sh install)" >&2; exit 1; }
	for ser in json msgpack cbor; do
		out="$("$AB_VENV/bin/python" testdata/interop/autobahn_checks.py "$url" "$realm" "$ser" 2>/dev/null)"
		echo "$out" | sed "s/^/$ser /"
		echo "autobahn-python $ser: $(echo "$out" | grep -c '"pass"') of $(echo "$out" | grep -c scenario) checks passed"
	done
}

run() {
	local doc=1
	[ "${1:-}" = "--no-doc" ] && doc=0
	installed || { echo "interop: peers not installed (scripts/interop.sh install)" >&2; exit 1; }
	rm -f "$REPORT"
	local rc=0
	echo "interop: autobahn-js, autobahn-python and Python izaber-wamp against our router"
	"$GO" test -count=1 ./conformance/ -run '^TestInterop$' -args -interop \
		-interop-report "$(pwd)/$REPORT" || rc=$?
	if [ -f "$REPORT" ]; then
		if [ "$doc" = 1 ]; then
			"$GO" run ./conformance/gendoc -interop "$REPORT" -doc docs/CONFORMANCE.md
		else
			"$GO" run ./conformance/gendoc -interop "$REPORT" -summary-only
		fi
	else
		echo "interop: no report written" >&2
		[ "$rc" = 0 ] && rc=1
	fi
	return "$rc"
}

case "${1:-}" in
install) install ;;
installed) installed ;;
autobahn)
	shift
	autobahn "$@"
	;;
run)
	shift
	run "$@"
	;;
*)
	echo "usage: $0 install|installed|run [--no-doc]|autobahn URL REALM" >&2
	exit 2
	;;
esac
