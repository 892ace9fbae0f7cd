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

// TestGitLabPipeline checks the GitLab file as data: stages, the ktest
// commands against their contract, the parallel matrix, needs, artifacts
// (the merged JUnit report among them), when: always where a failed shard
// must still be merged, and the history cache.
func TestGitLabPipeline(t *testing.T) {
	for _, e := range examples {
		t.Run(e.name, func(t *testing.T) {
			doc := parse(t, render(t, GitLab, e.file, e.shards, e.ref))
			n := e.shards
			if n == 0 {
				n = 4
			}
			planFlag := ""
			if e.file != "" {
				planFlag = " --plan " + e.file
			}
			ref := e.ref
			if ref == "" {
				ref = DefaultRef
			}
			want := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", what, got, want)
				}
			}

			want("stages", doc["stages"], []any{"build", "test", "merge"})
			want("KTEST_REF", dig(t, doc, "variables", "KTEST_REF"), ref)
			before := script(t, doc, ".ktest", "before_script")
			if !hasLine(before, `git -C .ktest fetch -q --depth 1 `+RepositoryURL+` "$KTEST_REF"`) {
				t.Errorf(".ktest.before_script does not fetch ktest at $KTEST_REF:\n%s", strings.Join(before, "\n"))
			}
			for _, job := range []string{"build", "test", "merge"} {
				want(job+".extends", dig(t, doc, job, "extends"), ".ktest")
				want(job+".stage", dig(t, doc, job, "stage"), job)
				if tm := dig(t, doc, job, "timeout").(string); !strings.HasSuffix(tm, " minutes") {
					t.Errorf("%s.timeout = %q", job, tm)
				}
			}

			// build
			if s := script(t, doc, "build", "script"); !hasLine(s, ".ktest/bin/ktest run"+planFlag+" --build-only --export-kernels kernels") {
				t.Errorf("build.script does not export the kernels:\n%s", strings.Join(s, "\n"))
			}
			want("build.artifacts.paths", dig(t, doc, "build", "artifacts", "paths"), []any{"kernels/"})

			// test
			want("test.needs", dig(t, doc, "test", "needs"), []any{"build"})
			var shards []any
			for k := 1; k <= n; k++ {
				shards = append(shards, strconv.Itoa(k))
			}
			matrix := dig(t, doc, "test", "parallel", "matrix").([]any)
			want("test.parallel.matrix", matrix, []any{map[string]any{"KTEST_SHARD": shards}})
			run := fmt.Sprintf(`.ktest/bin/ktest run%s --shard "$KTEST_SHARD/%d" --kernels kernels --out "shards/$KTEST_SHARD"`, planFlag, n)
			if s := script(t, doc, "test", "script"); !hasLine(s, run) {
				t.Errorf("test.script has no %s:\n%s", run, strings.Join(s, "\n"))
			}
			want("test.artifacts.when", dig(t, doc, "test", "artifacts", "when"), "always")
			want("test.artifacts.paths", dig(t, doc, "test", "artifacts", "paths"), []any{"shards/"})

			// merge
			want("merge.needs", dig(t, doc, "merge", "needs"), []any{"test"})
			rules := dig(t, doc, "merge", "rules").([]any)
			for i, r := range rules {
				want(fmt.Sprintf("merge.rules[%d].when", i), r.(map[string]any)["when"], "always")
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
