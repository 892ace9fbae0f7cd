package ci

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// script returns a GitLab job's script lines.
func script(t *testing.T, doc map[string]any, job, key string) []string {
	t.Helper()
	var out []string
	for _, l := range dig(t, doc, job, key).([]any) {
		out = append(out, l.(string))
	}
	return out
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestGitLabPipeline checks the GitLab file as data, for both executors:
// stages, ktest fetched from the repository and ref asked for, the ktest
// commands against their contract, the cache keys from prepare's dotenv
// report (docker) or ktest's own cache (shell), the artifacts, the
// parallel matrix, a merge that runs after failed shards but only after a
// successful build, and the history cache.
func TestGitLabPipeline(t *testing.T) {
	for _, e := range examples {
		t.Run(e.name, func(t *testing.T) {
			doc := parse(t, render(t, GitLab, e.o))
			shell := e.o.Executor == Shell
			n := e.o.Shards
			if n == 0 {
				n = 4
			}
			planFlag := ""
			if e.o.PlanFile != "" {
				planFlag = " --plan " + e.o.PlanFile
			}
			ref := e.o.Ref
			if ref == "" {
				ref = DefaultRef
			}
			repo := ModuleRepository
			if e.o.Repository != "" {
				repo, _ = ParseRepository(e.o.Repository)
			}
			want := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", what, got, want)
				}
			}
			jobs := []string{"prepare", "build", "test", "merge"}
			fetcher := "prepare"
			if shell {
				jobs, fetcher = jobs[1:], "build"
			}
			want("stages", doc["stages"], toAny(jobs))
			want("KTEST_REPO", dig(t, doc, "variables", "KTEST_REPO"), repo.URL)
			want("KTEST_REF", dig(t, doc, "variables", "KTEST_REF"), ref)
			fetch := script(t, doc, fetcher, "script")
			if !hasLine(fetch, `git -C .ktest fetch -q --depth 1 "$KTEST_REPO" "$KTEST_REF"`) {
				t.Errorf("%s does not fetch ktest at $KTEST_REF:\n%s", fetcher, strings.Join(fetch, "\n"))
			}
			for _, job := range jobs {
				want(job+".extends", dig(t, doc, job, "extends"), ".ktest")
				want(job+".stage", dig(t, doc, job, "stage"), job)
				if tm := dig(t, doc, job, "timeout").(string); !strings.HasSuffix(tm, " minutes") {
					t.Errorf("%s.timeout = %q", job, tm)
				}
			}
			ktest := dig(t, doc, ".ktest").(map[string]any)
			if shell {
				if _, ok := ktest["image"]; ok {
					t.Error("a shell runner's jobs have an image:")
				}
				tags := e.o.Tags
				if tags == nil {
					tags = DefaultShellTags
				}
				want(".ktest.tags", ktest["tags"], toAny(tags))
				if _, ok := dig(t, doc, "variables").(map[string]any)["KTEST_CACHE"]; ok {
					t.Error("a shell runner's ktest cache moved into the project directory")
				}
			} else {
				want(".ktest.image", ktest["image"], "debian:bookworm")
				want("KTEST_CACHE", dig(t, doc, "variables", "KTEST_CACHE"), "$CI_PROJECT_DIR/.ktest-cache")
			}

			// prepare (docker) or build (shell): ktest and the image once.
			made := script(t, doc, fetcher, "script")
			for _, l := range []string{".ktest/scripts/setup.sh", ".ktest/bin/ktest initramfs -o " + ImageFile} {
				if !hasLine(made, l) {
					t.Errorf("%s.script lacks %s:\n%s", fetcher, l, strings.Join(made, "\n"))
				}
			}
			arts := []any{".ktest/bin/ktest", ".ktest/scripts/setup.sh", ImageFile}
			tree := map[string]any{"key": "ktest-tree-$" + TreeKeyVar, "paths": []any{".ktest-cache/trees/"}}
			if shell {
				want("build.artifacts.paths", dig(t, doc, "build", "artifacts", "paths"), append(arts, "kernels/"))
				if _, ok := dig(t, doc, "build").(map[string]any)["cache"]; ok {
					t.Error("a shell runner's build has a GitLab cache: ktest's own cache is on the host")
				}
			} else {
				keys := ".ktest/bin/ktest cache key" + planFlag + " | tee " + KeysFile
				if !hasLine(made, keys) {
					t.Errorf("prepare does not write the keys (%s):\n%s", keys, strings.Join(made, "\n"))
				}
				want("prepare.artifacts.paths", dig(t, doc, "prepare", "artifacts", "paths"), arts)
				want("prepare.artifacts.reports.dotenv", dig(t, doc, "prepare", "artifacts", "reports", "dotenv"), KeysFile)
				want("build.needs", dig(t, doc, "build", "needs"), []any{"prepare"})
				want("build.cache", dig(t, doc, "build", "cache"), []any{tree,
					map[string]any{"key": "ktest-kernels-$" + KernelsKeyVar, "paths": []any{".ktest-cache/kernels/", ".ktest-cache/requests/"}}})
				want("build.artifacts.paths", dig(t, doc, "build", "artifacts", "paths"), []any{"kernels/"})
			}
			if s := script(t, doc, "build", "script"); !hasLine(s, ".ktest/bin/ktest run"+planFlag+" --build-only --export-kernels kernels") {
				t.Errorf("build.script does not export the kernels:\n%s", strings.Join(s, "\n"))
			}

			// test: no Go, ktest and the image from the artifacts.
			needs := []any{"build"}
			if !shell {
				needs = []any{"prepare", "build"}
				pull := map[string]any{"policy": "pull"}
				for k, v := range tree {
					pull[k] = v
				}
				want("test.cache", dig(t, doc, "test", "cache"), []any{pull})
			}
			want("test.needs", dig(t, doc, "test", "needs"), needs)
			want("test.allow_failure", dig(t, doc, "test", "allow_failure"), true)
			var shards []any
			for k := 1; k <= n; k++ {
				shards = append(shards, strconv.Itoa(k))
			}
			matrix := dig(t, doc, "test", "parallel", "matrix").([]any)
			want("test.parallel.matrix", matrix, []any{map[string]any{"KTEST_SHARD": shards}})
			run := fmt.Sprintf(`.ktest/bin/ktest run%s --shard "$KTEST_SHARD/%d" --kernels kernels --initramfs %s --out "shards/$KTEST_SHARD"`, planFlag, n, ImageFile)
			ts := script(t, doc, "test", "script")
			if !hasLine(ts, run) || !hasLine(ts, ".ktest/scripts/setup.sh --packages-only") {
				t.Errorf("test.script has no %s:\n%s", run, strings.Join(ts, "\n"))
			}
			for _, l := range ts {
				if strings.Contains(l, "go ") || strings.Contains(l, "git ") {
					t.Errorf("test job runs %q: it needs no Go and no ktest source", l)
				}
			}
			want("test.artifacts.when", dig(t, doc, "test", "artifacts", "when"), "always")
			want("test.artifacts.paths", dig(t, doc, "test", "artifacts", "paths"), []any{"shards/"})

			// merge: needs the build, so a failed build runs no merge
			// (when: on_success); failed shards are allowed to fail.
			mergeNeeds := []any{"build", "test"}
			if !shell {
				mergeNeeds = []any{"prepare", map[string]any{"job": "build", "artifacts": false}, "test"}
			}
			want("merge.needs", dig(t, doc, "merge", "needs"), mergeNeeds)
			if w, ok := dig(t, doc, "merge").(map[string]any)["when"]; ok {
				t.Errorf("merge.when = %v: it would run after a failed build", w)
			}
			for i, r := range dig(t, doc, ".ktest", "rules").([]any) {
				if w, ok := r.(map[string]any)["when"]; ok && w == "always" {
					t.Errorf(".ktest.rules[%d].when = always: merge would run after a failed build", i)
				}
			}
			if s := script(t, doc, "merge", "script"); !hasLine(s, ".ktest/bin/ktest merge --history history merged shards/*") {
				t.Errorf("merge.script does not merge with the history:\n%s", strings.Join(s, "\n"))
			}
			want("merge.artifacts.reports.junit", dig(t, doc, "merge", "artifacts", "reports", "junit"), "merged/junit.xml")
			want("merge.artifacts.paths", dig(t, doc, "merge", "artifacts", "paths"), []any{"merged/"})
			want("merge.artifacts.when", dig(t, doc, "merge", "artifacts", "when"), "always")
			want("merge.cache.paths", dig(t, doc, "merge", "cache", "paths"), []any{"history/"})
			want("merge.cache.when", dig(t, doc, "merge", "cache", "when"), "always")
			want("merge.cache.key", dig(t, doc, "merge", "cache", "key"), "ktest-history-async-buffered-reads-6.1")
		})
	}
}

func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
