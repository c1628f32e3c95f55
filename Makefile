# izaber-wamp for Go. `make test` is what CI runs (through .ci/run).
GO       ?= go
FUZZTIME ?= 30s
BENCHTIME ?= 1s

.PHONY: test vet fmt-check unit fuzz bench

test: vet fmt-check unit

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target for FUZZTIME (override: make fuzz FUZZTIME=5m).
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
