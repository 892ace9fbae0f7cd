package series

import (
	"errors"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/patches"
)

// An embedded series is read from the binary; what the user sees must
// name the embedded files ("embedded:NAME/0001-....patch"), which outlive
// any copy.
func TestLoadNamesEmbeddedFiles(t *testing.T) {
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
			s, err := Load(tt.src)
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
	// A name ktest does not ship is the user's input, with the names
	// it does ship.
	_, err := Load("embedded:async-bufered-reads")
	var unknown *patches.UnknownError
	if !errors.As(err, &unknown) || !IsBadInput(err) || !strings.Contains(err.Error(), "did you mean embedded:async-buffered-reads?") {
		t.Errorf("unknown embedded series: %v", err)
	}
}
