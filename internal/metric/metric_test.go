package metric

import (
	"slices"
	"testing"
)

// Compared names each metric once, wall time first (the headline), and
// hands out a copy.
func TestCompared(t *testing.T) {
	c := Compared()
	if len(c) != 8 || c[0] != WallMS {
		t.Fatalf("Compared() = %v", c)
	}
	for i, m := range c {
		if slices.Index(c, m) != i {
			t.Errorf("%s named twice", m)
		}
	}
	c[0] = "changed"
	if Compared()[0] != WallMS {
		t.Error("Compared() shares its slice")
	}
}
