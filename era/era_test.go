package era_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/patches"
)

// Each tree in testdata/trees is faked by its top Makefile (the version)
// and an excerpt of include/linux/fs.h (what tells the era).
func TestOfTree(t *testing.T) {
	tests := []struct {
		tree     string
		version  string
		want     *era.Era
		predates bool   // a *PredatesError
		unknown  string // a *UnknownError containing this
	}{
		{tree: "linux-5.8", version: "5.8.0", predates: true},
		{tree: "linux-6.1", version: "6.1.192", want: &era.FMode},
		{tree: "linux-6.9", version: "6.9.0", want: &era.FMode},
		// The header, not the version, decides: this 6.10 has the move.
		{tree: "linux-6.10-fop", version: "6.10.0", want: &era.FOp},
		{tree: "linux-6.12", version: "6.12.118", want: &era.FOp},
		{tree: "mainline-6.18", version: "6.18.0", want: &era.FOp},
		{tree: "backport-5.4-fmode", version: "5.4.300", want: &era.FMode},
		{tree: "future-7.0-noflag", version: "7.0.0", unknown: "defines neither FMODE_BUF_RASYNC nor FOP_BUFFER_RASYNC"},
		{tree: "both-flags", version: "6.11.0", unknown: "defines both"},
	}
	for _, tc := range tests {
		t.Run(tc.tree, func(t *testing.T) {
			tr, err := kbuild.CheckTree(filepath.Join("testdata", "trees", tc.tree))
			if err != nil {
				t.Fatal(err)
			}
			if tr.Version.String() != tc.version {
				t.Fatalf("version %s, want %s", tr.Version, tc.version)
			}
			got, err := era.OfTree(tr.Dir, tr.Version)
			var pe *era.PredatesError
			var ue *era.UnknownError
			switch {
			case tc.want != nil:
				if err != nil || got != *tc.want {
					t.Fatalf("OfTree = %v, %v; want %v", got, err, *tc.want)
				}
			case tc.predates:
				if !errors.As(err, &pe) {
					t.Fatalf("OfTree = %v, %v; want a PredatesError", got, err)
				}
				if !strings.HasPrefix(err.Error(), "this tree predates the series; test it with --series") {
					t.Errorf("message %q", err)
				}
			default:
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.unknown) {
					t.Fatalf("OfTree = %v, %v; want an UnknownError saying %q", got, err, tc.unknown)
				}
			}
			if err != nil && !era.IsRefusal(err) {
				t.Errorf("%v is not a refusal", err)
			}
		})
	}
}

func TestOfTreeWithoutHeader(t *testing.T) {
	_, err := era.OfTree(t.TempDir(), kconfig.Version{Major: 6, Minor: 12})
	var ue *era.UnknownError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no include/linux/fs.h") {
		t.Fatalf("err = %v", err)
	}
}

// Every era names a baseline ktest ships.
func TestErasHaveBaselines(t *testing.T) {
	for _, e := range era.All {
		if e.Flag == "" || e.WrittenFor == "" {
			t.Errorf("%+v is incomplete", e)
		}
		if err := patches.Check(e.Baseline); err != nil {
			t.Errorf("era %s: %v", e.Name, err)
		}
	}
}
