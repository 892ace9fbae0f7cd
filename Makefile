# ktest: see README.md.
GO ?= go
KTEST := bin/ktest
# End-to-end tests build a real kernel when the cache is cold (~12 min on
# 2 cores) and boot it under TCG, so the go test timeout is generous.
TEST_TIMEOUT ?= 80m

.PHONY: all setup build run test unit vet errcheck bench faults e2e-eras clean

all: build

# Installs the Debian packages ktest needs (idempotent) and builds ktest.
setup:
	./scripts/setup.sh

# -buildvcs=auto: record the git revision for 'ktest --version' even where
# GOFLAGS turns stamping off; a tree that is not a checkout builds anyway.
build:
	$(GO) build -buildvcs=auto -o $(KTEST) ./cmd/ktest

# The main job on the embedded default plan (Debian's linux-source-6.1).
run: setup
	$(KTEST) run

# staticcheck is a tool dependency pinned in tools.mod/tools.sum, so CI
# needs nothing installed beyond Go. Not in go.mod: the guest's u-root
# busybox is built against go.mod's build list (and keyed by it), which a
# linter's dependencies (newer x/tools, x/mod, x/sync) must not change.
# Update: go get -modfile=tools.mod -tool honnef.co/go/tools/cmd/staticcheck@VERSION
vet:
	$(GO) vet ./...
	$(GO) tool -modfile=tools.mod staticcheck ./...

# errcheck, pinned in tools.mod the same way: every dropped error. A
# deliberate best-effort drop is written `_ =` with a comment saying
# why. Not yet part of vet: vm/, remote/, console/ and faults/ still
# drop some; the rest of the tree is clean.
# Update: go get -modfile=tools.mod -tool github.com/kisielk/errcheck@VERSION
errcheck:
	$(GO) tool -modfile=tools.mod errcheck ./...

# Everything, end-to-end and the fault suite included: what CI runs.
# Packages run one at a time (-p 1): each end-to-end test drives QEMU
# under TCG on a 2-core machine, and overlapping them only adds noise.
# -count=1: never report a cached result for tests that boot kernels.
test: setup vet
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...

# The hardening fault suite alone (guest faults, interrupts, bad input,
# concurrency, security); about 5 minutes with kernels cached.
faults: setup
	$(GO) test -count=1 -timeout 60m -v ./faults/

# The default A/B on the other eras: `ktest run --quick --tree debian:6.12`
# (installs linux-source-6.12; a cold 6.12 build takes 20-40 minutes on
# 2 cores), then the same on a plain extracted copy. Not in `make test`:
# the cold build would push it past its budget.
e2e-eras: setup
	KTEST_E2E_ERAS=1 $(GO) test -count=1 -timeout 150m -v -run 'TestRunQuickOn612' ./cmd/ktest/

# Unit tests only: no kernel build, no QEMU.
unit:
	$(GO) test -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
