package main

import "testing"

// TestCheckoutTree: --tree DIR is the user's; --tree debian:X is ktest's
// cache, never a tree of the user's (so --in-place is refused on it).
func TestCheckoutTree(t *testing.T) {
	tests := []struct {
		flag     string
		ok, mine bool
	}{
		{"/src/linux", true, true},
		{"debian:6.12", false, false},
	}
	for _, tc := range tests {
		got, ok, err := checkoutTree(tc.flag)
		if err != nil || ok != tc.ok || got.Mine != tc.mine {
			t.Errorf("checkoutTree(%q) = %+v, %v, %v; want ok %v, mine %v", tc.flag, got, ok, err, tc.ok, tc.mine)
		}
	}
}
