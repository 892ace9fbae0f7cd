package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// series split writes what git am takes (the cover letter apart) and
// refuses, exit 2 and nothing written, to write over files of the same
// names unless --force.
func TestSeriesSplitRefusesToOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "split")
	code, out, errs := runCLI(t, "series", "split", "embedded:async-buffered-reads", dir)
	if code != ExitOK || !strings.HasPrefix(out, filepath.Join(dir, "0000-cover-letter.cover")+"\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	patches, _ := filepath.Glob(filepath.Join(dir, "*.patch"))
	if len(patches) != 12 {
		t.Errorf("%d *.patch files, want the 12 patches only", len(patches))
	}
	mine := filepath.Join(dir, "0001-block-read-ahead-submission-should-imply-no-wait-as.patch")
	if err := os.WriteFile(mine, []byte("my edits\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "series", "split", "embedded:async-buffered-reads", dir)
	if code != ExitUsage || !strings.Contains(errs, "already holds files of the names it would write") || !strings.Contains(errs, "--force") {
		t.Errorf("second split: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(mine); string(b) != "my edits\n" {
		t.Errorf("a refused split overwrote %s", mine)
	}
	if code, _, errs := runCLI(t, "series", "split", "--force", "embedded:async-buffered-reads", dir); code != ExitOK {
		t.Errorf("--force: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(mine); string(b) == "my edits\n" {
		t.Errorf("--force did not rewrite %s", mine)
	}
}
