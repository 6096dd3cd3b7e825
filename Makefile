# tap-jira. `make help` lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/tap-jira/tap-jira/internal/cli.version=$(VERSION)
FUZZTIME ?= 10s

PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

.PHONY: help build test lint bench instructions fuzz golden demo demo-discover reliability release

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "%-15s %s\n",$$1,$$2}'

build: ## build bin/tap-jira and bin/jira-sim
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tap-jira ./cmd/tap-jira
	$(GO) build -trimpath -o bin/jira-sim ./cmd/jira-sim

release: ## static binaries (no cgo) for linux and darwin, amd64 and arm64, version stamped, into dist/ with SHA256SUMS (VERSION=v1.2.3)
	rm -rf dist
	mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  echo "dist/tap-jira-$$os-$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tap-jira-$$os-$$arch ./cmd/tap-jira; \
	done
	cd dist && sha256sum tap-jira-* > SHA256SUMS
	@echo "dist/: $(VERSION)"

demo: build ## run tap-jira against a local simulated Jira and compare with its ground truth (DEMO_CHECK=1 to fail on a difference)
	./scripts/demo.sh

test: lint ## gofmt, vet, then every test with the race detector (what CI runs)
	$(GO) test -race -shuffle=on -count=1 ./...

lint: ## gofmt must print nothing, go vet must pass, nothing but the Singer writer and the CLI writes to stdout
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if grep -rnE 'fmt\.Print(ln|f)?\(|os\.Stdout' --include='*.go' internal | grep -v '_test.go' | grep -v '^internal/cli/' | grep -v '^internal/singer/'; then \
	  echo "only internal/singer and internal/cli may write to stdout"; exit 1; fi

bench: build ## Go benchmarks (b.Loop, 10 runs each, into bench.txt; compare runs with benchstat), then the whole-sync benchmark against jira-sim
	$(GO) test -run='^$$' -bench=. -benchmem -count=10 ./internal/singer ./internal/tap ./internal/schema ./internal/jira ./internal/streams | tee bench.txt
	./bin/jira-sim bench --tap bin/tap-jira --issues 20000,100000 --concurrency 1,default
	@echo "compare: go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da old.txt bench.txt"

instructions: ## instructions per op of one benchmark, counted by valgrind (BENCH=BenchmarkIssuePage PKG=./internal/tap REV=<git rev> to count it too)
	./scripts/instructions.sh '$(or $(BENCH),BenchmarkIssuePage)' '$(or $(PKG),./internal/tap)' '$(REV)'

fuzz: ## run each fuzz target briefly (FUZZTIME=10s); a bare deadline flake of Go's fuzzer is run again
	GO='$(GO)' ./scripts/fuzz.sh '$(FUZZTIME)'

reliability: ## only the fault, signal, EPIPE and kill -9 tests (also part of make test)
	$(GO) test -race -count=1 -run 'Fault|Signal|ClosedOutput|Kill|Interrupted|BadSites|Retries|Cancel|ScheduledRuns|StoppedBeforeItsScan|Stall' ./internal/...

golden: ## rewrite golden files (review the diff before committing)
	UPDATE_GOLDEN=1 $(GO) test -count=1 ./...

demo-discover: build ## print the catalog (discovery reads /field, here from a local jira-sim) and the about document
	@dir=$$(mktemp -d); ./bin/jira-sim --port-file $$dir/port --issues 10 --email demo@example.com --token demo-token 2>/dev/null & pid=$$!; \
	  for i in $$(seq 1 100); do [ -s $$dir/port ] && break; sleep 0.1; done; \
	  printf '{"base_url": "http://127.0.0.1:%s", "username": "demo@example.com", "password": "demo-token"}' "$$(cat $$dir/port)" >$$dir/config.json; \
	  ./bin/tap-jira --config $$dir/config.json --discover; status=$$?; kill $$pid; rm -rf $$dir; exit $$status
	./bin/tap-jira --about
