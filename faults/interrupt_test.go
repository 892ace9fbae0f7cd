package faults

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// stageStartRE matches a stage's start line in ktest's progress log.
var stageStartRE = regexp.MustCompile(`(?m)^ktest: stage (\w+)(?: \[[^\]]*\])? \.\.\.$`)

// currentStage returns the stage ktest's log says is running: the last
// one started.
func currentStage(log string) string {
	m := stageStartRE.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// TestInterrupts sends SIGINT and SIGTERM to `ktest run` while it builds,
// boots and tests, and SIGHUP while it boots. Each must exit 128+signal,
// leave results.json saying the run is incomplete and interrupted (by
// which signal, in which stage), and leave no QEMU,
// make or compiler process, no VM run directory and no guest image. The
// cache must stay usable: after the build was interrupted twice, the same
// command rebuilds the variant (no half-built result reused) and passes.
// (The plain `ktest run --quick --targets ext4` interrupted at boot and
// test is re-run to completion by TestConcurrency.)
func TestInterrupts(t *testing.T) {
	requireSuite(t)
	tr := tree(t)

	// The mid-build series: a comment in fs/ext4/file.c, unique to this
	// suite run so its build is a real incremental make (~20 s), never a
	// cache hit.
	var nonce [6]byte
	rand.Read(nonce[:])
	series := filepath.Join(t.TempDir(), "ext4-comment.diff")
	diff := treeDiff(t, tr.Dir, "fs/ext4/file.c", 1, "/* ktest fault suite: interrupted build "+hex.EncodeToString(nonce[:])+" */")
	if err := os.WriteFile(series, []byte(diff), 0o644); err != nil {
		t.Fatal(err)
	}
	buildArgs := []string{"run", "--quick", "--targets", "ext4", "--series", series}
	plainArgs := []string{"run", "--quick", "--targets", "ext4"}

	type interrupt struct {
		stage string
		args  []string
		wait  string // the log line after which the stage is under way
		proc  string // the process that must be running when the signal goes
	}
	phases := []interrupt{
		{"boot", plainArgs, "ktest: stage boot [baseline] ...", "qemu-system"},
		{"test", plainArgs, "ktest: stage test [baseline/ext4] ...", "qemu-system"},
		{"build", buildArgs, "build [patched]: make -j", "make"},
	}
	for _, ph := range phases {
		sigs := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
		if ph.stage == "boot" {
			sigs = append(sigs, syscall.SIGHUP) // the terminal closing
		}
		for _, sig := range sigs {
			t.Run("mid-"+ph.stage+"/"+sig.String(), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "run")
				tmp := t.TempDir()
				p := startKtest(t, procOpts{tmpDir: tmp}, append(append([]string(nil), ph.args...), "--out", out)...)
				if !p.waitFor(ph.wait, 20*time.Minute) {
					t.Fatalf("ktest never logged %q; stderr:\n%s", ph.wait, tail(p.stderr.String(), 30))
				}
				time.Sleep(2 * time.Second)
				var running []proc
				for _, q := range markedProcs(p.mark) {
					if strings.HasPrefix(q.comm, ph.proc) {
						running = append(running, q)
					}
				}
				stage := currentStage(p.stderr.String())
				if len(running) == 0 {
					t.Errorf("no %s process of this ktest was running when the signal was sent", ph.proc)
				}
				if stage != ph.stage {
					t.Errorf("signal sent during stage %q, want %q (timing off?)", stage, ph.stage)
				}
				sent := time.Now()
				p.signal(sig)
				code := p.wait(time.Minute)
				t.Logf("%v during %s (%d %s running): exit %d after %v; stderr tail:\n%s", sig, stage, len(running), ph.proc,
					code, p.end.Sub(sent).Round(time.Millisecond), tail(p.stderr.String(), 6))
				if code != 128+int(sig) {
					t.Errorf("exit %d, want %d", code, 128+int(sig))
				}
				run, err := results.Load(out)
				if err != nil {
					t.Fatalf("results.json after the interrupt: %v", err)
				}
				if run.Complete || run.Status != results.StatusInterrupted {
					t.Errorf("results: complete=%v status=%q, want complete=false status=%q", run.Complete, run.Status, results.StatusInterrupted)
				}
				if run.Error == nil || run.Error.Stage != ph.stage || !strings.Contains(run.Error.Message, "interrupted by SIG") {
					t.Errorf("results error %+v, want the interrupted stage %q and the signal", run.Error, ph.stage)
				}
				if n := len(run.Stages); n == 0 || run.Stages[n-1].Status != "interrupted" {
					t.Errorf("last recorded stage %+v, want status interrupted", run.Stages)
				}
				// make gets SIGTERM, then SIGKILL 10 s later at worst.
				assertNoLeftovers(t, p.mark, 15*time.Second, tmp, out)
				assertNoSecrets(t, out)
			})
		}
	}

	t.Run("rerun after interrupted builds", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		tmp := t.TempDir()
		p := startKtest(t, procOpts{tmpDir: tmp}, append(append([]string(nil), buildArgs...), "--out", out)...)
		code := p.wait(20 * time.Minute)
		stderr := p.stderr.String()
		t.Logf("exit %d; stderr:\n%s", code, grepLines(stderr, "stage |build \\[patched\\]"))
		if code != 0 {
			t.Errorf("exit %d, want 0: the cache must be usable after interrupted builds", code)
		}
		if strings.Contains(stderr, "build [patched]: cache hit") {
			t.Errorf("the interrupted variant was a cache hit: a half-built kernel was published")
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !run.Complete || run.Status != results.StatusPass {
			t.Errorf("run complete=%v status=%q error=%+v, want a complete pass", run.Complete, run.Status, run.Error)
		}
		v := run.Variant("patched")
		if v == nil {
			t.Fatal("no patched variant")
		}
		if v.Kernel.Cached || v.Kernel.Objects < 1 {
			t.Errorf("patched kernel cached=%v objects=%d, want a real rebuild", v.Kernel.Cached, v.Kernel.Objects)
		}
		if b := run.Variant("baseline"); b != nil && b.Kernel.Key == v.Kernel.Key {
			t.Errorf("baseline and patched have the same kernel key %s", v.Kernel.Key)
		}
		if log, err := os.ReadFile(filepath.Join(cache(t).Dir, "kernels", v.Kernel.Key, "build.log")); err != nil {
			t.Errorf("published kernel's build log: %v", err)
		} else {
			t.Logf("rebuild compiled fs/ext4/file.o: %v", strings.Contains(string(log), "fs/ext4/file.o"))
		}
		assertNoLeftovers(t, p.mark, 5*time.Second, tmp, out)
		assertNoSecrets(t, out)
		// A one-off kernel: keep the shared cache from growing every run.
		if err := cache(t).Remove(v.Kernel.Key); err != nil {
			t.Error(err)
		}
		assertCacheParses(t, cache(t).Dir)
	})
}

// grepLines returns the lines of s matching re.
func grepLines(s, re string) string {
	r := regexp.MustCompile(re)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if r.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBrokenPipe: the reader of ktest's stdout goes away. `ktest run |
// tail` stopped with Ctrl-C gets SIGINT in both processes; tail dies at
// once and ktest's summary then meets a closed pipe, which must not kill
// it in the middle of its cleanup (exit 130, a finished results.json).
// A reader that goes away on its own (`ktest boot --exec yes | head`)
// stops ktest as SIGPIPE would, but cleanly: exit 141, nothing left.
func TestBrokenPipe(t *testing.T) {
	requireSuite(t)
	kernel := stockKernelImage(t)

	t.Run("run | tail, Ctrl-C", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = w.Close() }() // teardown: nothing is written through it any more
		out := filepath.Join(t.TempDir(), "run")
		tmp := t.TempDir()
		p := startKtest(t, procOpts{tmpDir: tmp, stdout: w}, "run", "--quick", "--targets", "ext4", "--out", out)
		_ = w.Close() // teardown: nothing is written through it any more
		if !p.waitFor("ktest: stage test [baseline/ext4] ...", 20*time.Minute) {
			t.Fatalf("the run never reached its tests; stderr:\n%s", tail(p.stderr.String(), 30))
		}
		_ = r.Close() // tail is gone
		p.signal(syscall.SIGINT)
		if code := p.wait(time.Minute); code != 130 {
			t.Errorf("exit %d, want 130; stderr:\n%s", code, tail(p.stderr.String(), 10))
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != results.StatusInterrupted || run.Error == nil || !strings.Contains(run.Error.Message, "SIGINT") {
			t.Errorf("results: status %q, error %+v", run.Status, run.Error)
		}
		assertNoLeftovers(t, p.mark, 15*time.Second, tmp, out)
	})

	t.Run("boot --exec | head", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = w.Close() }() // teardown: nothing is written through it any more
		tmp := t.TempDir()
		p := startKtest(t, procOpts{tmpDir: tmp, stdout: w}, "boot", "--kernel", kernel, "--exec", "while :; do echo y; done")
		_ = w.Close() // teardown: nothing is written through it any more
		buf := make([]byte, 64)
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("no output from the guest: %v; stderr:\n%s", err, tail(p.stderr.String(), 20))
		}
		_ = r.Close() // head has read its line
		if code := p.wait(2 * time.Minute); code != 141 {
			t.Errorf("exit %d, want 141 (SIGPIPE); stderr:\n%s", code, tail(p.stderr.String(), 10))
		}
		assertNoLeftovers(t, p.mark, 15*time.Second, tmp)
	})
}
