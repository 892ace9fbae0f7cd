package ci

import (
	"bytes"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// lint runs actionlint over a workflow's bytes, with shellcheck when it
// is installed (actionlint skips it otherwise), and returns its errors.
func lint(t *testing.T, data []byte) []*actionlint.Error {
	t.Helper()
	var out bytes.Buffer
	opts := &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever, Oneline: true}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	}
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(".github/workflows/ktest-nightly.yml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestGitHubActionlint(t *testing.T) {
	for _, e := range examples {
		t.Run(e.name, func(t *testing.T) {
			wf := render(t, GitHub, e.file, e.shards, e.ref)
			for _, err := range lint(t, wf) {
				t.Errorf("actionlint: %s", err)
			}
		})
	}
}

// TestActionlintCatches makes sure the linter above is not vacuous: the
// same workflow with a job needing one that does not exist, or an input
// upload-artifact does not have, is an error.
func TestActionlintCatches(t *testing.T) {
	wf := render(t, GitHub, "", 0, "")
	tests := []struct{ name, old, new string }{
		{"unknown needs", "needs: build\n", "needs: bulid\n"},
		{"unknown input", "include-hidden-files: true", "include-hidden: true"},
		{"bad expression", "${{ matrix.shard }}", "${{ matrix.shards }}"},
	}
	for _, tc := range tests {
		broken := bytes.Replace(wf, []byte(tc.old), []byte(tc.new), 1)
		if bytes.Equal(broken, wf) {
			t.Fatalf("%s: %q is not in the workflow", tc.name, tc.old)
		}
		if len(lint(t, broken)) == 0 {
			t.Errorf("%s: actionlint found nothing wrong", tc.name)
		}
	}
}

// steps returns a job's steps.
func steps(t *testing.T, doc map[string]any, job string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range dig(t, doc, "jobs", job, "steps").([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// step finds a job's step that uses action, or whose run contains run.
func step(t *testing.T, doc map[string]any, job, action, run string) map[string]any {
	t.Helper()
	for _, s := range steps(t, doc, job) {
		if u, _ := s["uses"].(string); action != "" && u == action {
			if r, _ := s["name"].(string); run == "" || strings.Contains(r, run) {
				return s
			}
		}
		if r, _ := s["run"].(string); action == "" && strings.Contains(r, run) {
			return s
		}
	}
	t.Fatalf("job %s: no step with uses %q, run/name containing %q", job, action, run)
	return nil
}

// TestGitHubWorkflow checks the workflow as data: the three jobs, the
// ktest commands against their contract, the shard matrix, artifacts that
// do not overwrite each other, and the history cache.
func TestGitHubWorkflow(t *testing.T) {
	for _, e := range examples {
		t.Run(e.name, func(t *testing.T) {
			doc := parse(t, render(t, GitHub, e.file, e.shards, e.ref))
			n := e.shards
			if n == 0 {
				n = 4
			}
			planFlag := ""
			if e.file != "" {
				planFlag = " --plan " + e.file
			}
			want := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", what, got, want)
				}
			}

			on := dig(t, doc, "on").(map[string]any)
			want("on.schedule cron", dig(t, on, "schedule").([]any)[0].(map[string]any)["cron"], DefaultCron)
			if _, ok := on["workflow_dispatch"]; !ok {
				t.Error("no workflow_dispatch trigger")
			}
			for _, job := range []string{"build", "test", "merge"} {
				if m, _ := dig(t, doc, "jobs", job, "timeout-minutes").(int); m < 1 || m > githubMaxMinutes {
					t.Errorf("jobs.%s.timeout-minutes = %d", job, m)
				}
			}

			// build: export every kernel, .config included.
			step(t, doc, "build", "", ".ktest/bin/ktest run"+planFlag+" --build-only --export-kernels kernels")
			up := step(t, doc, "build", "actions/upload-artifact@v4", "kernels")["with"].(map[string]any)
			want("kernels artifact", []any{up["name"], up["path"], up["include-hidden-files"]}, []any{"ktest-kernels", "kernels", true})

			// test: one leg per shard, KVM, its own artifact.
			want("test.needs", dig(t, doc, "jobs", "test", "needs"), "build")
			want("fail-fast", dig(t, doc, "jobs", "test", "strategy", "fail-fast"), false)
			var shards []any
			for k := 1; k <= n; k++ {
				shards = append(shards, k)
			}
			want("matrix.shard", dig(t, doc, "jobs", "test", "strategy", "matrix", "shard"), shards)
			want("test container options", dig(t, doc, "jobs", "test", "container", "options"), "--privileged")
			down := step(t, doc, "test", "actions/download-artifact@v4", "")["with"].(map[string]any)
			want("kernels download", []any{down["name"], down["path"]}, []any{"ktest-kernels", "kernels"})
			step(t, doc, "test", "", fmt.Sprintf(`.ktest/bin/ktest run%s --shard "${{ matrix.shard }}/%d" --kernels kernels --out shard-run`, planFlag, n))
			shardUp := step(t, doc, "test", "actions/upload-artifact@v4", "")
			want("shard upload if", shardUp["if"], "always()")
			with := shardUp["with"].(map[string]any)
			want("shard artifact", []any{with["name"], with["path"]}, []any{"ktest-shard-${{ matrix.shard }}", "shard-run"})

			// merge: after every shard, failed ones too; shards side by side.
			want("merge.needs", dig(t, doc, "jobs", "merge", "needs"), []any{"build", "test"})
			if cond := dig(t, doc, "jobs", "merge", "if").(string); !strings.Contains(cond, "!cancelled()") {
				t.Errorf("merge.if = %q: does not run after failed shards", cond)
			}
			dl := step(t, doc, "merge", "actions/download-artifact@v4", "")["with"].(map[string]any)
			want("shards download", []any{dl["pattern"], dl["path"], dl["merge-multiple"]}, []any{"ktest-shard-*", "shards", false})
			step(t, doc, "merge", "", ".ktest/bin/ktest merge --history history merged shards/*")
			if s := step(t, doc, "merge", "", "$GITHUB_STEP_SUMMARY"); s["if"] != "always()" {
				t.Errorf("summary step if = %v, want always()", s["if"])
			}
			merged := step(t, doc, "merge", "actions/upload-artifact@v4", "")
			want("merged artifact path", merged["with"].(map[string]any)["path"], "merged")
			want("merged upload if", merged["if"], "always()")

			restore := step(t, doc, "merge", "actions/cache/restore@v4", "")["with"].(map[string]any)
			save := step(t, doc, "merge", "actions/cache/save@v4", "")
			sw := save["with"].(map[string]any)
			want("history paths", []any{restore["path"], sw["path"]}, []any{"history", "history"})
			want("history keys", restore["key"], sw["key"])
			if !strings.HasPrefix(restore["key"].(string), restore["restore-keys"].(string)) {
				t.Errorf("restore-keys %q does not prefix the key %q: yesterday's history is never found", restore["restore-keys"], restore["key"])
			}
			want("history save if", save["if"], "always()")
		})
	}
}
