# PTHV Reach — every task a developer or CI needs. `make demo` and `make test` set up
# whatever they need on a fresh machine (Go modules, tools built with go install).

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
GOBIN := $(BIN)/tools
FUNCTIONS := $(notdir $(wildcard functions/*))
STATICCHECK_VERSION := v0.8.2
FUZZTIME ?= 30s
BENCHTIME ?= 3x
DEMO_STUDENTS ?= 5000

export GOFLAGS := -buildvcs=false

.PHONY: all build cli functions test unit lint fmt fmt-check vet staticcheck bench fuzz demo deps clean help

all: build test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## download Go modules
	$(GO) mod download

build: cli functions ## build the CLI and every function as a linux/arm64 bootstrap

cli: deps
	$(GO) build -o $(BIN)/pthv ./cmd/pthv

functions: deps
	@for f in $(FUNCTIONS); do \
		echo "build functions/$$f -> $(BIN)/functions/$$f/bootstrap"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
			-o $(BIN)/functions/$$f/bootstrap ./functions/$$f || exit 1; \
	done

test: deps lint unit ## run every test (format, vet, staticcheck, unit and integration tests)

unit:
	$(GO) test -count=1 ./...

lint: fmt-check vet staticcheck

fmt: ## format the code
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

$(GOBIN)/staticcheck:
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(GOBIN)/staticcheck
	$(GOBIN)/staticcheck ./...

bench: deps ## run the benchmarks (PTHV_BENCH_STUDENTS=100000 by default)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./...

fuzz: deps ## run every fuzz target for FUZZTIME (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for fz in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$fz ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
		done; \
	done

demo: cli ## generate a district export and validate it
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	echo "== pthv gen roster: a synthetic district of $(DEMO_STUDENTS) students"; \
	$(BIN)/pthv gen roster --students $(DEMO_STUDENTS) --seed 1 --zip --out $$dir/district.zip; \
	echo; echo "== pthv validate district.zip"; \
	$(BIN)/pthv validate $$dir/district.zip; \
	echo; echo "== the same export with a broken row added (exit 1 is expected)"; \
	mkdir $$dir/broken && $(BIN)/pthv gen roster --students $(DEMO_STUDENTS) --seed 1 --out $$dir/broken >/dev/null; \
	head -2 $$dir/broken/enrollments.csv | tail -1 | awk -F, -v OFS=, '{$$1="enr-demo-broken"; $$4="cls-does-not-exist"; print}' >> $$dir/broken/enrollments.csv; \
	printf 'stu-x,,,TRUE,demo,,Ana,Doe,,,,,,,KG,,,,,,,\n' >> $$dir/broken/users.csv; \
	$(BIN)/pthv validate $$dir/broken || test $$? -eq 1

clean: ## remove build output
	rm -rf $(BIN)
