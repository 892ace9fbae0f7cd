package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ktest-dev/ktest/kbuild"
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
				`ktest run --shard "${{ matrix.shard }}/4" --kernels kernels --initramfs ktest-guest.cpio --out shard-run`, `ref: "main"`}, nil},
		{"gitlab, two shards, flags first", []string{"--shards", "2", "--ktest-ref", "v1.0", "gitlab"}, 0,
			[]string{`KTEST_SHARD: ["1", "2"]`, `--shard "$KTEST_SHARD/2"`, `KTEST_REF: "v1.0"`}, nil},
		{"plan file", []string{"github", "--plan", "./plans/fault-never-wake.toml"}, 0,
			[]string{"shard: [1]", "ktest run --plan plans/fault-never-wake.toml --build-only", "ktest-history-fault-never-wake-6.1-"}, nil},
		{"gitlab shell runner", []string{"gitlab", "--executor", "shell", "--shards", "1"}, 0,
			[]string{"stages: [build, test, merge]", "tags: [kvm]", "--initramfs ktest-guest.cpio"}, nil},
		{"gitlab shell runner with tags", []string{"gitlab", "--executor", "shell", "--tags", "kvm,x86"}, 0,
			[]string{"tags: [kvm, x86]", "--executor shell --tags kvm,x86"}, nil},
		{"a fork on GitHub", []string{"github", "--ktest-repo", "someone/ktest"}, 0, []string{`repository: "someone/ktest"`}, nil},
		{"a mirror on GitLab", []string{"gitlab", "--ktest-repo", "https://git.example.org/m/ktest.git"}, 0,
			[]string{`KTEST_REPO: "https://git.example.org/m/ktest.git"`, "--ktest-repo https://git.example.org/m/ktest.git"}, nil},
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
		{"executor on GitHub", []string{"github", "--executor", "shell"}, 2, nil, []string{"GitLab's"}},
		{"tags on GitHub", []string{"github", "--tags", "kvm"}, 2, nil, []string{"GitLab's"}},
		{"unknown executor", []string{"gitlab", "--executor", "k8s"}, 2, nil, []string{`unknown GitLab executor "k8s"`}},
		{"bad tag", []string{"gitlab", "--executor", "shell", "--tags", "a b"}, 2, nil, []string{`runner tag "a b"`}},
		{"a mirror on GitHub", []string{"github", "--ktest-repo", "https://git.example.org/k.git"}, 2, nil, []string{"needs a GitHub repository"}},
		{"bad repository", []string{"gitlab", "--ktest-repo", "x;reboot"}, 2, nil, []string{"ktest repository"}},
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

// TestCIWorkflowKeys checks the workflow's cache keys against ktest's
// build-key command: the keys step's command line, run as it is, prints
// NAME=VALUE lines, and every steps.keys.outputs.NAME the workflow's
// caches and outputs read is one of them.
func TestCIWorkflowKeys(t *testing.T) {
	if _, err := os.Stat(kbuild.DefaultTarball); err != nil {
		t.Skip("the default plan's keys read Debian's linux-source-6.1 tarball")
	}
	t.Chdir("../..")
	t.Setenv("KTEST_CACHE", t.TempDir())
	_, wf, _ := runCLI(t, "ci", "github", "--plan", "plans/fault-never-wake.toml")
	var doc struct {
		Jobs map[string]struct {
			Outputs map[string]string
			Steps   []struct {
				ID, Run string
				With    map[string]any
			}
		}
	}
	if err := yaml.Unmarshal([]byte(wf), &doc); err != nil {
		t.Fatal(err)
	}
	var cmd string
	var used []string
	refRE := regexp.MustCompile(`steps\.keys\.outputs\.([A-Za-z0-9_-]+)`)
	for _, s := range doc.Jobs["build"].Steps {
		if s.ID == "keys" {
			cmd = s.Run
		}
		for _, m := range refRE.FindAllStringSubmatch(fmt.Sprint(s.With["key"]), -1) {
			used = append(used, m[1])
		}
	}
	for _, o := range doc.Jobs["build"].Outputs {
		for _, m := range refRE.FindAllStringSubmatch(o, -1) {
			used = append(used, m[1])
		}
	}
	words, ok := strings.CutSuffix(cmd, ` | tee -a "$GITHUB_OUTPUT"`)
	args := strings.Fields(words)
	if !ok || len(args) < 3 || args[0] != ".ktest/bin/ktest" {
		t.Fatalf("keys step runs %q", cmd)
	}
	code, out, errs := runCLI(t, args[1:]...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", words, code, errs)
	}
	printed := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, ok := strings.Cut(l, "=")
		if !ok || value == "" {
			t.Fatalf("%s printed %q, not NAME=VALUE", words, l)
		}
		printed[name] = value
	}
	if len(used) < 3 {
		t.Fatalf("the workflow reads only %v of the keys", used)
	}
	for _, name := range used {
		if printed[name] == "" {
			t.Errorf("the workflow reads steps.keys.outputs.%s, which %s does not print (it prints %v)", name, words, printed)
		}
	}
}
