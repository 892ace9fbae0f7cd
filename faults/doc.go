// Package faults is ktest's hardening suite: it proves that ktest fails
// well. It holds no product code, only tests (run them with `make faults`,
// or `go test -count=1 -timeout 60m -v ./faults/`); they build real
// kernels (or find them cached), boot them in real QEMU and run the real
// ktest binary, built once by TestMain, as a subprocess wherever the
// behaviour under test is the CLI's (exit codes, signals, messages).
//
// The checks, one named (sub)test each:
//
//   - TestGuestFaults: a kernel that panics while booting, an oops, a
//     WARNING with panic_on_warn=1, a hung task, a command that never
//     returns and a guest whose agent never answers SSH are each detected
//     and reported with their kind and console excerpt within their
//     timeout, and leave no QEMU process and no run directory or disk
//     image behind. The faults come from the test-only kernel patches in
//     patches/faults-6.1 (a debugfs trigger, /sys/kernel/debug/ktest_fault,
//     and an io_uring page-wait callback that never wakes). Through the
//     CLI: the fault-never-wake plan exits 1 naming the hung test, and
//     `ktest boot --exec` of an oops exits 1 printing the crash.
//   - TestLockups: a kernel (patches/lockup-6.1) whose first io_uring
//     read of a file spins without cond_resched() (soft lockup) or with
//     interrupts off (hard lockup, a silent console) costs at most one
//     test timeout plus the grace: the soft lockup's report ends the
//     test at once, the frozen guest is found by its silence and NMI'd
//     through QEMU's monitor; the spinning function's stack is the
//     test's evidence, the rest of the target is not run, the next
//     target runs, and no QEMU is left.
//   - TestPerPatch and TestPerPatchHostKillsQEMU: per-patch runs name
//     patch 2 with its compiler error or hang, also when patch 3 does
//     not repair it (the whole series does not build); QEMU killed from
//     outside during a step's boot is retried once, then the run exits
//     3 naming the host, and no patch is named bad.
//   - TestInterrupts: SIGINT and SIGTERM to `ktest run` during the build,
//     the boot and the tests exit 130, leave results.json with
//     complete=false and status "interrupted", leave no QEMU, make or
//     compiler process, and leave the build cache usable (the interrupted
//     variant is really rebuilt by the next run, which passes).
//   - TestBadInput: damaged seeds, empty, binary and truncated inputs, a
//     series with a missing patch, trees that are not kernel trees, a
//     fragment with a syntax error and a plan with an unknown key exit 2
//     (a missing patch is only a warning) naming the file, the line and
//     the reason, and write nothing to the tree or the cache.
//   - TestConcurrency: two runs at once both pass with distinct host
//     ports and temp files and leave a cache that parses; two builds of
//     one new kernel at once run make once, the second waiting for the
//     first and then taking its result from the cache.
//   - TestSecurity: per-run SSH keys, the pinned host key and key-only
//     authentication against a booted guest; the SSH forward listens on
//     127.0.0.1 only; the guest reaches nothing on the host or outside;
//     no private key lands in run directories, logs or consoles; files
//     are not world-writable and keys are 0600; patch paths cannot
//     escape the tree.
//
// Processes the suite starts carry KTEST_FAULTS_MARK in their environment
// (QEMU, make and the compilers inherit it), which is how the leak checks
// find what a ktest left running, and the suite points TMPDIR at its own
// directory so that leftover VM run directories show.
//
// The suite writes only to its temp directory and to the ktest cache; the
// builds it causes are variants of the default kernel, so a warm cache
// keeps it within about 25 minutes on two cores.
package faults
