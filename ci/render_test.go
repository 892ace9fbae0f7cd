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
// default shards (4), one shard, two, and a plan file in four shards.
// Golden ones are kept in testdata/ for review.
var examples = []struct {
	name   string
	file   string
	shards int
	ref    string
	golden bool
}{
	{"default", "", 0, "", true},
	{"one-shard", "", 1, "", false},
	{"two-shards", "", 2, "", false},
	{"plan-file-4-shards", "plans/nightly.toml", 4, "v1.2.3", true},
}

func render(t *testing.T, platform Platform, file string, shards int, ref string) []byte {
	t.Helper()
	p, err := New(platform, planWith(), file, shards, ref)
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
			if !e.golden {
				continue
			}
			name := string(platform) + "-" + e.name + ".yml"
			t.Run(name, func(t *testing.T) {
				got := render(t, platform, e.file, e.shards, e.ref)
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
