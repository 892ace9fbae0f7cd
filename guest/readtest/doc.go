// Package readtest is the guest side of ktest's buffered-read experiment:
// io_uring (and preadv) correctness tests over a self-verifying pattern
// file, and the fio benchmark from the "async buffered reads" cover letter.
//
// A Target is pattern data on a filesystem (NewFileTarget, after Mkfs and
// Mount) or a raw block device (NewRawTarget). RunCases runs the named
// correctness tests (Cases), each in its own goroutine with a timeout, so a
// read stuck in the kernel is reported as "hung" instead of stalling the
// run. RunBench runs fio for each engine (proto.Engines) cold, several times, and
// measures system-wide CPU, context switches and io-wq workers from /proc.
// Results use the JSON types of guest/proto; cmd ktest-readtest wires it
// together.
//
// It imports nothing from the host side of ktest.
package readtest
