package report

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/results"
)

// runFiles are the files of a run directory and their formats.
var runFiles = []struct{ name, format string }{
	{"summary.md", "md"}, {"junit.xml", "junit"}, {"email.txt", "email"}, {"report.html", "html"},
}

// WriteRunDir writes a run directory: results.json and every rendering
// by rd, each atomically. A rendering that fails does not stop the
// others.
func WriteRunDir(dir string, r *results.Run, rd Renderer) error {
	errs := []error{}
	if err := r.Write(filepath.Join(dir, "results.json")); err != nil {
		errs = append(errs, fmt.Errorf("saving results: %w", err))
	}
	for _, f := range runFiles {
		var b strings.Builder
		if err := rd.Render(&b, r, f.format); err != nil {
			errs = append(errs, fmt.Errorf("rendering %s: %w", f.name, err))
			continue
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), []byte(b.String()), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}
