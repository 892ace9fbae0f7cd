# ktest: see README.md.
GO ?= go
KTEST := bin/ktest
# End-to-end tests build a real kernel when the cache is cold (~12 min on
# 2 cores) and boot it under TCG, so the go test timeout is generous.
TEST_TIMEOUT ?= 80m

.PHONY: all setup build run test unit vet bench faults clean

all: build

# Installs the Debian packages ktest needs (idempotent) and builds ktest.
setup:
	./scripts/setup.sh

build:
	$(GO) build -o $(KTEST) ./cmd/ktest

# The main job on the embedded default plan (Debian's linux-source-6.1).
run: setup
	$(KTEST) run

vet:
	$(GO) vet ./...

# Everything, end-to-end included: what CI runs.
test: setup vet
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# Unit tests only: no kernel build, no QEMU.
unit:
	$(GO) test -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
