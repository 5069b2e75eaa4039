# PTHV Reach — every task a developer or CI needs. `make demo` and `make test` set up
# whatever they need on a fresh machine (Go modules, tools built with go install).

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
GOBIN := $(BIN)/tools
FUNCTIONS := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/main.go))))
STATICCHECK_VERSION := v0.8.2
TERRAFORM_VERSION := v1.5.7
# terraform: the one on PATH, else one built with go install into bin/tools.
TERRAFORM := $(shell command -v terraform 2>/dev/null || echo $(GOBIN)/terraform)
FUZZTIME ?= 30s
BENCHTIME ?= 3x
DEMO_STUDENTS ?= 2000

export GOFLAGS := -buildvcs=false

.PHONY: all build cli functions package plan terraform local-functions local-up local-down test unit lint fmt fmt-check size-check vet staticcheck bench load fuzz demo deps deps-local deps-browser clean help

all: build test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## download Go modules
	$(GO) mod download

deps-local: ## install moto_server (the AWS stand-in) where it is missing
	@command -v moto_server >/dev/null 2>&1 || { echo "installing moto[server] with pip"; \
		python3 -m pip install --user "moto[server]" || pip install "moto[server]"; }
	@command -v moto_server >/dev/null 2>&1 || { echo "moto_server is still not on PATH"; exit 1; }

# chromium for the browser tests (integration-tests/dashboard_test.go): Debian's package. CI runs
# as root; elsewhere sudo -n is tried, and without it the browser tests skip (in CI they fail).
deps-browser: ## install chromium (for the dashboard's browser tests) where it is missing
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium with apt-get"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; } \
		|| echo "could not install chromium: the browser tests skip outside CI (CI=true makes them fail)"; }

build: cli functions ## build the CLI and every function as a linux/arm64 bootstrap

cli: deps
	$(GO) build -o $(BIN)/pthv ./cmd/pthv

functions: deps
	@for f in $(FUNCTIONS); do \
		echo "build functions/$$f -> $(BIN)/functions/$$f/bootstrap"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
			-o $(BIN)/functions/$$f/bootstrap ./functions/$$f || exit 1; \
	done

package: functions ## zip every function's bootstrap into bin/package/<name>.zip for Terraform
	@mkdir -p $(BIN)/package
	@for f in $(FUNCTIONS); do \
		rm -f $(BIN)/package/$$f.zip; \
		(cd $(BIN)/functions/$$f && zip -q -X $(BIN)/package/$$f.zip bootstrap) || exit 1; \
		echo "packaged $(BIN)/package/$$f.zip"; \
	done

terraform: ## make sure terraform is available (go install when it is not on PATH)
	@test -x "$(TERRAFORM)" || { echo "installing terraform $(TERRAFORM_VERSION) with go install"; \
		GOBIN=$(GOBIN) $(GO) install github.com/hashicorp/terraform@$(TERRAFORM_VERSION); }

plan: terraform package ## terraform init + plan of infra/examples/complete (needs AWS credentials and network; skips otherwise)
	TERRAFORM=$(TERRAFORM) $(GO) run ./infra/plan

local-functions: deps ## build every function as a bootstrap for this machine, for the local stack
	@for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -o $(BIN)/local/functions/$$f/bootstrap ./functions/$$f || exit 1; \
	done

local-up: cli local-functions deps-local ## start the local stack in the background; then: source .pthv-local/env
	$(BIN)/pthv local up --functions $(BIN)/local/functions

local-down: cli ## stop the local stack
	$(BIN)/pthv local down

test: deps deps-local deps-browser terraform lint unit ## run every test (format, vet, staticcheck, unit and integration tests)

# -race: the host, the poller, the store's workers and the API front are concurrent code.
# -shuffle=on: no test may depend on the order of the others (go test prints the seed;
# rerun a failure with -shuffle=SEED). The packages that run whole local stacks (moto and
# the functions' processes, with the functions' Lambda timeouts) go one at a time, before
# the others: next to a CPU-bound package under -race, the cohort function of cmd/pthv's
# test ran past its 60 s timeout on two cores.
STACK_PKGS := ./cmd/pthv ./integration-tests
unit:
	TERRAFORM=$(TERRAFORM) $(GO) test -count=1 -race -shuffle=on -p 1 $(STACK_PKGS)
	TERRAFORM=$(TERRAFORM) $(GO) test -count=1 -race -shuffle=on $$($(GO) list ./... | grep -v -x -e '.*/cmd/pthv' -e '.*/integration-tests')

lint: fmt-check vet staticcheck size-check

# No tracked file over 1 MiB: big data sets are generated, never committed (a 22 MB binary once was).
size-check:
	@big=$$(git ls-files -z 2>/dev/null | xargs -0 -r du -b 2>/dev/null | awk '$$1 > 1048576 {print $$2" ("$$1" bytes)"}'); \
	if [ -n "$$big" ]; then echo "tracked files over 1 MiB (generate them instead):"; echo "$$big"; exit 1; fi

fmt: ## format the code
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...
	$(GO) vet -tags load ./integration-tests/

$(GOBIN)/staticcheck:
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(GOBIN)/staticcheck
	$(GOBIN)/staticcheck ./...

bench: deps deps-local ## run the benchmarks on a generated district (PTHV_BENCH_STUDENTS, default 100000); ends with the summary table, bench.json and the capacity model
	@rm -f bench-inputs.json
	set -o pipefail; PTHV_BENCH_INPUTS=$(CURDIR)/bench-inputs.json $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) $$($(GO) list ./... | grep -v integration-tests) | tee bench.txt
	set -o pipefail; PTHV_BENCH_INPUTS=$(CURDIR)/bench-inputs.json $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 120m ./integration-tests/ | tee -a bench.txt
	$(GO) run ./cmd/capacity --inputs bench-inputs.json > capacity.md
	@echo; echo "== summary (bench.txt is benchstat input; rows also in bench.json; capacity model in capacity.md)"
	@$(GO) run ./cmd/benchsummary --load load.json --json bench.json bench.txt

# moto answers a Query by sorting its whole table (every district's records) unless
# PTHV_MOTO_PARTITION_QUERY is set (internal/devstack/motopatch); empty runs moto as it is.
PTHV_MOTO_PARTITION_QUERY ?= 1
load: deps deps-local ## many districts at once on the local stack (PTHV_LOAD_DISTRICTS=40, PTHV_LOAD_STUDENTS=2000, PTHV_LOAD_CONCURRENCY=2); writes load.json for make bench
	set -o pipefail; PTHV_MOTO_PARTITION_QUERY=$(PTHV_MOTO_PARTITION_QUERY) $(GO) test -tags load -run '^TestLoadManyDistricts$$' -count=1 -v -timeout 150m ./integration-tests/ 2>&1 | tee load.txt

fuzz: deps ## run every fuzz target for FUZZTIME (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for fz in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$fz ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
		done; \
	done

demo: cli local-functions deps-local ## run roster drops end to end on the local stack, then stop it
	@./scripts/demo.sh $(DEMO_STUDENTS)

clean: ## remove build output
	rm -rf $(BIN)
