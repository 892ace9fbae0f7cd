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
		if e.gitlabOnly {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			wf := render(t, GitHub, e.o)
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
	wf := render(t, GitHub, Options{})
	tests := []struct{ name, old, new string }{
		{"unknown needs", "needs: build\n", "needs: bulid\n"},
		{"unknown input", "include-hidden-files: true", "include-hidden: true"},
		{"bad expression", "${{ matrix.shard }}", "${{ matrix.shards }}"},
		{"unknown step output", "steps.keys.outputs.KTEST_TREE_KEY }}\n    steps", "steps.key.outputs.KTEST_TREE_KEY }}\n    steps"},
		{"unknown job output", "needs.build.outputs.tree-key", "needs.build.outputs.treekey"},
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
// ktest commands against their contract, the cache keys from ktest cache
// key, the artifacts (ktest, image, kernels, shards), the shard matrix, a
// merge that needs a successful build, and the history cache.
func TestGitHubWorkflow(t *testing.T) {
	for _, e := range examples {
		if e.gitlabOnly {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			doc := parse(t, render(t, GitHub, e.o))
			n := e.o.Shards
			if n == 0 {
				n = 4
			}
			planFlag := ""
			if e.o.PlanFile != "" {
				planFlag = " --plan " + e.o.PlanFile
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

			// build: ktest from the repository and ref asked for, the
			// guest image, the keys, the caches under them, the kernels.
			co := step(t, doc, "build", "actions/checkout@v4", "ktest")["with"].(map[string]any)
			repo := ModuleRepository.GitHub
			if e.o.Repository != "" {
				repo = e.o.Repository
			}
			ref := e.o.Ref
			if ref == "" {
				ref = DefaultRef
			}
			want("ktest checkout", []any{co["repository"], co["ref"], co["path"]}, []any{repo, ref, ".ktest"})
			step(t, doc, "build", "", ".ktest/scripts/setup.sh")
			step(t, doc, "build", "", ".ktest/bin/ktest initramfs -o "+ImageFile)
			keys := step(t, doc, "build", "", ".ktest/bin/ktest cache key")
			want("keys step", []any{keys["id"], keys["run"]}, []any{"keys", ".ktest/bin/ktest cache key" + planFlag + ` | tee -a "$GITHUB_OUTPUT"`})
			if s := step(t, doc, "build", "", "KTEST_CACHE="); s["run"] != `echo "KTEST_CACHE=$PWD/.ktest-cache" >> "$GITHUB_ENV"` {
				t.Errorf("build does not keep ktest's cache in the workspace: %v", s["run"])
			}
			outputs := keyOutputs(t)
			tree := step(t, doc, "build", "actions/cache@v4", "tree")["with"].(map[string]any)
			want("tree cache", []any{tree["path"], tree["key"]}, []any{".ktest-cache/trees", "ktest-tree-${{ steps.keys.outputs." + outputs[0] + " }}"})
			kernels := step(t, doc, "build", "actions/cache@v4", "kernels")["with"].(map[string]any)
			want("kernels cache", []any{kernels["path"], kernels["key"]},
				[]any{".ktest-cache/kernels\n.ktest-cache/requests\n", "ktest-kernels-${{ steps.keys.outputs." + outputs[1] + " }}"})
			want("build outputs", dig(t, doc, "jobs", "build", "outputs"), map[string]any{"tree-key": "${{ steps.keys.outputs." + outputs[0] + " }}"})
			step(t, doc, "build", "", ".ktest/bin/ktest run"+planFlag+" --build-only --export-kernels kernels")
			bin := step(t, doc, "build", "actions/upload-artifact@v4", "ktest and the guest image")["with"].(map[string]any)
			want("ktest artifact", []any{bin["name"], bin["path"], bin["include-hidden-files"]},
				[]any{"ktest", ".ktest/bin/ktest\n.ktest/scripts/setup.sh\n" + ImageFile + "\n", true})
			up := step(t, doc, "build", "actions/upload-artifact@v4", "kernels")["with"].(map[string]any)
			want("kernels artifact", []any{up["name"], up["path"], up["include-hidden-files"]}, []any{"ktest-kernels", "kernels", true})

			// test: one leg per shard, KVM, ktest and the image from the
			// build (no Go), the tree from the cache, its own artifact.
			want("test.needs", dig(t, doc, "jobs", "test", "needs"), "build")
			want("fail-fast", dig(t, doc, "jobs", "test", "strategy", "fail-fast"), false)
			var shards []any
			for k := 1; k <= n; k++ {
				shards = append(shards, k)
			}
			want("matrix.shard", dig(t, doc, "jobs", "test", "strategy", "matrix", "shard"), shards)
			want("test container options", dig(t, doc, "jobs", "test", "container", "options"), "--privileged")
			for _, s := range steps(t, doc, "test") {
				if u, _ := s["uses"].(string); strings.HasPrefix(u, "actions/setup-go") || strings.HasPrefix(u, "actions/checkout") && e.o.PlanFile == "" {
					t.Errorf("test job uses %s: it needs no Go and no ktest source", u)
				}
			}
			get := step(t, doc, "test", "actions/download-artifact@v4", "ktest")["with"].(map[string]any)
			want("ktest download", []any{get["name"], get["path"]}, []any{"ktest", "."})
			step(t, doc, "test", "", "chmod +x .ktest/bin/ktest")
			step(t, doc, "test", "", ".ktest/scripts/setup.sh --packages-only")
			tr := step(t, doc, "test", "actions/cache/restore@v4", "")["with"].(map[string]any)
			want("test tree cache", []any{tr["path"], tr["key"]}, []any{".ktest-cache/trees", "ktest-tree-${{ needs.build.outputs.tree-key }}"})
			down := step(t, doc, "test", "actions/download-artifact@v4", "kernels")["with"].(map[string]any)
			want("kernels download", []any{down["name"], down["path"]}, []any{"ktest-kernels", "kernels"})
			step(t, doc, "test", "", fmt.Sprintf(`.ktest/bin/ktest run%s --shard "${{ matrix.shard }}/%d" --kernels kernels --initramfs %s --out shard-run`, planFlag, n, ImageFile))
			shardUp := step(t, doc, "test", "actions/upload-artifact@v4", "")
			want("shard upload if", shardUp["if"], "always()")
			with := shardUp["with"].(map[string]any)
			want("shard artifact", []any{with["name"], with["path"]}, []any{"ktest-shard-${{ matrix.shard }}", "shard-run"})

			// merge: after every shard, failed ones too, only after a
			// successful build; shards side by side.
			want("merge.needs", dig(t, doc, "jobs", "merge", "needs"), []any{"build", "test"})
			want("merge.if", dig(t, doc, "jobs", "merge", "if"), "${{ !cancelled() && needs.build.result == 'success' }}")
			step(t, doc, "merge", "actions/download-artifact@v4", "ktest")
			dl := step(t, doc, "merge", "actions/download-artifact@v4", "shards")["with"].(map[string]any)
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

// keyOutputs are the names `ktest cache key` prints its keys under (tree,
// kernels), read from what it prints, which the workflow must reference.
func keyOutputs(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(strings.TrimSpace((&Keys{Tree: "t", Kernels: "k"}).Env()), "\n") {
		name, _, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("Env() line %q is not NAME=VALUE", l)
		}
		names = append(names, name)
	}
	if len(names) != 2 {
		t.Fatalf("Env() names %v", names)
	}
	return names
}
