package ci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// gitlabCILocalVersion is the release .ci/gitlab-ci-local pins: the last
// that runs on Node 20.
const gitlabCILocalVersion = "4.53.0"

// TestGitLabPipelineLocal runs the generated GitLab pipeline for shell
// runners end to end with gitlab-ci-local, each job in its own copy of
// the project (--shell-isolation, so artifacts and caches really pass
// between jobs): the build job fetches this commit of ktest, builds it,
// the guest image and both kernels into an empty host cache; two test
// jobs run a shard each from the artifacts; merge joins them. The merged
// run must have the targets, tests, statuses and verdicts of a run of the
// same plan on one machine, and a second run of the pipeline must build
// nothing, which its build job's log shows.
//
// Opt-in (make e2e-ci): a cold kernel build, the guest image and about ten
// boots take 30 to 60 minutes on 2 cores. KTEST_E2E_CI_CACHE names a host
// cache to keep between attempts; one that already holds the kernels
// makes the first pipeline build nothing too, and the test says so.
func TestGitLabPipelineLocal(t *testing.T) {
	gcl := os.Getenv("GITLAB_CI_LOCAL")
	if os.Getenv("KTEST_E2E_CI") == "" || gcl == "" {
		t.Skip("opt-in, about 45 minutes: make e2e-ci")
	}
	if out, err := exec.Command(gcl, "--version").Output(); err != nil || strings.TrimSpace(string(out)) != gitlabCILocalVersion {
		t.Fatalf("%s --version: %q, %v; want %s (npm ci --prefix .ci/gitlab-ci-local)", gcl, out, err, gitlabCILocalVersion)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(git(t, root, "rev-parse", "HEAD"))
	if dirty := git(t, root, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		t.Logf("the pipeline builds ktest at the commit %s, without these uncommitted changes:\n%s", head, dirty)
	}

	work := t.TempDir()
	// The logs outlive the test, which fails after an hour or passes.
	logs, err := os.MkdirTemp("", "ktest-e2e-ci-logs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("logs in %s", logs)
	hostCache := filepath.Join(work, "host-cache") // the shell runner's ~/.cache/ktest, empty
	if dir := os.Getenv("KTEST_E2E_CI_CACHE"); dir != "" {
		hostCache = dir
	}
	kernels, _ := filepath.Glob(filepath.Join(hostCache, "kernels", "*", "meta.json"))
	cold := len(kernels) == 0
	project := filepath.Join(work, "project") // the kernel team's repository
	planFile := "ktest/nightly.toml"
	p, err := plan.Load("testdata/e2e-plan.toml")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := New(GitLab, p, Options{PlanFile: planFile, Shards: 2, Repository: "file://" + root, Ref: head, Executor: Shell})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := Render(pl)
	if err != nil {
		t.Fatal(err)
	}
	planText, _ := os.ReadFile("testdata/e2e-plan.toml")
	writeFile(t, filepath.Join(project, ".gitlab-ci.yml"), yml)
	writeFile(t, filepath.Join(project, planFile), planText)
	git(t, project, "init", "-q")
	git(t, project, "add", ".")
	git(t, project, "-c", "user.name=ktest", "-c", "user.email=ktest@example.org", "commit", "-q", "-m", "nightly")

	state := filepath.Join(project, ".gitlab-ci-local")
	// Stop the pipeline, and every job, make and QEMU under it, before
	// go test's own timeout would leave them running.
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-2*time.Minute))
		defer cancel()
	}
	pipeline := func(n int) (build string) {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, gcl, "--shell-isolation", "--no-artifacts-to-source", "--concurrency", "1",
			"--variable", "CI_PIPELINE_SOURCE=schedule", "--variable", "KTEST_CACHE="+hostCache)
		cmd.Dir = project
		stopGroup(cmd)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		logFile := filepath.Join(logs, fmt.Sprintf("pipeline-%d.log", n))
		if err := os.WriteFile(logFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		jobLogs, _ := filepath.Glob(filepath.Join(state, "output", "*.log"))
		for _, l := range jobLogs {
			if b, err := os.ReadFile(l); err == nil {
				if err := os.WriteFile(filepath.Join(logs, fmt.Sprintf("pipeline-%d-job-%s", n, filepath.Base(l))), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Logf("pipeline %d: %v in %s (log: %s)", n, err, time.Since(start).Round(time.Second), logFile)
		if err != nil {
			t.Fatalf("pipeline %d failed: %v\n%s", n, err, tail(out.String(), 60))
		}
		b, err := os.ReadFile(filepath.Join(state, "output", "build.log"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	first := pipeline(1)
	t.Logf("pipeline 1's build job:\n%s", grep(first, "stage (tree|build)|cache hit|make -j|initramfs:"))
	for _, v := range []string{"baseline", "patched"} {
		built := regexp.MustCompile(`stage build \[` + v + `\] ok .*built in`).MatchString(first)
		switch {
		case cold && !built:
			t.Errorf("pipeline 1 did not build the %s kernel into the empty cache", v)
		case !cold && !built:
			t.Logf("pipeline 1 took the %s kernel from the host cache %s, warm from an earlier attempt", v, hostCache)
		}
	}
	checkShards(t, state)
	merged := filepath.Join(state, "artifacts", "merge", "merged")
	m, err := results.Load(filepath.Join(merged, "results.json"))
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(logs, "pipeline-1.log"))
		t.Fatalf("no merged run: %v\n%s", err, tail(string(b), 60))
	}

	// The same plan on one machine, with the ktest and the image the
	// pipeline built and the kernels it left in the host cache.
	built := filepath.Join(state, "artifacts", "build")
	ktest := filepath.Join(built, ".ktest", "bin", "ktest")
	whole := filepath.Join(work, "one-machine")
	cmd := exec.CommandContext(ctx, ktest, "run", "--plan", planFile, "--initramfs", filepath.Join(built, ImageFile), "--out", whole)
	cmd.Dir = project
	stopGroup(cmd)
	cmd.Env = append(os.Environ(), "KTEST_CACHE="+hostCache)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("one-machine run: %v\n%s", err, tail(string(out), 40))
	}
	w, err := results.Load(filepath.Join(whole, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	sameOutcome(t, m, w)

	second := pipeline(2)
	t.Logf("pipeline 2's build job:\n%s", grep(second, "stage (tree|build)|cache hit|make -j|initramfs:"))
	for _, v := range []string{"baseline", "patched"} {
		if !regexp.MustCompile(`stage build \[` + v + `\] ok .*cached`).MatchString(second) {
			t.Errorf("pipeline 2 did not take the %s kernel from the cache", v)
		}
	}
	for _, built := range []string{"make -j", "built in", "building the u-root busybox", "assembling base image", "extracting"} {
		if strings.Contains(second, built) {
			t.Errorf("pipeline 2's build job built something (%q):\n%s", built, grep(second, built))
		}
	}
	checkShards(t, state)
	// Nightly history: the second merge compares with the first.
	mergeLog, _ := os.ReadFile(filepath.Join(state, "output", "merge.log"))
	if strings.Contains(string(mergeLog), "nothing to compare with") || !strings.Contains(string(mergeLog), "ktest compare: ") {
		t.Errorf("pipeline 2's merge did not compare with pipeline 1's run in the history:\n%s", grep(string(mergeLog), "compare|history"))
	}
}

// checkShards: both shards ran from the artifacts (the image given, no
// Go), and merge joined two shard runs into one complete run.
func checkShards(t *testing.T, state string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(state, "output", "test*.log"))
	if len(logs) != 2 {
		t.Fatalf("test job logs %v, want 2", logs)
	}
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if !strings.Contains(string(b), "--initramfs "+ImageFile) || strings.Contains(string(b), "initramfs: building") {
			t.Errorf("%s: the shard did not boot the build job's image:\n%s", l, tail(string(b), 20))
		}
	}
	shards, _ := filepath.Glob(filepath.Join(state, "artifacts", "test*", "shards", "*", "results.json"))
	if len(shards) != 2 {
		t.Errorf("shard runs %v, want 2", shards)
	}
}

// sameOutcome compares a merged run with a one-machine run of the same
// plan: targets, kernels, every test's status, and every verdict.
func sameOutcome(t *testing.T, m, w *results.Run) {
	t.Helper()
	if !m.Complete || m.Status != w.Status || !slices.Equal(m.Plan.Targets, w.Plan.Targets) {
		t.Errorf("merged: complete %v, status %s, targets %v; one machine: status %s, targets %v",
			m.Complete, m.Status, m.Plan.Targets, w.Status, w.Plan.Targets)
	}
	a, b := outcome(m), outcome(w)
	if !slices.Equal(a, b) {
		t.Errorf("merged and one-machine runs differ:\nmerged:      %v\none machine: %v", a, b)
	}
	if len(a) < 10 {
		t.Errorf("only %d outcomes compared: %v", len(a), a)
	}
	t.Logf("merged = one machine: %d outcomes, e.g. %v", len(a), a[:min(len(a), 6)])
}

// outcome lists a run's kernels, tests with their statuses, and the
// verdict on every benchmark metric between its two variants.
func outcome(r *results.Run) []string {
	var out []string
	for _, v := range r.Variants {
		out = append(out, v.Name+" kernel "+v.Kernel.Key)
		for _, tg := range v.Targets {
			for _, tc := range tg.Tests {
				out = append(out, fmt.Sprintf("%s/%s/%s %s", v.Name, tg.Name, tc.Name, tc.Status))
			}
		}
	}
	if len(r.Variants) == 2 {
		base, patched := r.Variants[0], r.Variants[1]
		for _, bt := range base.Targets {
			for _, pt := range patched.Targets {
				if pt.Name != bt.Name {
					continue
				}
				for _, be := range bt.Bench {
					for _, pe := range pt.Bench {
						if pe.Engine != be.Engine {
							continue
						}
						for name, metric := range be.Metrics {
							if pm, ok := pe.Metrics[name]; ok {
								out = append(out, fmt.Sprintf("verdict %s/%s/%s %s", bt.Name, be.Engine, name, results.CompareMetric(metric, pm).Outcome))
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// stopGroup runs cmd in a process group of its own and makes its context
// stop the whole group with SIGTERM (ktest cleans up on it), then SIGKILL.
func stopGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func grep(s, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
