# Flotilla's two commands: `make demo` and `make test`. See README.md.

SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(BIN)/tools
GOLANGCI_LINT_VERSION := v2.15.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# -s -w leave out the symbol table and DWARF (a third of the binary); stack
# traces keep their function names and lines.
LDFLAGS := -s -w -X github.com/flotilla-dev/flotilla/internal/version.Version=$(VERSION)
# Where hack/k8s puts the Kubernetes binaries; exported so tests find them.
export FLOTILLA_K8S_BIN ?= $(HOME)/.cache/flotilla/k8s/v1.37.2
# How long `go test` may run one package.
TEST_TIMEOUT ?= 45m
TEST_FLAGS ?= -race

CONTROLLER_GEN := go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0

.PHONY: all build k8s test-deps test fuzz image image-push image-test demo demo-down bench bench-peers lint fmt generate verify-generated clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/flotilla ./cmd/flotilla

# The Kubernetes control plane for localfleet: built once, cached outside the repo.
k8s:
	bash hack/k8s/build.sh

# Everything the tests need that Go does not bring.
test-deps: k8s
	bash hack/test-deps.sh

# `go test` replays every fuzz target's seed corpus and the failing inputs
# kept under testdata/fuzz; `make fuzz` explores beyond them.
test: test-deps
	$(GO) test $(TEST_FLAGS) -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd hack/k8s && $(GO) vet ./...

# Every native fuzz target for a while (FUZZTIME inputs each, default 2000x).
fuzz:
	bash hack/fuzz.sh

# The container image, without Docker: an OCI layout in bin/image for amd64
# and arm64, with an SPDX SBOM beside it (hack/image/build.sh).
image:
	VERSION=$(VERSION) bash hack/image/build.sh

# Pushes bin/image to $(REGISTRY)/flotilla:$(VERSION), with the credentials
# of `docker login` (or any container registry login of the user).
image-push:
	@test -n "$(REGISTRY)" || (echo "usage: make image-push REGISTRY=registry.example.com/org" >&2; exit 1)
	$(GO) run ./hack/image push --layout bin/image --ref $(REGISTRY)/flotilla:$(VERSION)

# Builds the image and checks it: pushed to a registry and read back, run.
image-test: image
	$(GO) test -tags image -count=1 ./hack/image/

demo: build k8s test-deps
	$(BIN)/flotilla dev up --clusters 3 --examples examples

demo-down: build
	$(BIN)/flotilla dev down

bench: build k8s
	bash hack/bench.sh

# Flotilla side by side with Flux (docs/BENCHMARKS.md): hack/peers builds
# Flux's controllers once into a cache outside the repo. PEERS_APPS folders
# (100 or 1000), PEERS_COUNT samples of each tool.
PEERS_APPS ?= 100
PEERS_COUNT ?= 1
bench-peers: k8s
	peers="$$(bash hack/peers/build.sh | tail -n 1)" && \
	FLOTILLA_PEERS_BIN="$${peers}" FLOTILLA_PEERS_APPS=$(PEERS_APPS) \
	$(GO) test -run '^$$' -bench BenchmarkPeers -benchtime 1x -count $(PEERS_COUNT) -timeout 300m ./test/peers/

lint: $(TOOLS)/golangci-lint
	$(TOOLS)/golangci-lint run ./...

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# Deep copies and CRDs from the types in api/; the controller's Role from the
# RBAC markers in internal/controller.
generate:
	$(CONTROLLER_GEN) object paths=./api/... crd output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=flotilla-controller paths=./internal/controller/... output:rbac:artifacts:config=config/rbac

# CI: generated files and go.mod/go.sum are what `make generate` and
# `go mod tidy` would write.
verify-generated: generate
	$(GO) mod tidy
	git diff --exit-code -- api config/crd config/rbac go.mod go.sum || (echo "generated files or go.mod are stale: run make generate and go mod tidy" >&2; exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
