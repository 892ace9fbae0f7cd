package ci

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.yml from the generator")

// examples are the pipelines the tests render: the default plan with the
// default shards (4), one shard, two, and a plan file in four shards from
// a fork; GitLab's also for a shell runner. Golden ones are kept in
// testdata/ for review.
var examples = []struct {
	name       string
	o          Options
	golden     bool
	gitlabOnly bool
}{
	{name: "default", golden: true},
	{name: "one-shard", o: Options{Shards: 1}},
	{name: "two-shards", o: Options{Shards: 2}},
	{name: "plan-file-4-shards", o: Options{PlanFile: "plans/nightly.toml", Shards: 4, Repository: "example/ktest-fork", Ref: "v1.2.3"}, golden: true},
	{name: "shell", o: Options{Executor: Shell}, golden: true, gitlabOnly: true},
	{name: "shell-plan-file-2-shards", o: Options{Executor: Shell, PlanFile: "plans/nightly.toml", Shards: 2, Tags: []string{"kvm", "x86"},
		Repository: "https://git.example.org/mirrors/ktest.git", Ref: "v1.2.3"}, gitlabOnly: true},
}

func render(t *testing.T, platform Platform, o Options) []byte {
	t.Helper()
	p, err := New(platform, planWith(), o)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden keeps the generated files in testdata/ for reviewers;
// go test ./ci -update rewrites them.
func TestGolden(t *testing.T) {
	for _, platform := range Platforms {
		for _, e := range examples {
			if !e.golden || (e.gitlabOnly && platform != GitLab) {
				continue
			}
			name := string(platform) + "-" + e.name + ".yml"
			t.Run(name, func(t *testing.T) {
				got := render(t, platform, e.o)
				golden := filepath.Join("testdata", name)
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./ci -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the generator's output; review it with go test ./ci -update && git diff", golden)
				}
			})
		}
	}
}

// parse decodes a generated file as plain YAML data.
func parse(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("generated YAML does not parse: %v\n%s", err, data)
	}
	return doc
}

// dig walks maps by key, failing the test where a key is missing.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not a map at %q", keys[:i], k)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%v: no key %q", keys[:i+1], k)
		}
	}
	return v
}
