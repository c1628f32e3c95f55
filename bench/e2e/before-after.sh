#!/bin/sh
# before-after.sh [BASE] [e2e flags...]: runs the end-to-end benchmark of
# this checkout built against BASE (a commit; default f3abe3a, the code
# before issue 11) and against this checkout, one after the other, and
# prints both tables; the second one has after/before ratios. The JSON
# reports are kept in $E2E_OUT (default bin/): e2e-before.json and
# e2e-after.json. See bench/e2e/doc.go.
set -eu
base=f3abe3a
case "${1:-}" in -*|"") ;; *) base=$1; shift ;; esac
GO=${GO:-go}
root=$(git rev-parse --show-toplevel)
out=${E2E_OUT:-$root/bin}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The old tree, with this harness copied in; if the module path differs
# there, the harness's imports are rewritten to it.
mkdir "$tmp/old"
git -C "$root" archive "$base" | tar -x -C "$tmp/old"
mkdir -p "$tmp/old/bench"
rm -rf "$tmp/old/bench/e2e"
cp -r "$root/bench/e2e" "$tmp/old/bench/e2e"
newmod=$(awk '$1 == "module" {print $2}' "$root/go.mod")
oldmod=$(awk '$1 == "module" {print $2}' "$tmp/old/go.mod")
if [ "$oldmod" != "$newmod" ]; then
	sed -i "s#\"$newmod/#\"$oldmod/#" "$tmp/old/bench/e2e/"*.go
fi
(cd "$tmp/old" && "$GO" build -o "$tmp/e2e-before" ./bench/e2e)
(cd "$root" && "$GO" build -o "$tmp/e2e-after" ./bench/e2e)

echo "== before: $base"
"$tmp/e2e-before" -o "$out/e2e-before.json" "$@"
echo
echo "== after: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo +dirty)"
"$tmp/e2e-after" -o "$out/e2e-after.json" -compare "$out/e2e-before.json" "$@"
