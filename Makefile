# izaber-wamp for Go. `make test` is what CI runs (through .ci/run).
GO       ?= go
FUZZTIME ?= 30s
BENCHTIME ?= 1s

.PHONY: test vet fmt-check unit fuzz bench bench-e2e bench-e2e-compare demo

test: vet fmt-check unit conformance-auto interop-auto

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The main job against the embedded development router (README).
demo:
	$(GO) run ./examples/quickstart

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target for FUZZTIME (override: make fuzz FUZZTIME=5m), in the
# packages FUZZPKGS (default all; make fuzz FUZZPKGS=./fuzz runs only the
# cross-layer fuzzers of fuzz/).
FUZZPKGS ?= ./...
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZPKGS="$(FUZZPKGS)" scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# End-to-end benchmark over loopback, one process per role (bench/e2e/doc.go):
# the bare-relay floor, routed calls, fan-out, idle sessions. Flags in E2E_FLAGS,
# e.g. make bench-e2e E2E_FLAGS="-duration 1s -idle 2000 -rounds 3".
bench-e2e:
	$(GO) build -o bin/e2e ./bench/e2e
	bin/e2e $(E2E_FLAGS)

# The same harness built against BASE (default f3abe3a, before issue 11) and
# against this checkout, run in one sitting: both tables, with after/before ratios.
bench-e2e-compare:
	GO=$(GO) bench/e2e/before-after.sh $(BASE) $(E2E_FLAGS)

# Conformance matrix against crossbar (docs/CONFORMANCE.md). `make conformance` installs crossbar
# into .venv-crossbar/ if needed and regenerates docs/CONFORMANCE.md; `make test` runs it only when
# crossbar is installed (CI=true: must be installed, .ci/run does it) and leaves the doc alone.
.PHONY: conformance conformance-auto
conformance:
	GO=$(GO) conformance/run.sh

# The router conformance scenarios against our router, in-process (no setup).
.PHONY: conformance-self
conformance-self:
	$(GO) run ./cmd/wamp-conformance -self -expect conformance/expect/izaber-wamp.txt

conformance-auto:
	@if scripts/crossbar.sh installed; then GO=$(GO) conformance/run.sh --no-doc; \
	elif [ "$${CI:-}" = "true" ]; then echo "CI: crossbar is not installed; .ci/run must run scripts/crossbar.sh install" >&2; exit 1; \
	else echo; echo "######## CONFORMANCE MATRIX SKIPPED: crossbar not installed (make conformance installs it) ########"; echo; fi

# Foreign peers (autobahn-js, Python izaber-wamp) against our router. Same rules as conformance.
.PHONY: interop interop-auto
interop:
	scripts/interop.sh install
	GO=$(GO) scripts/interop.sh run

interop-auto:
	@if scripts/interop.sh installed; then GO=$(GO) scripts/interop.sh run --no-doc; \
	elif [ "$${CI:-}" = "true" ]; then echo "CI: interop peers are not installed; .ci/run must run scripts/interop.sh install" >&2; exit 1; \
	else echo; echo "######## FOREIGN-PEER INTEROP SKIPPED: peers not installed (make interop installs them) ########"; echo; fi
