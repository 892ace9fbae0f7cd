package proto

import (
	"io/fs"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestFormatSplitRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		words []string
	}{
		{"plain", []string{"ktest-agent", "get", "/tmp/x"}},
		{"space", []string{"ktest-agent", "put", "/tmp/a b", "0644"}},
		{"quote", []string{"ktest-agent", "put", "/tmp/it's", "0600"}},
		{"shell chars", []string{"a;b", "$HOME", "`x`", "*", "\"q\"", "back\\slash"}},
		{"empty word", []string{"x", "", "y"}},
		{"newline", []string{"line\nbreak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := FormatCommand(tt.words...)
			got, err := SplitCommand(line)
			if err != nil {
				t.Fatalf("SplitCommand(%q): %v", line, err)
			}
			if !reflect.DeepEqual(got, tt.words) {
				t.Fatalf("SplitCommand(FormatCommand(%q)) = %q", tt.words, got)
			}
			// The same line must mean the same words to a real shell.
			out, err := exec.Command("/bin/sh", "-c", `f() { for w in "$@"; do printf '%s\0' "$w"; done; }; f `+line).Output()
			if err != nil {
				t.Fatalf("sh: %v", err)
			}
			shWords := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if !reflect.DeepEqual(shWords, tt.words) {
				t.Fatalf("sh splits %q into %q, want %q", line, shWords, tt.words)
			}
		})
	}
}

func TestSplitCommandRejectsShellSyntax(t *testing.T) {
	for _, line := range []string{
		"echo $HOME",
		"a; b",
		"a | b",
		"a > f",
		`echo "x"`,
		"echo 'open",
		`trailing\`,
		"ls *",
	} {
		if words, err := SplitCommand(line); err == nil {
			t.Errorf("SplitCommand(%q) = %q, want an error", line, words)
		}
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{PutCommand("/tmp/f", 0o644), "ktest-agent put /tmp/f 0644"},
		{PutCommand("/tmp/a b", fs.ModeDir|0o755), "ktest-agent put '/tmp/a b' 0755"},
		{GetCommand("/proc/version"), "ktest-agent get /proc/version"},
		{PowerOffCommand(), "ktest-agent poweroff"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    fs.FileMode
		wantErr bool
	}{
		{"0644", 0o644, false},
		{"755", 0o755, false},
		{"0", 0, false},
		{"0888", 0, true},
		{"01777", 0, true},
		{"", 0, true},
		{"rw", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
