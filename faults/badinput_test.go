package faults

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
)

// dirState is a directory's files with their size, mode and mtime.
type dirState map[string]string

// snapshotDir records every entry under dir, directories with their mtime
// too: a temp file made and removed again shows.
func snapshotDir(t *testing.T, dir string) dirState {
	return snapshot(t, dir, true)
}

// snapshotEntries records every entry under dir, but directories without
// their mtime: only what exists in the end counts.
func snapshotEntries(t *testing.T, dir string) dirState {
	return snapshot(t, dir, false)
}

func snapshot(t *testing.T, dir string, dirMtimes bool) dirState {
	t.Helper()
	st := dirState{}
	// The only error returned is a missing dir, which snapshots as empty.
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err // a missing dir snapshots as empty
			}
			st[path] = "error: " + err.Error()
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		if info.IsDir() && !dirMtimes {
			st[path] = info.Mode().String()
			return nil
		}
		st[path] = fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return st
}

// diffStates lists what changed between two snapshots (at most 10 paths).
func diffStates(before, after dirState) []string {
	var d []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			d = append(d, "removed "+p)
		} else if a != b {
			d = append(d, fmt.Sprintf("changed %s: %s -> %s", p, b, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "created "+p)
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... and %d more", len(d)-10))
	}
	return d
}

// TestBadInput feeds ktest damaged and invalid input. Each must be
// refused with exit 2 (or, for a well-formed series that does not fit
// 6.1, the conflict's exit 1) and a message naming the file, the line
// and the reason, having written nothing to the tree or the cache. The
// commands run against a private cache whose trees/ is the real cache's
// extracted default tree (read-only), so that any write to kernels/,
// requests/ or slots/ shows and nothing else can interfere.
func TestBadInput(t *testing.T) {
	requireSuite(t)
	tr := tree(t)
	shared := cache(t)

	privCache := filepath.Join(suiteDir, "bad-input-cache")
	if err := os.MkdirAll(privCache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(shared.Dir, "trees"), filepath.Join(privCache, "trees")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	if _, err := kbuild.OpenCache(privCache); err != nil { // its empty kernels/, requests/, slots/
		t.Fatal(err)
	}
	env := procOpts{env: []string{"KTEST_CACHE=" + privCache}}

	in := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := file("empty.patch", nil)
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7 % 251) // NULs included
	}
	binaryPatch := file("binary.patch", binary)
	truncated := filepath.Join(in, "truncated.mbox")
	truncatedMbox(t, truncated)
	badFragment := file("bad.config", []byte("CONFIG_EXT4_FS=y\nCONFIG_FOO y\n# CONFIG_BAR is not set\n"))
	badPlan := file("unknown-key.toml", []byte("name = \"bad\"\ntargets = [\"ext4\"]\nbogus_key = 3\n"))
	notATree := filepath.Join(in, "not-a-tree")
	if err := os.MkdirAll(notATree, 0o755); err != nil {
		t.Fatal(err)
	}
	file("not-a-tree/README", []byte("not a kernel\n"))
	nonexistent := filepath.Join(in, "no-such-tree")
	outDir := filepath.Join(in, "run-out") // must never be created

	s001, s004 := seed(t, "001"), seed(t, "004")
	damaged := []struct {
		name   string
		src    string
		reason []string
	}{
		{"seed 001 whitespace stripped", s001, []string{filepath.Base(s001) + ":21:", "leading whitespace stripped"}},
		{"seed 004 newlines flattened", s004, []string{filepath.Base(s004) + ":1:", "newlines flattened"}},
		{"empty file", empty, []string{"empty.patch:1:", "empty"}},
		{"binary file", binaryPatch, []string{"binary.patch:1:", "binary data"}},
		{"truncated mbox", truncated, []string{"truncated.mbox:", "truncated hunk", "cut off"}},
	}

	type badCase struct {
		name   string
		args   []string
		code   int
		stderr []string // parts of the message
		lineRE string   // the message names file:line
		stdout []string // for the commands that succeed
	}
	var cases []badCase
	for _, d := range damaged {
		base := filepath.Base(d.src)
		lineRE := regexp.QuoteMeta(base) + `:\d+: `
		cases = append(cases,
			badCase{d.name + "/series show", []string{"series", "show", d.src}, 2, d.reason, lineRE, nil},
			badCase{d.name + "/apply", []string{"apply", d.src}, 2, d.reason, lineRE, nil},
			badCase{d.name + "/run --series", []string{"run", "--quick", "--targets", "ext4", "--series", d.src, "--out", outDir}, 2, d.reason, lineRE, nil},
		)
	}
	// Well-formed seeds parse and show (as JSON: the table clips subjects
	// to the width); they cannot apply to 6.1: a
	// conflict is ktest apply's "does not apply" (1), reported hunk by
	// hunk, and nothing is written.
	for _, s := range []struct{ n, subject string }{
		{"000", "mm: support async buffered reads in generic_file_buffered_r"},
		{"002", "io_uring: support true async buffered reads"},
		{"003", "direct-io: Implement generic deferred AIO completions"},
	} {
		cases = append(cases,
			badCase{name: "seed " + s.n + " parses/series show", args: []string{"series", "show", "--json", seed(t, s.n)}, stdout: []string{s.subject}},
			badCase{"seed " + s.n + " conflicts with 6.1/apply", []string{"apply", seed(t, s.n)}, 1,
				[]string{"series does not apply", "conflict", "nothing written"}, "", nil})
	}
	cases = append(cases,
		badCase{"not a kernel tree/run", []string{"run", "--quick", "--tree", notATree, "--out", outDir}, 2,
			[]string{notATree, "not a kernel source tree", "Kconfig"}, "", nil},
		badCase{"not a kernel tree/kernel config", []string{"kernel", "config", "--tree", notATree}, 2,
			[]string{notATree, "not a kernel source tree"}, "", nil},
		badCase{"nonexistent tree/run", []string{"run", "--quick", "--tree", nonexistent, "--out", outDir}, 2,
			[]string{nonexistent, "does not exist"}, "", nil},
		badCase{"nonexistent tree/kernel config", []string{"kernel", "config", "--tree", nonexistent}, 2,
			[]string{nonexistent, "does not exist"}, "", nil},
		badCase{"fragment syntax error/kernel config", []string{"kernel", "config", "--fragment", badFragment}, 2,
			[]string{"CONFIG_FOO y"}, regexp.QuoteMeta(badFragment) + `:2: `, nil},
		badCase{"plan with unknown key/run", []string{"run", "--plan", badPlan, "--out", outDir}, 2,
			[]string{`unknown key "bogus_key"`}, regexp.QuoteMeta(badPlan) + `:3: `, nil},
	)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cacheBefore := snapshotDir(t, privCache)
			treeBefore := snapshotDir(t, tr.Dir)
			inBefore := snapshotDir(t, in)
			code, stdout, stderr := runKtest(t, 2*time.Minute, env, c.args...)
			t.Logf("ktest %s: exit %d\n%s", strings.Join(c.args, " "), code, tail(stderr, 6))
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, tail(stdout, 20), tail(stderr, 20))
			}
			for _, want := range c.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			for _, want := range c.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if c.lineRE != "" && !regexp.MustCompile(c.lineRE).MatchString(stderr) {
				t.Errorf("stderr does not name the file and line (/%s/)", c.lineRE)
			}
			if d := diffStates(cacheBefore, snapshotDir(t, privCache)); len(d) > 0 {
				t.Errorf("the cache changed:\n  %s", strings.Join(d, "\n  "))
			}
			if d := diffStates(treeBefore, snapshotDir(t, tr.Dir)); len(d) > 0 {
				t.Errorf("the tree changed:\n  %s", strings.Join(d, "\n  "))
			}
			if d := diffStates(inBefore, snapshotDir(t, in)); len(d) > 0 {
				t.Errorf("the input directory changed:\n  %s", strings.Join(d, "\n  "))
			}
		})
	}

	// A series with a hole (patches 1/3 and 3/3, no 2/3) is shown with a
	// warning, but apply and run refuse it (exit 2, naming the patch)
	// unless --allow-missing; then a run with it goes on and gives the
	// exit code of what it finds (here 0: both kernels boot and pass).
	// The patches touch only README and COPYING, so the variant's build
	// compiles nothing, and it is cached after the first suite run.
	t.Run("series with a missing patch", func(t *testing.T) {
		missing := filepath.Join(in, "missing-2-of-3.mbox")
		writeMbox(t, missing,
			mailPatch{1, 3, "README: a note from the fault suite", treeDiff(t, tr.Dir, "README", 1, "ktest fault suite: patch 1 of 3")},
			mailPatch{3, 3, "COPYING: a note from the fault suite", treeDiff(t, tr.Dir, "COPYING", 2, "ktest fault suite: patch 3 of 3")})
		const warning = "patch 2/3 missing"

		t.Run("series show", func(t *testing.T) {
			code, stdout, stderr := runKtest(t, time.Minute, env, "series", "show", missing)
			if code != 0 || !strings.Contains(stdout+stderr, warning) {
				t.Errorf("exit %d (want 0), output mentions %q: %v\n%s%s", code, warning, strings.Contains(stdout+stderr, warning), stdout, stderr)
			}
		})
		t.Run("apply", func(t *testing.T) {
			treeBefore := snapshotDir(t, tr.Dir)
			code, stdout, stderr := runKtest(t, time.Minute, env, "apply", missing)
			if code != 2 || !strings.Contains(stderr, warning) || !strings.Contains(stderr, "--allow-missing") {
				t.Errorf("exit %d (want 2), stderr names %q and --allow-missing: %v\n%s%s", code, warning, strings.Contains(stderr, warning), stdout, stderr)
			}
			code, stdout, stderr = runKtest(t, time.Minute, env, "apply", "--allow-missing", missing)
			if code != 0 || !strings.Contains(stdout+stderr, warning) {
				t.Errorf("--allow-missing: exit %d (want 0), output mentions %q: %v\n%s%s", code, warning, strings.Contains(stdout+stderr, warning), stdout, stderr)
			}
			if d := diffStates(treeBefore, snapshotDir(t, tr.Dir)); len(d) > 0 {
				t.Errorf("a dry run changed the tree:\n  %s", strings.Join(d, "\n  "))
			}
		})
		t.Run("run --series", func(t *testing.T) {
			// The real cache: this run builds (or finds) a kernel.
			out := filepath.Join(t.TempDir(), "run")
			tmp := t.TempDir()
			if code, _, stderr := runKtest(t, time.Minute, env, "run", "--quick", "--targets", "ext4", "--series", missing, "--out", out); code != 2 || !strings.Contains(stderr, warning) {
				t.Errorf("run without --allow-missing: exit %d (want 2)\n%s", code, stderr)
			}
			p := startKtest(t, procOpts{tmpDir: tmp}, "run", "--quick", "--targets", "ext4", "--allow-missing", "--series", missing, "--out", out)
			code := p.wait(15 * time.Minute)
			all := p.stdout.String() + p.stderr.String()
			t.Logf("exit %d; stderr tail:\n%s", code, tail(p.stderr.String(), 12))
			if code != 0 {
				t.Errorf("exit %d, want 0: with --allow-missing the rest of the series builds, boots and passes", code)
			}
			run, err := results.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != results.StatusPass || !run.Complete {
				t.Errorf("run status %q complete %v, want pass", run.Status, run.Complete)
			}
			data, _ := os.ReadFile(filepath.Join(out, "results.json"))
			if !strings.Contains(all, "2/3") && !strings.Contains(string(data), "2/3") {
				t.Errorf("neither ktest run's output nor results.json mentions the missing patch 2/3 (the warning `ktest series show` prints is lost)")
			}
			assertNoLeftovers(t, p.mark, 5*time.Second, tmp, out)
			assertNoSecrets(t, out)
		})
	})
}
