package cachedir

import "testing"

func TestDir(t *testing.T) {
	for _, tc := range []struct{ ktest, xdg, home, want string }{
		{"/k", "/x", "/h", "/k"},
		{"", "/x", "/h", "/x/ktest"},
		{"", "", "/h", "/h/.cache/ktest"},
	} {
		t.Setenv("KTEST_CACHE", tc.ktest)
		t.Setenv("XDG_CACHE_HOME", tc.xdg)
		t.Setenv("HOME", tc.home)
		if got := Dir(); got != tc.want {
			t.Errorf("Dir() with %+v = %s, want %s", tc, got, tc.want)
		}
	}
}
