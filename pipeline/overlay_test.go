package pipeline

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/series"
)

// Embedded series are parsed from a scratch copy; what the user sees
// must name the embedded files, which outlive the copy.
func TestLoadSourceNamesEmbeddedFiles(t *testing.T) {
	tests := []struct {
		src     string
		patches int
		cover   bool
	}{
		{"embedded:async-buffered-reads", 12, true},
		{"embedded:baseline-6.1", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			s, err := LoadSource(tt.src, series.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Source != tt.src || len(s.Patches) != tt.patches || (s.Cover != nil) != tt.cover {
				t.Fatalf("source %q, %d patches, cover %v", s.Source, len(s.Patches), s.Cover != nil)
			}
			all := append(s.Patches, s.Fixups...)
			if s.Cover != nil {
				all = append(all, s.Cover)
			}
			for _, p := range all {
				if !strings.HasPrefix(p.Source, tt.src+"/") {
					t.Errorf("%s: source %q, want it under %s/", p.Subject, p.Source, tt.src)
				}
			}
		})
	}
	if _, err := LoadSource("embedded:no-such-series", series.Options{}); err == nil || !strings.Contains(err.Error(), "no-such-series") {
		t.Errorf("missing embedded series: %v", err)
	}
}
