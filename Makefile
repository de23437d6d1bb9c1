# svccheck build, test and benchmark entry points.
GO ?= go
BIN := bin/svccheck
# The e2e clusters' name prefix; each test names its cluster
# $(E2E_NAME)-<pid>, deletes it at the end, and first deletes those of
# e2e runs that are gone.
E2E_NAME ?= svccheck-e2e

.PHONY: build run check test unit integration lint bench bench-kube-proxy bench-kube-proxy-smoke fuzz fuzz-render fuzz-snapshot e2e e2e-suites clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/svccheck

# The main job: svccheck run (RUN_ARGS are passed on).
RUN_ARGS ?=
run: build
	$(BIN) run $(RUN_ARGS)

# Everything CI runs: unit and integration tests, the snapshot fuzzer,
# end-to-end tests.
check: test fuzz-snapshot e2e

# Unit and integration tests. Integration tests (TestIntegration...) need root,
# iptables, iproute2 and conntrack; without them they skip and say why, or
# fail with SVCCHECK_REQUIRE_PRIVILEGED=1 (as .ci/run sets it).
test:
	$(GO) test -race -count=1 ./...
	SVCCHECK_IT_BACKEND=legacy $(GO) test -race -count=1 -run 'TestIntegration' ./proxyimpl/integration/

unit:
	$(GO) test -short -count=1 ./...

integration:
	$(GO) test -count=1 -run 'TestIntegration' -v ./...
	SVCCHECK_IT_BACKEND=legacy $(GO) test -count=1 -run 'TestIntegration' -v ./proxyimpl/integration/

# golangci-lint as pinned in tools/go.mod (.golangci.yml says what runs),
# and go.mod and tools/go.mod tidy.
GOLANGCI_LINT := bin/golangci-lint
$(GOLANGCI_LINT): tools/go.mod tools/go.sum
	$(GO) -C tools build -o $(CURDIR)/$(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(GOLANGCI_LINT)
	@$(GO) mod tidy -diff || { echo "go.mod is not tidy: run go mod tidy"; exit 1; }
	@$(GO) -C tools mod tidy -diff || { echo "tools/go.mod is not tidy: run go -C tools mod tidy"; exit 1; }
	@$(GO) -C proxyimpl/bench mod tidy -diff || { echo "proxyimpl/bench/go.mod is not tidy: run go -C proxyimpl/bench mod tidy"; exit 1; }
	$(GOLANGCI_LINT) run ./...
	@# The GitHub Actions job in docs/ci.md, with actionlint when installed
	@# (go install github.com/rhysd/actionlint/cmd/actionlint@latest).
	@if command -v actionlint >/dev/null; then \
		awk '/^```yaml/{f=1;next} /^```/{f=0} f' docs/ci.md | actionlint -stdin-filename docs-ci.yml - && echo "docs/ci.md workflow: actionlint clean"; \
	else echo "actionlint not installed: docs/ci.md workflow not linted"; fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./proxyimpl/...

# svccheck's proxy beside kube-proxy v1.37's own Proxiers (iptables mode on
# both backends, nftables mode), same synthetic cluster, each in a fresh
# network namespace (root). Its own Go module: k8s.io/kubernetes stays out of
# go.mod. BENCH_SIZES and BENCH_LIMIT tune it; the results also go, as JSON,
# to BENCH_JSON (the raw figures behind docs/performance.md's table).
BENCH_SIZES ?= 1000,3000,10000
BENCH_LIMIT ?= 20m
BENCH_JSON ?= $(CURDIR)/docs/bench-kube-proxy.json
bench-kube-proxy:
	cd proxyimpl/bench && $(GO) run . -sizes $(BENCH_SIZES) -limit $(BENCH_LIMIT) -json $(BENCH_JSON)

# The same at 100 Services, one partial sync: that every proxy still runs.
bench-kube-proxy-smoke:
	cd proxyimpl/bench && $(GO) vet . && $(GO) run . -sizes 100 -partials 1 -limit 5m

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./proxyimpl/iptables/ipsave

# Random Services rendered and applied with real iptables-restore (root).
fuzz-render:
	$(GO) test -run '^$$' -fuzz FuzzRender -fuzztime 60s ./proxyimpl/render

# Arbitrary Services, EndpointSlices and a Node through snapshot.Build and
# the renderer, every text tested by real iptables-restore (root).
FUZZTIME ?= 2m
fuzz-snapshot:
	$(GO) test -run '^$$' -fuzz '^FuzzSnapshot$$' -fuzztime $(FUZZTIME) ./proxyimpl/render

# The suites end to end on a real kind cluster: svccheck run against
# svccheck's proxy (every spec must pass), then against the proxy broken on
# purpose, one --break per run (affinity, terminating, etplocal, reject), each
# with --parallel 3 over the specs that could notice: exactly the specs that
# check the broken behaviour must fail; then, on the same cluster, the cluster
# checks (suites/e2e), the fault checks last. Needs root and Docker.
E2E_OUTPUT ?= $(CURDIR)/svccheck-results/e2e
e2e-suites: build
	SVCCHECK_BIN=$(CURDIR)/$(BIN) SVCCHECK_E2E_NAME=$(E2E_NAME)-suites SVCCHECK_E2E_OUTPUT=$(E2E_OUTPUT) \
		$(GO) test -tags e2e -count=1 -timeout 60m -v ./suites/e2e/

# End to end: a 3-node kind cluster with E2E_PROXY (svccheck or kube-proxy[:mode]),
# a ClusterIP Service probed from a pod, a NodePort Service from every node,
# every node's nat table checked, then the cluster deleted and checked gone;
# then e2e-suites (svccheck run, intact and broken proxy).
E2E_PROXY ?= svccheck
e2e: build node-image
	SVCCHECK_BINARY=$(CURDIR)/$(BIN) SVCCHECK_E2E_NAME=$(E2E_NAME) SVCCHECK_E2E_PROXY=$(E2E_PROXY) \
		$(GO) test -tags e2e -count=1 -timeout 30m -v -run '^TestE2E$$' ./suites/cluster
	$(MAKE) e2e-suites

clean:
	rm -rf bin

# The air-gapped kind node image (needs root, Docker, Go and debootstrap).
.PHONY: node-image
node-image: build
	$(BIN) image build-node
