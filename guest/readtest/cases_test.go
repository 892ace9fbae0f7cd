package readtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/guest/readtest/uring"
	"golang.org/x/sys/unix"
)

// skipNoUring skips where io_uring cannot be set up.
func skipNoUring(t *testing.T) {
	t.Helper()
	r, err := uring.New(2)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// fileTarget writes a pattern file of FileSizeFor(size) bytes in a temp dir.
// Caches are dropped per file only (fadvise), never system-wide.
func fileTarget(t *testing.T, size int64) *Target {
	t.Helper()
	tg, err := NewFileTarget(FSExt4, filepath.Join(t.TempDir(), "readtest.dat"), FileSizeFor(size), Pattern{Seed: 0x5eed})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// rawTarget treats a regular file as the raw "device".
func rawTarget(t *testing.T, devSize, dataSize int64) *Target {
	t.Helper()
	img := filepath.Join(t.TempDir(), "raw.img")
	if err := os.Truncate(img, 0); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(devSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	tg, err := NewRawTarget(img, dataSize, Pattern{Seed: 0xdead})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

var quick = Options{Timeout: 60 * time.Second, RandReads: 512, RaceDuration: 300 * time.Millisecond}

func TestCasesPassOnRealFiles(t *testing.T) {
	skipNoUring(t)
	targets := []struct {
		name string
		t    *Target
		skip map[string]bool
	}{
		{"file", fileTarget(t, 4<<20), nil},
		{"raw image", rawTarget(t, 8<<20, 4<<20), map[string]bool{"truncate-race": true}},
	}
	for _, tg := range targets {
		if tg.t.Size%BlockSize == 0 && tg.t.FS != "" {
			t.Fatalf("file size %d is block aligned; EOF would not fall mid-page", tg.t.Size)
		}
		for _, c := range Cases() {
			t.Run(tg.name+"/"+c.Name, func(t *testing.T) {
				o := quick
				r := RunCase(context.Background(), c, tg.t, &o)
				want := proto.StatusPass
				if tg.skip[c.Name] {
					want = proto.StatusSkip
				}
				if r.Status != want {
					t.Fatalf("status %s (%s), want %s", r.Status, r.Message, want)
				}
				t.Logf("%s in %d ms: %s", r.Status, r.DurationMS, r.Message)
			})
		}
	}
}

// TestVerifierCatchesCorruption corrupts one byte of the file on disk and
// checks every read path reports that exact offset.
func TestVerifierCatchesCorruption(t *testing.T) {
	skipNoUring(t)
	tg := fileTarget(t, 1<<20)
	const bad = 5*BlockSize + 1234
	f, err := os.OpenFile(tg.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	tg.Pattern.Fill(b[:], bad)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b[:], bad); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	reqs := []req{{0, BlockSize}, {5*BlockSize + 1000, 3000}, {4 * BlockSize, 2 * BlockSize}}
	tests := []struct {
		name string
		read func() (readStats, error)
	}{
		{"io_uring READ", func() (readStats, error) { return uringRead(tg, reqs, 4, 0, nil) }},
		{"io_uring READ async", func() (readStats, error) { return uringRead(tg, reqs, 4, uring.SQEAsync, nil) }},
		{"io_uring READV", func() (readStats, error) { return uringRead(tg, reqs, 4, 0, []int{7, 1000, 13}) }},
		{"preadv", func() (readStats, error) { return preadvRead(tg, reqs, []int{7, 1000, 13}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tg.DropCaches(); err != nil {
				t.Fatal(err)
			}
			_, err := tc.read()
			var re *ReadError
			var m *Mismatch
			if !errors.As(err, &re) || !errors.As(err, &m) {
				t.Fatalf("err = %v, want a ReadError wrapping a Mismatch", err)
			}
			if m.Off != bad || m.BadBytes != 1 {
				t.Errorf("mismatch at %d with %d bad bytes, want %d with 1: %v", m.Off, m.BadBytes, bad, err)
			}
		})
	}
}

// TestEOFMismatchFails: a file one byte longer than the target claims must
// fail the eof test (a read returning more than the exact short count).
func TestEOFMismatchFails(t *testing.T) {
	skipNoUring(t)
	tg := fileTarget(t, 1<<20)
	lying := *tg
	lying.Size--
	lying.Regions = [][2]int64{{0, lying.Size}}
	o := quick
	r := RunCase(context.Background(), Case{"eof", eofCase}, &lying, &o)
	if r.Status != proto.StatusFail || !strings.Contains(r.Message, "past the") {
		t.Fatalf("status %s: %s; want a failure about reading past EOF", r.Status, r.Message)
	}
}

// TestHungCaseIsReported simulates a hang with an io_uring read of a pipe
// that gets no data before the timeout.
func TestHungCaseIsReported(t *testing.T) {
	skipNoUring(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	hang := Case{"pipe-hang", func(ctx context.Context, _ *Target, _ *Options) (string, error) {
		defer close(released)
		r, err := uring.New(2)
		if err != nil {
			return "", err
		}
		defer func() { _ = r.Close() }() // test cleanup: best effort
		buf, err := uring.Alloc(4096)
		if err != nil {
			return "", err
		}
		defer func() { _ = uring.Free(buf) }() // test cleanup: best effort
		if err := r.Queue(uring.SQE{Opcode: uring.OpRead, FD: p[0], Addr: uring.Addr(buf), Len: 4096}); err != nil {
			return "", err
		}
		c, err := r.WaitCQE() // blocks: nothing is written
		return "read " + string(buf[:max(c.Res, 0)]), err
	}}
	o := Options{Timeout: 300 * time.Millisecond}
	start := time.Now()
	res := RunCase(context.Background(), hang, nil, &o)
	if res.Status != proto.StatusHung || !strings.Contains(res.Message, "pipe-hang") {
		t.Fatalf("got %+v, want status hung naming the test", res)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("RunCase returned after %v, want about the 300ms timeout", d)
	}
	// Release the abandoned goroutine so the test leaves nothing behind.
	if _, err := unix.Write(p[1], []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Error("abandoned reader did not finish once the pipe had data")
	}
	if err := unix.Close(p[0]); err != nil {
		t.Fatal(err)
	}
	if err := unix.Close(p[1]); err != nil {
		t.Fatal(err)
	}
}

func TestRunCaseOutcomes(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, *Target, *Options) (string, error)
		want string
		msg  string
	}{
		{"pass", func(context.Context, *Target, *Options) (string, error) { return "ok", nil }, proto.StatusPass, "ok"},
		{"fail", func(context.Context, *Target, *Options) (string, error) { return "", errors.New("boom") }, proto.StatusFail, "boom"},
		{"skip", func(context.Context, *Target, *Options) (string, error) { return "", &SkipError{"n/a"} }, proto.StatusSkip, "n/a"},
		{"panic", func(context.Context, *Target, *Options) (string, error) { panic("oops") }, proto.StatusFail, "panic: oops"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Timeout: 5 * time.Second}
			r := RunCase(context.Background(), Case{tc.name, tc.run}, nil, &o)
			if r.Status != tc.want || r.Message != tc.msg || r.Name != tc.name {
				t.Errorf("got %+v, want status %s message %q", r, tc.want, tc.msg)
			}
		})
	}
}

func TestRunCasesOnlyAndCancel(t *testing.T) {
	skipNoUring(t)
	tg := fileTarget(t, 1<<20)
	res, hung := RunCases(context.Background(), tg, Options{Only: []string{"eof", "preadv"}, RandReads: 64})
	if hung || len(res) != 2 || res[0].Name != "eof" || res[1].Name != "preadv" {
		t.Fatalf("Only run gave %+v (hung %v), want eof and preadv", res, hung)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, _ = RunCases(ctx, tg, Options{Only: []string{"eof"}})
	if len(res) != 1 || res[0].Status != proto.StatusSkip {
		t.Fatalf("cancelled run gave %+v, want eof skipped", res)
	}
}

// TestRaceCheckInvariant feeds synthetic completions to the truncate-race
// invariant.
func TestRaceCheckInvariant(t *testing.T) {
	rc := &raceCheck{seed: 100, small: 10*BlockSize + 1000, full: 20*BlockSize + 1234}
	gen := func(g int64, off int64, n int) []byte {
		b := make([]byte, n)
		rc.gen(g).Fill(b, off)
		return b
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	small := rc.small
	tests := []struct {
		name   string
		off    int64
		buf    []byte
		res    int32
		t0, t1 int64
		errHas string // "" = must pass
	}{
		{"gen0 before any shrink", small - 100, gen(0, small-100, 300), 300, 0, 0, ""},
		{"zeros after shrink", small - 100, cat(gen(0, small-100, 100), make([]byte, 200)), 300, 1, 1, ""},
		{"current generation", small, gen(3, small, 500), 500, 3, 3, ""},
		{"generation written during the read", small, gen(4, small, 500), 500, 3, 4, ""},
		{"torn: zeros then generation", small, cat(make([]byte, 100), gen(2, small+100, 100)), 200, 2, 2, ""},
		{"short count", small - 10, gen(0, small-10, 10), 10, 2, 2, ""},
		{"stale generation after shrink", small, gen(2, small, 500), 500, 3, 3, "stale data"},
		{"stale original after first shrink", small + 5, gen(0, small+5, 64), 64, 1, 1, "stale data"},
		{"future generation", small, gen(5, small, 64), 64, 3, 3, "neither zero nor generation 3..3"},
		{"below small corrupted", small - 100, make([]byte, 50), 50, 1, 1, "below the shrink point"},
		{"past the largest size", rc.full - 10, make([]byte, 20), 20, 1, 1, "past the largest file size"},
		{"error completion", small, nil, -int32(unix.EIO), 0, 0, "input/output error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := append(tc.buf, make([]byte, 64)...)
			err := rc.check(tc.off, max(int(tc.res), 1), tc.res, buf, tc.t0, tc.t1)
			if tc.errHas == "" && err != nil {
				t.Fatalf("unexpected failure: %v", err)
			}
			if tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Fatalf("err = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

// TestTruncateRaceCatchesStaleData runs the real race with a writer that
// counts shrinks without doing them, as a kernel keeping stale pages would
// look to readers, and expects the readers to notice.
func TestTruncateRaceCatchesStaleData(t *testing.T) {
	skipNoUring(t)
	const full = 1<<20 + 1234
	path := filepath.Join(t.TempDir(), "race.dat")
	if err := CreateFile(path, full, Pattern{Seed: 9}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // test cleanup: best effort
	rc := &raceCheck{seed: 9, small: full / 2, full: full, brokenShrink: true}
	_, _, err = rc.race(context.Background(), f, time.Second)
	if err == nil || !strings.Contains(err.Error(), "generation") {
		t.Fatalf("race with stale data: %v, want a stale-generation failure", err)
	}
	t.Log(err)
}

// TestCasesMatchProto keeps the wire contract's list of test names, which
// the host validates plans against, equal to the cases that exist.
func TestCasesMatchProto(t *testing.T) {
	var names []string
	for _, c := range Cases() {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, proto.CorrectnessTests) {
		t.Errorf("Cases() = %v\nproto.CorrectnessTests = %v", names, proto.CorrectnessTests)
	}
}
