package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A series with a missing patch is refused, naming it, unless asked;
// an unknown --use-version lists the versions there are.
func TestApplyMissingAndVersions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	tree, mbox, _ := applyFixture(t)
	data, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	second := regexp.MustCompile(`\nFrom [0-9a-f]{40} `).FindAllStringIndex(string(data), -1)
	if len(second) != 1 {
		t.Fatalf("want two messages in the mbox")
	}
	first := filepath.Join(t.TempDir(), "first.mbox")
	os.WriteFile(first, data[:second[0][0]+1], 0o644)

	code, out, errs := applyCmd(t, "--tree", tree, first)
	if code != ExitUsage || out != "" || !strings.Contains(errs, "patch 2/2 missing (v1; 1 of 2 present)") || !strings.Contains(errs, "--allow-missing") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = applyCmd(t, "--tree", tree, "--allow-missing", first)
	if code != ExitOK || !strings.Contains(unwrap(out), "patch 2/2 missing (v1; 1 of 2 present): applied without them, as --allow-missing asks") {
		t.Errorf("--allow-missing: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = applyCmd(t, "--tree", tree, "--use-version", "9", mbox)
	if code != ExitUsage || !strings.Contains(errs, "no v9 in the input; it holds v1") {
		t.Errorf("--use-version 9: exit %d: %s", code, errs)
	}
}
