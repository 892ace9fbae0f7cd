package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
)

// Check refuses, before anything runs, what the plan names and cannot be
// used, each with its own type.
func TestCheck(t *testing.T) {
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mini := miniTree(t)
	for _, tc := range []struct {
		name string
		edit func(p *plan.Plan)
		ok   func(err error) bool
	}{
		{"the default plan", func(p *plan.Plan) {}, func(err error) bool { return err == nil }},
		{"a tree and a series", func(p *plan.Plan) { p.Retarget(mini, "s.mbox") }, func(err error) bool { return err == nil }},
		{"an unknown fragment", func(p *plan.Plan) { p.Fragments = []string{"no-such-fragment"} }, func(err error) bool {
			var fe *FragmentError
			return errors.As(err, &fe)
		}},
		{"not a kernel tree", func(p *plan.Plan) { p.Tree = t.TempDir() }, func(err error) bool {
			var nt *kbuild.NotATreeError
			return errors.As(err, &nt)
		}},
		{"a tree older than the series", func(p *plan.Plan) { p.Tree = filepath.Join("..", "era", "testdata", "trees", "linux-5.8") }, era.IsRefusal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan.Default()
			tc.edit(p)
			if err := Check(context.Background(), Config{Plan: p, Cache: cache}); !tc.ok(err) {
				t.Errorf("Check = %v (%T)", err, err)
			}
		})
	}
}
