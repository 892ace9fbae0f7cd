package main

import (
	"strings"
	"testing"
)

func TestCICLI(t *testing.T) {
	// At the repository's root, as the command is meant to be run.
	t.Chdir("../..")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"github, default plan", []string{"github"}, 0,
			[]string{`name: "ktest nightly (async-buffered-reads-6.1)"`, "shard: [1, 2, 3, 4]",
				`ktest run --shard "${{ matrix.shard }}/4" --kernels kernels --out shard-run`, `ref: "main"`}, nil},
		{"gitlab, two shards, flags first", []string{"--shards", "2", "--ktest-ref", "v1.0", "gitlab"}, 0,
			[]string{`KTEST_SHARD: ["1", "2"]`, `--shard "$KTEST_SHARD/2"`, `KTEST_REF: "v1.0"`}, nil},
		{"plan file", []string{"github", "--plan", "./plans/fault-never-wake.toml"}, 0,
			[]string{"shard: [1]", "ktest run --plan plans/fault-never-wake.toml --build-only", "ktest-history-fault-never-wake-6.1-"}, nil},
		{"help", []string{"-h"}, 0, nil, nil},
		{"help after the platform", []string{"gitlab", "-h"}, 0, nil, nil},

		{"no platform", nil, 2, nil, []string{"want one platform"}},
		{"two platforms", []string{"github", "gitlab"}, 2, nil, []string{"got 2 arguments"}},
		{"unknown platform", []string{"jenkins"}, 2, nil, []string{`unknown CI platform "jenkins"`}},
		{"zero shards", []string{"github", "--shards", "0"}, 2, nil, []string{"--shards 0: want at least 1"}},
		{"more shards than targets", []string{"gitlab", "--shards", "5"}, 2, nil, []string{"5 shards for 4 targets"}},
		{"not a number", []string{"github", "--shards", "two"}, 2, nil, []string{"invalid value"}},
		{"bad ref", []string{"github", "--ktest-ref", "main;reboot"}, 2, nil, []string{"ktest ref"}},
		{"absolute plan", []string{"github", "--plan", "/tmp/plan.toml"}, 2, nil, []string{"relative to the repository's root"}},
		{"plan outside the repository", []string{"github", "--plan", "../plan.toml"}, 2, nil, []string{"inside the repository"}},
		{"missing plan", []string{"github", "--plan", "plans/nope.toml"}, 2, nil, []string{"plans/nope.toml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"ci"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errs)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
			if tc.code != 0 && out != "" {
				t.Errorf("printed a pipeline on exit %d", tc.code)
			}
		})
	}
}
