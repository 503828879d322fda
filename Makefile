# Bilat. `make run` brings the stack up with the book's data; `make test`
# runs every test. Both install what they need (see scripts/ensure-deps.sh).
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
TOOLS := $(CURDIR)/.bin
SERVICES := ingest enrichment statistics gateway
# Every module of the workspace, as package patterns.
PKGS := ./pkg/... ./proto/... ./services/ingest/... ./services/enrichment/... \
        ./services/statistics/... ./services/gateway/... ./cmd/bilat/... \
        ./tools/bookconv/... ./e2e/... ./deploy/... ./bench/...

.PHONY: all deps build run test test-short lint fmt vet proto proto-check buf-lint tools data gazetteer clean help eval

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## check Go, install redis-server when missing
	@scripts/ensure-deps.sh

build: ## build the four services and the bilat tool into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./services/,$(addsuffix /cmd/...,$(SERVICES))) ./cmd/bilat

run: deps build ## run the whole stack with the book's data (Ctrl-C stops it)
	$(BIN)/bilat dev --bin-dir $(BIN) --data-dir $(CURDIR)/.run

# The end-to-end suite and the bench smoke test run the services as separate
# (uninstrumented) processes and host nats-server in the test process, whose
# own code trips the race detector; everything else runs with -race.
E2E_PKGS := ./e2e/... ./bench/...
RACE_PKGS := $(filter-out $(E2E_PKGS),$(PKGS))

test: deps ## run every test (unit, integration with -race; end-to-end)
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 20m $(E2E_PKGS)

test-short: deps ## unit and integration tests, without the end-to-end suite
	$(GO) test -race -count=1 -short $(PKGS)

lint: fmt vet buf-lint ## gofmt, go vet, buf lint

fmt:
	@out=$$(gofmt -l pkg proto services cmd tools/bookconv e2e deploy bench); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: deps build ## full benchmark: throughput, freshness, queries, rebuild, memory vs baselines (4–8 minutes on 2 cores)
	$(GO) run ./bench -mode full -bin-dir $(BIN) -repo $(CURDIR) -out $(CURDIR)/bench/results

bench-quick: deps build ## the same table with small counts (under a minute)
	$(GO) run ./bench -mode quick -bin-dir $(BIN) -repo $(CURDIR) -out $(CURDIR)/bench/results

.PHONY: bench bench-quick

vet:
	$(GO) vet $(PKGS)

tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/protoc-gen-grpc-gateway $(TOOLS)/protoc-gen-openapiv2 ## build buf and the protoc plugins at pinned versions

$(TOOLS)/%: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLS)
	cd tools && GOWORK=off $(GO) build -o $(TOOLS)/ \
		github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2

buf-lint: tools
	PATH=$(TOOLS):$$PATH buf lint

proto: tools ## lint the protos and regenerate the Go code next to them
	PATH=$(TOOLS):$$PATH buf lint
	PATH=$(TOOLS):$$PATH buf generate

proto-check: tools ## fail when the committed generated code is stale
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	PATH=$(TOOLS):$$PATH buf generate -o $$tmp && \
	if ! diff -r -q $$tmp/proto proto -x '*.proto' -x 'go.mod' -x 'go.sum' -x 'embed.go' -x 'http.yaml' >/dev/null; then \
		diff -r $$tmp/proto proto -x '*.proto' -x 'go.mod' -x 'go.sum' -x 'embed.go' -x 'http.yaml' | head -40; \
		echo "generated code is stale: run 'make proto' and commit"; exit 1; \
	fi; echo "generated code is up to date"

eval: ## enrichment accuracy on data/eval (resolution, party levels, domains; dev and held-out splits, every miss)
	$(GO) run ./services/enrichment/eval

data: ## re-convert the book's data from ../shared/data/book into data/
	$(GO) run ./tools/bookconv -in ../shared/data/book -out data

# The committed book copy is the input, so this needs nothing outside the repository.
gazetteer: ## regenerate data/gazetteer/entities.ndjson (book + iso-codes snapshot + hand tables); REFRESH_ISO_CODES=1 re-snapshots /usr/share/iso-codes first
	$(GO) run ./tools/bookconv -in data/book -out data $(if $(REFRESH_ISO_CODES),--refresh-iso-codes)

clean:
	rm -rf $(BIN) $(TOOLS)
