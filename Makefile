# svccheck build, test and benchmark entry points.
GO ?= go
BIN := bin/svccheck
# The e2e cluster name; make e2e creates and deletes it.
E2E_NAME ?= svccheck-e2e

.PHONY: build test unit integration lint bench fuzz e2e clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/svccheck

# Unit and integration tests. Integration tests (TestIntegration...) need root,
# iptables, iproute2 and conntrack; without them they skip and say why.
test:
	$(GO) test -count=1 ./...

unit:
	$(GO) test -short -count=1 ./...

integration:
	$(GO) test -count=1 -run 'TestIntegration' -v ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./proxyimpl/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./proxyimpl/iptables/iptablestest

clean:
	rm -rf bin
