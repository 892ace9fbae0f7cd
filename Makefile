# ktest: see README.md.
GO ?= go
KTEST := bin/ktest
# End-to-end tests build a real kernel when the cache is cold (~12 min on
# 2 cores) and boot it under TCG, so the go test timeout is generous.
TEST_TIMEOUT ?= 80m

.PHONY: all setup build run test gate fmt vet tidy errcheck unit bench faults e2e-eras e2e-ci clean

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
vet: errcheck tidy
	$(GO) vet ./...
	$(GO) tool -modfile=tools.mod staticcheck ./...

# errcheck, pinned in tools.mod the same way: no error is dropped. A
# deliberate best-effort drop is written `_ =` with a comment saying why
# (user-facing output goes through cmd/ktest's say, which says it once).
# Part of vet, so of the gate.
# Update: go get -modfile=tools.mod -tool github.com/kisielk/errcheck@VERSION
errcheck:
	$(GO) tool -modfile=tools.mod errcheck ./...

# Everything, as CI runs it (.ci/run): the fast gate first, which stops
# at the first failure, then every test, end-to-end and the fault suite
# included. Packages run one at a time (-p 1): each end-to-end test drives
# QEMU under TCG on a 2-core machine, and overlapping them only adds
# noise. -count=1: never report a cached result for tests that boot
# kernels.
test: setup
	@start=$$(date +%s); $(MAKE) --no-print-directory gate && \
	  echo "make test: the fast gate passed in $$(($$(date +%s) - start)) s; now every test, end-to-end and faults included" >&2
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...

# The fast gate: formatting, go vet and staticcheck, a tidy go.mod, and
# the unit tests (no kernel, no QEMU). About a minute and a half warm.
gate: fmt vet tidy unit

fmt:
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then \
	  echo "gofmt: these files are not formatted (run gofmt -w):" >&2; echo "$$files" >&2; exit 1; fi

# go.mod and go.sum must be what 'go mod tidy' makes of them (the u-root
# commands the guest image compiles are kept by initramfs/dependencies.go).
tidy:
	$(GO) mod tidy -diff

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

# The generated GitLab pipeline for shell runners, run end to end on this
# machine by gitlab-ci-local (npm; pinned in .ci/gitlab-ci-local: 4.53.0,
# the last release for Node 20): the build job, two test shards and the
# merge, artifacts passed between jobs, the merged run checked against one
# machine's; then a second pipeline that builds nothing. Opt-in, not part
# of make test: a cold kernel build and ten boots, 30-60 minutes on a quiet
# 2-core host, hours on a loaded one.
GITLAB_CI_LOCAL := $(CURDIR)/.ci/gitlab-ci-local/node_modules/.bin/gitlab-ci-local
e2e-ci: setup
	npm ci --prefix .ci/gitlab-ci-local --no-audit --no-fund
	KTEST_E2E_CI=1 GITLAB_CI_LOCAL=$(GITLAB_CI_LOCAL) $(GO) test -count=1 -timeout 300m -v -run TestGitLabPipelineLocal ./ci/

# Unit tests only: no kernel build, no QEMU.
unit:
	$(GO) test -short -count=1 ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
