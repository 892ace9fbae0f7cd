package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportOutMissingDir: -o into a directory that does not exist is a
// usage error (exit 2) that creates nothing; into one that does, the
// file is written.
func TestReportOutMissingDir(t *testing.T) {
	dir := t.TempDir()
	run := writeRun(t, dir, "run.json", cliRun("r", []float64{4210, 4300, 4390}, "pass"))
	missing := filepath.Join(dir, "no", "such", "dir")
	code, out, errs := runCLI(t, "report", "--from", "A <a@example.org>", "-o", filepath.Join(missing, "r.md"), run)
	if code != ExitUsage || out != "" || !strings.Contains(errs, "no directory "+missing) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming %s", code, out, errs, missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Error("-o created the missing directories")
	}
	ok := filepath.Join(dir, "r.md")
	if code, _, errs := runCLI(t, "report", "--from", "A <a@example.org>", "-o", ok, run); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if st, err := os.Stat(ok); err != nil || st.Size() == 0 {
		t.Errorf("-o %s: %v", ok, err)
	}
}
