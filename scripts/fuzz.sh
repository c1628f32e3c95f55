#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 30s):
# the byte parsers' targets in their packages and the cross-layer fuzzers
# of fuzz/ (seed corpora in <package>/testdata/fuzz/<Target>/). FUZZPKGS
# limits the packages, e.g. FUZZPKGS=./fuzz scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-30s}"
FUZZPKGS="${FUZZPKGS:-./...}"
for pkg in $(go list $FUZZPKGS); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($FUZZTIME)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done
done
