package readtest

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// DumpBlockedTasks asks the kernel for its blocked (D state) tasks and
// their stacks (sysrq w) and returns that part of the kernel log, at
// most maxEvidence bytes from its start: where a hung reader sleeps.
func DumpBlockedTasks() (string, error) {
	if err := os.WriteFile("/proc/sysrq-trigger", []byte("w"), 0); err != nil {
		return "", fmt.Errorf("sysrq w: %w", err)
	}
	// The report is printed synchronously, but give the log a moment
	// for other CPUs' lines.
	time.Sleep(200 * time.Millisecond)
	size, err := unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
	if err != nil || size <= 0 {
		size = 1 << 20
	}
	buf := make([]byte, size)
	n, err := unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf)
	if err != nil {
		return "", fmt.Errorf("reading the kernel log: %w", err)
	}
	return BlockedSection(buf[:n])
}

// maxEvidence bounds the dump kept with a test result.
const maxEvidence = 16 << 10

// BlockedSection returns the last "Show Blocked State" report in a
// kernel log, clipped to maxEvidence bytes.
func BlockedSection(log []byte) (string, error) {
	i := bytes.LastIndex(log, []byte("Show Blocked State"))
	if i < 0 {
		return "", fmt.Errorf("no blocked-task report in the kernel log (CONFIG_MAGIC_SYSRQ?)")
	}
	if j := bytes.LastIndexByte(log[:i], '\n'); j >= 0 {
		i = j + 1
	}
	sec := log[i:]
	if len(sec) > maxEvidence {
		sec = append(sec[:maxEvidence:maxEvidence], []byte("\n[... clipped]\n")...)
	}
	return string(sec), nil
}
