package readtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DumpBlockedTasks asks the kernel where a hung reader sleeps: the
// blocked (D state) tasks and their stacks (sysrq w), and, since an
// io_uring reader waits for completions in an interruptible sleep that
// sysrq w does not show, this program's own threads from the dump of
// every task (sysrq t). At most maxEvidence bytes.
func DumpBlockedTasks() (string, error) {
	log, err := sysrq('w')
	if err != nil {
		return "", err
	}
	blocked, berr := BlockedSection(log)
	if log, err = sysrq('t'); err != nil {
		return blocked, errors.Join(berr, err)
	}
	own := TaskStacks(log, filepath.Base(os.Args[0]))
	return clipEvidence(strings.TrimSpace(blocked + "\n" + own)), nil
}

// sysrq triggers a sysrq command and returns the kernel log after it.
func sysrq(cmd byte) ([]byte, error) {
	if err := os.WriteFile("/proc/sysrq-trigger", []byte{cmd}, 0); err != nil {
		return nil, fmt.Errorf("sysrq %c: %w", cmd, err)
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
		return nil, fmt.Errorf("reading the kernel log: %w", err)
	}
	return buf[:n], nil
}

// TaskStacks returns the stacks of the tasks named comm (the kernel
// keeps 15 bytes of it) in the last task dump of a kernel log: those in
// I/O (an io_uring or page-wait frame) when there are any, else all of
// them; a Go program's other threads only wait for work.
func TaskStacks(log []byte, comm string) string {
	all := taskStacks(log, comm)
	var io []string
	for _, st := range all {
		if ioWaitRE.MatchString(st) {
			io = append(io, st)
		}
	}
	if len(io) > 0 {
		return strings.Join(io, "\n")
	}
	return strings.Join(all, "\n")
}

// ioWaitRE matches a stack frame of a reader waiting for I/O.
var ioWaitRE = regexp.MustCompile(`io_uring|io_cqring|folio_wait|wait_on_page|filemap_|blk_mq|submit_bio`)

// taskStacks returns each task block named comm in the last task dump.
func taskStacks(log []byte, comm string) []string {
	if len(comm) > 15 {
		comm = comm[:15]
	}
	if i := bytes.LastIndex(log, []byte("sysrq: Show State")); i >= 0 {
		log = log[i:]
	}
	var out []string
	var cur []string
	keep := false
	flush := func() {
		if keep {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur, keep = nil, false
	}
	for _, line := range strings.Split(string(log), "\n") {
		if i := strings.Index(line, "task:"); i >= 0 {
			flush()
			keep = strings.HasPrefix(line[i+len("task:"):], comm+" ")
		}
		cur = append(cur, line)
	}
	flush()
	return out
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
	return clipEvidence(string(log[i:])), nil
}

func clipEvidence(s string) string {
	if len(s) > maxEvidence {
		return s[:maxEvidence] + "\n[... clipped]\n"
	}
	return s
}
