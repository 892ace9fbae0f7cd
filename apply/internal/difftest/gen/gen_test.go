package main

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/apply/internal/difftest"
)

const sample = `/* header */
static int __init foo_init(struct foo *foo,
			   int flags)
{
	int ret;

	ret = foo_setup(foo, flags);
	if (ret)
		goto out;
	kfree(foo->buf);
out:
	return ret;
}

struct bar {
	int x;
};

void bar_exit(void)
{
	kfree(NULL);
}
`

func TestParseFuncs(t *testing.T) {
	lines := difftest.SplitLines([]byte(sample))
	got := parseFuncs(lines)
	want := []fn{{sig: 1, open: 3, close: 12, name: "foo_init"}, {sig: 18, open: 19, close: 21, name: "bar_exit"}}
	if !slices.Equal(got, want) {
		t.Fatalf("parseFuncs = %+v, want %+v", got, want)
	}
	for i, want := range map[int]bool{6: true, 8: false, 9: true, 11: false, 20: true} {
		if statement(lines, i) != want {
			t.Errorf("statement(%q) = %v", lines[i], !want)
		}
	}
}

func TestMutateChangesCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range []string{"\tret = foo_setup(foo, flags);\n", "\tif (ret)\n", "\tx = 4096;\n", "\tkfree();\n"} {
		for range 20 {
			m, ok := mutate(rng, l)
			if !ok || m == l || !strings.HasSuffix(m, "\n") || indent(m) != indent(l) {
				t.Fatalf("mutate(%q) = %q, %v", l, m, ok)
			}
		}
	}
	if _, ok := mutate(rng, "\t}\n"); ok {
		t.Error("mutated a brace")
	}
}

func TestMatchesWithWildcard(t *testing.T) {
	lines := []string{"a", "b", "c", "a", "x", "c"}
	if got := matches(lines, []string{"a", "b", "c"}); !slices.Equal(got, []int{0}) {
		t.Errorf("exact: %v", got)
	}
	if got := matches(lines, []string{"a", "b", "c"}, 1); !slices.Equal(got, []int{0, 3}) {
		t.Errorf("wildcard: %v", got)
	}
}
