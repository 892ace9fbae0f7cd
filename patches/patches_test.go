package patches

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	names := Names()
	for _, want := range []string{AsyncBufferedReads, Baseline61, Baseline612, Faults61} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, lacks %s", names, want)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		ok      bool
		suggest string
	}{
		{AsyncBufferedReads, true, ""},
		{Baseline61, true, ""},
		{"async-buffered-read", false, AsyncBufferedReads},
		{"baseline-61", false, Baseline61},
		{"nothing-like-it", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		err := Check(tc.name)
		if tc.ok {
			if err != nil {
				t.Errorf("Check(%q) = %v", tc.name, err)
			}
			continue
		}
		var ue *UnknownError
		if !errors.As(err, &ue) || ue.Suggest != tc.suggest {
			t.Errorf("Check(%q) = %v, want an UnknownError suggesting %q", tc.name, err, tc.suggest)
			continue
		}
		// The message lists every valid name.
		for _, n := range Names() {
			if !strings.Contains(err.Error(), "embedded:"+n) {
				t.Errorf("Check(%q): %q does not list embedded:%s", tc.name, err, n)
			}
		}
	}
}
