package faults

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// qemuSampler records the command lines of the QEMUs of marked processes
// while they run, keyed by marker.
type qemuSampler struct {
	mu    sync.Mutex
	seen  map[string]map[string]bool // marker -> set of QEMU command lines
	stop  chan struct{}
	ended chan struct{}
}

func sampleQEMUs(marks ...string) *qemuSampler {
	s := &qemuSampler{seen: map[string]map[string]bool{}, stop: make(chan struct{}), ended: make(chan struct{})}
	for _, m := range marks {
		s.seen[m] = map[string]bool{}
	}
	go func() {
		defer close(s.ended)
		for {
			for _, m := range marks {
				for _, p := range qemuProcs(m) {
					s.mu.Lock()
					s.seen[m][p.cmdline] = true
					s.mu.Unlock()
				}
			}
			select {
			case <-s.stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *qemuSampler) done() map[string][]string {
	close(s.stop)
	<-s.ended
	out := map[string][]string{}
	for m, set := range s.seen {
		for c := range set {
			out[m] = append(out[m], c)
		}
	}
	return out
}

var (
	hostfwdRE = regexp.MustCompile(`hostfwd=tcp:([0-9.]+):(\d+)-:22`)
	// Files QEMU writes to: disks; and the per-run image it reads, which
	// holds the run's keys.
	qemuFileRE = regexp.MustCompile(`(?:-drive \S*file=|-initrd )([^ ,]+)`)
)

// TestConcurrency runs ktest against itself. Two runs at once must both
// pass, each with its own host ports and temp files, and leave a cache
// whose entries all parse. Two builds of the same new kernel at once must
// run make once: the second waits for the first's lock and then takes
// its result from the cache.
func TestConcurrency(t *testing.T) {
	requireSuite(t)
	tr := tree(t)

	t.Run("two runs at once", func(t *testing.T) {
		// One TMPDIR for both, so that shared temp files would show.
		tmp := t.TempDir()
		outs := []string{filepath.Join(t.TempDir(), "run-a"), filepath.Join(t.TempDir(), "run-b")}
		var procs []*ktestProc
		for _, out := range outs {
			// --verbose promises each QEMU command line, quoted.
			procs = append(procs, startKtest(t, procOpts{tmpDir: tmp}, "run", "--quick", "--targets", "ext4", "--verbose", "--out", out))
		}
		sampler := sampleQEMUs(procs[0].mark, procs[1].mark)
		codes := []int{procs[0].wait(20 * time.Minute), procs[1].wait(20 * time.Minute)}
		cmdlines := sampler.done()
		ports := map[string]string{} // port -> run
		files := map[string]string{} // file -> run
		for i, p := range procs {
			name := filepath.Base(outs[i])
			t.Logf("%s: exit %d after %v; %s", name, codes[i], p.end.Sub(p.start).Round(time.Second), grepLines(p.stderr.String(), "finished in"))
			if codes[i] != 0 {
				t.Errorf("%s: exit %d, want 0; stderr:\n%s", name, codes[i], tail(p.stderr.String(), 30))
			}
			if run, err := results.Load(outs[i]); err != nil {
				t.Errorf("%s: %v", name, err)
			} else if !run.Complete || run.Status != results.StatusPass {
				t.Errorf("%s: complete=%v status=%q", name, run.Complete, run.Status)
				logFailedTests(t, run)
			}
			cls := cmdlines[p.mark]
			if len(cls) < 2 {
				t.Errorf("%s: saw %d QEMU command lines, want one per variant (2)", name, len(cls))
			}
			for _, cl := range cls {
				fwd := hostfwdRE.FindAllStringSubmatch(cl, -1)
				if len(fwd) != 1 || fwd[0][1] != "127.0.0.1" {
					t.Errorf("%s: QEMU forwards %v, want exactly one forward from 127.0.0.1:\n%s", name, fwd, cl)
				}
				for _, f := range fwd {
					if other, dup := ports[f[2]]; dup && other != name {
						t.Errorf("host port %s used by both %s and %s", f[2], other, name)
					}
					ports[f[2]] = name
				}
				for _, f := range qemuFileRE.FindAllStringSubmatch(cl, -1) {
					if other, dup := files[f[1]]; dup && other != name {
						t.Errorf("file %s used by both %s and %s", f[1], other, name)
					}
					files[f[1]] = name
					// The image holds the run's private key: it belongs in
					// the run's own TMPDIR, never in the run directory.
					if strings.HasPrefix(f[0], "-initrd") && (!strings.HasPrefix(f[1], tmp+"/") || strings.HasPrefix(f[1], outs[i]+"/")) {
						t.Errorf("%s: guest image %s is not in the run's TMPDIR %s", name, f[1], tmp)
					}
				}
			}
			assertNoSecrets(t, outs[i])
		}
		t.Logf("host ports: %v", ports)
		t.Run("--verbose shows the QEMU command lines", func(t *testing.T) {
			for _, p := range procs {
				for _, cl := range cmdlines[p.mark] {
					fwd := hostfwdRE.FindString(cl)
					if fwd == "" || !strings.Contains(p.stderr.String(), fwd) {
						t.Errorf("ktest run --verbose never printed the QEMU command it ran (forward %q); its qemu lines: %q",
							fwd, grepLines(p.stderr.String(), "qemu"))
					}
				}
			}
		})
		assertNoLeftovers(t, procs[0].mark, 5*time.Second, tmp)
		assertNoLeftovers(t, procs[1].mark, 5*time.Second, tmp)
		assertCacheParses(t, cache(t).Dir)
	})

	t.Run("two builds of one new kernel", func(t *testing.T) {
		var nonce [6]byte
		rand.Read(nonce[:])
		patch := filepath.Join(t.TempDir(), "ext4-inode-comment.diff")
		diff := treeDiff(t, tr.Dir, "fs/ext4/inode.c", 1, "/* ktest fault suite: concurrent build "+hex.EncodeToString(nonce[:])+" */")
		if err := os.WriteFile(patch, []byte(diff), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"kernel", "build", "--patch", patch, "--json"}
		first := startKtest(t, procOpts{}, args...)
		// The second starts while the first works (it holds the slot
		// lock from before its configure step until it has published).
		if !first.waitFor("ktest: config [", 5*time.Minute) {
			t.Fatalf("first build never configured; stderr:\n%s", tail(first.stderr.String(), 20))
		}
		second := startKtest(t, procOpts{}, args...)
		codes := []int{first.wait(20 * time.Minute), second.wait(20 * time.Minute)}
		makes := 0
		var res [2]struct {
			Key     string `json:"key"`
			BzImage string `json:"bzimage"`
			Cached  bool   `json:"cached"`
		}
		for i, p := range []*ktestProc{first, second} {
			stderr := p.stderr.String()
			n := strings.Count(stderr, ": make -j")
			makes += n
			t.Logf("build %d: exit %d, %d make(s); stderr:\n%s", i+1, codes[i], n, grepLines(stderr, "waiting|make -j|cache hit|done in"))
			if codes[i] != 0 {
				t.Errorf("build %d: exit %d; stderr:\n%s", i+1, codes[i], tail(stderr, 20))
			}
			if err := json.Unmarshal([]byte(p.stdout.String()), &res[i]); err != nil {
				t.Errorf("build %d: --json output: %v\n%s", i+1, err, p.stdout.String())
			}
		}
		if makes != 1 {
			t.Errorf("make ran %d times, want exactly once", makes)
		}
		if !strings.Contains(second.stderr.String(), "waiting for another ktest") {
			t.Errorf("the second build did not say it was waiting for the first")
		}
		if res[0].Cached || !res[1].Cached {
			t.Errorf("cached: first %v, second %v; want the first built and the second a cache hit", res[0].Cached, res[1].Cached)
		}
		if res[0].Key == "" || res[0].Key != res[1].Key || res[0].BzImage != res[1].BzImage {
			t.Errorf("the builds disagree: %+v vs %+v", res[0], res[1])
		}
		assertNoLeftovers(t, first.mark, 5*time.Second)
		assertNoLeftovers(t, second.mark, 5*time.Second)
		assertCacheParses(t, cache(t).Dir)
		if res[0].Key != "" {
			if err := cache(t).Remove(res[0].Key); err != nil {
				t.Error(err)
			}
			assertCacheParses(t, cache(t).Dir)
		}
	})
}

// assertCacheParses checks that every published kernel's meta.json and
// every request index parse and agree with their directory, and that no
// published kernel lacks its bzImage.
func assertCacheParses(t *testing.T, dir string) {
	t.Helper()
	kernels, _ := filepath.Glob(filepath.Join(dir, "kernels", "*"))
	n := 0
	for _, k := range kernels {
		if strings.HasPrefix(filepath.Base(k), ".tmp-") {
			continue // a build in progress elsewhere
		}
		n++
		var meta struct {
			Key     string `json:"key"`
			BzImage string `json:"bzimage"`
		}
		data, err := os.ReadFile(filepath.Join(k, "meta.json"))
		if err == nil {
			err = json.Unmarshal(data, &meta)
		}
		if err != nil {
			t.Errorf("cache entry %s: meta.json: %v", k, err)
			continue
		}
		if meta.Key != filepath.Base(k) {
			t.Errorf("cache entry %s: meta.json key %q", k, meta.Key)
		}
		if st, err := os.Stat(filepath.Join(k, "bzImage")); err != nil || st.Size() < 1<<20 {
			t.Errorf("cache entry %s: bzImage: %v", k, err)
		}
	}
	reqs, _ := filepath.Glob(filepath.Join(dir, "requests", "*.json"))
	for _, r := range reqs {
		var idx struct{ Key string }
		data, err := os.ReadFile(r)
		if err == nil {
			err = json.Unmarshal(data, &idx)
		}
		if err != nil || idx.Key == "" {
			t.Errorf("request index %s: %v (key %q)", r, err, idx.Key)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "kernels", idx.Key, "meta.json")); err != nil {
			t.Errorf("request index %s points at %s, which is not published: %v", r, idx.Key, err)
		}
	}
	t.Logf("cache: %d kernels and %d request indexes parse", n, len(reqs))
}

// logFailedTests logs every test of run that did not pass, with its
// message.
func logFailedTests(t *testing.T, run *results.Run) {
	t.Helper()
	for _, v := range run.Variants {
		for _, tg := range v.Targets {
			for _, tc := range tg.Tests {
				if tc.Status != "pass" && tc.Status != "skip" {
					t.Logf("%s/%s/%s: %s: %s", v.Name, tg.Name, tc.Name, tc.Status, tc.Message)
				}
			}
		}
	}
}
