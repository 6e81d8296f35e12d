# The batch OCR worker. `make help` lists the targets.

SHELL        := /bin/bash
GO           ?= go
CACHE_BIN    := $(CURDIR)/.cache/bin
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN    := $(CACHE_BIN)/minio
REDIS_BIN    := $(shell command -v redis-server 2>/dev/null)
export MINIO_BIN
TEST_TIMEOUT ?= 30m
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" at the deadline on a busy
# machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME     ?= 20000x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: deps
deps: redis minio chromium ## install redis-server, redis-sentinel and chromium, build MinIO, when missing

.PHONY: redis
redis:
	@# redis-sentinel (its own Debian package) runs the Sentinel failover tests.
	@missing=""; \
	  command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	  command -v redis-sentinel >/dev/null 2>&1 || missing="$$missing redis-sentinel"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing (Debian packages)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  fi
	@# The packages start a system Redis on 6379 and a sentinel on 26379; tests and the demo use their own on free ports.

.PHONY: chromium
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing chromium (Debian package, for the dashboard's browser test)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

.PHONY: minio
minio: $(MINIO_BIN)

$(MINIO_BIN):
	@echo "building MinIO $(MINIO_VERSION) once (about 4 minutes), cached in .cache/bin"
	@mkdir -p $(CACHE_BIN)
	GOBIN=$(CACHE_BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

.PHONY: build
build: ## build producer, worker, emulator and dashboard into bin/
	$(GO) build -o bin/ ./cmd/...

.PHONY: test
test: deps ## every test, unit and integration, against real Redis and MinIO
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	deploy/validate.sh

.PHONY: fuzz
fuzz: ## run every fuzz target briefly (FUZZTIME=20000x executions)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	  done; \
	done

.PHONY: bench
bench: deps gobench ## Go benchmarks, then the benchmark program: rate, throughput, memory, enqueue ratios
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

.PHONY: gobench
gobench: ## the Go benchmarks (streaming bodies, parsing, the shared limiter)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: demo
# The default demo runs on file storage and needs only redis-server; S3=1
# runs the MinIO variant (built once, about 4 minutes, on first use).
demo: redis $(if $(S3),minio) ## run the real pipeline on the sample documents (folder to folder; S3=1: on MinIO)
	$(GO) run ./cmd/demo $(if $(S3),--s3)

.PHONY: validate-deploy
validate-deploy: ## validate deploy/k8s manifests against the Kubernetes API types (offline)
	deploy/validate.sh

.PHONY: clean
clean: ## remove build output (keeps the cached MinIO)
	rm -rf bin .demo
