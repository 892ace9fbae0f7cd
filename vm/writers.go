// Small writers: one serialised writer for stdout and stderr, and the
// tail of QEMU's stderr and of the console log for error messages.

package vm

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
)

// serializeSameWriter makes one writer given as both stdout and stderr
// safe: the SSH session copies the two streams concurrently, and e.g. a
// shared bytes.Buffer would lose data to its concurrent ReadFrom calls.
func serializeSameWriter(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil || stderr == nil || !reflect.TypeOf(stdout).Comparable() || stdout != stderr {
		return stdout, stderr
	}
	w := &lockedWriter{w: stdout}
	return w, w
}

// lockedWriter serializes writes. It deliberately has no ReadFrom.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// tailLines returns the last n lines of the file at path ("" if it
// cannot be read), reading at most its last 64 KiB.
func tailLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	const window = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		// Without the seek the whole log would be read: say nothing
		// rather than read more than the window.
		if _, err := f.Seek(st.Size()-window, io.SeekStart); err != nil {
			return ""
		}
	}
	b, _ := io.ReadAll(f)
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
