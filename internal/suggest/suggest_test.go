package suggest

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"apply", "boot", "cache", "compare", "kernel", "report", "run", "series", "ssh", "version"}
	tests := []struct {
		word       string
		candidates []string
		want       string // "" for no suggestion
	}{
		{"aply", commands, "apply"},
		{"appyl", commands, "apply"},
		{"comp", commands, "compare"}, // a prefix of one command
		{"cach", commands, "cache"},
		{"rnu", commands, "run"},
		{"sh", commands, "ssh"},
		{"xyzzy", commands, ""},
		{"c", commands, ""},        // prefix of two, and too short anyway
		{"re", commands, "report"}, // the only command starting so
		{"buidl", []string{"config", "build"}, "build"},
		{"confg", []string{"config", "build"}, "config"},
		{"sl", []string{"ls", "gc", "rm"}, "ls"},
		{"gcc", []string{"ls", "gc", "rm"}, "gc"},
		{"xx", []string{"ls", "gc", "rm"}, ""},
		{"shwo", []string{"show", "split"}, "show"},
	}
	for _, tc := range tests {
		got, ok := Closest(tc.word, tc.candidates)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Closest(%q) = %q, %v; want %q", tc.word, got, ok, tc.want)
		}
	}
}
