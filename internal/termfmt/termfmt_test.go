package termfmt

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // test cleanup: best effort
	tests := []struct {
		columns string
		w       any
		want    int
	}{
		{"100", f, 100},
		{"", f, DefaultWidth},               // a file is not a terminal
		{"", &bytes.Buffer{}, DefaultWidth}, // nor a buffer
		{"junk", f, DefaultWidth},
		{"-3", f, DefaultWidth},
	}
	for _, tc := range tests {
		t.Setenv("COLUMNS", tc.columns)
		var got int
		switch w := tc.w.(type) {
		case *os.File:
			got = Width(w)
		case *bytes.Buffer:
			got = Width(w)
		}
		if got != tc.want {
			t.Errorf("COLUMNS=%q, %T: Width = %d, want %d", tc.columns, tc.w, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s     string
		n     int
		end   string
		start string
	}{
		{"include/linux/pagemap.h", 30, "include/linux/pagemap.h", "include/linux/pagemap.h"},
		{"include/linux/pagemap.h", 12, "include/lin…", "…/pagemap.h"},
		{"Jérôme Glisse", 4, "Jér…", "…sse"},
		{"abc", 0, "", ""},
	}
	for _, tc := range tests {
		if got := Clip(tc.s, tc.n); got != tc.end {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.end)
		}
		if got := ClipStart(tc.s, tc.n); got != tc.start {
			t.Errorf("ClipStart(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.start)
		}
	}
}

func TestClipWords(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short enough", 20, "short enough"},
		{"this review note goes on and on", 20, "this review note …"},
		{"a verylongwordwithoutanyspace", 20, "a verylongwordwithou …"},
		{"Jérôme wrote ça marche très bien", 16, "Jérôme wrote ça …"},
	} {
		if got := ClipWords(tc.s, tc.n); got != tc.want {
			t.Errorf("ClipWords(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestFirstLine(t *testing.T) {
	for s, want := range map[string]string{
		"":                        "",
		"one":                     "one",
		"one\ntwo":                "one",
		"\n  one \ntwo\n":         "one ",
		"build failed:\n\tcc ...": "build failed:",
	} {
		if got := FirstLine(s); got != want {
			t.Errorf("FirstLine(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n          int
		noun, want string
	}{{0, "hunk", "0 hunks"}, {1, "conflict", "1 conflict"}, {2, "whole file", "2 whole files"}, {12, "boot", "12 boots"}} {
		if got := Plural(tc.n, tc.noun); got != tc.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name           string
		s              string
		width          int
		prefix, indent string
		want           string
	}{
		{"fits", "one two", 20, "  ", "    ", "  one two"},
		{"breaks at spaces", "aaa bbb ccc ddd", 9, "- ", "  ", "- aaa bbb\n  ccc ddd"},
		{"long word split", "x abcdefghij y", 6, "", "", "x\nabcdef\nghij y"},
		{"no limit", "a  b\nc", 0, "> ", "", "> a b c"},
		{"empty", "", 10, "p", "", "p"},
	}
	for _, tc := range tests {
		got := Wrap(tc.s, tc.width, tc.prefix, tc.indent)
		if got != tc.want {
			t.Errorf("%s: Wrap = %q, want %q", tc.name, got, tc.want)
		}
		for _, l := range strings.Split(got, "\n") {
			if tc.width > 0 && Len(l) > tc.width {
				t.Errorf("%s: line %q is wider than %d", tc.name, l, tc.width)
			}
		}
	}
}

func TestTable(t *testing.T) {
	table := func() *Table {
		tb := NewTable(
			Column{Header: "N/M"},
			Column{Header: "SUBJECT", Shrink: 2, Min: 10},
			Column{Header: "FILES", Shrink: 1, Min: 8, ClipStart: true},
			Column{Header: "+/-", Right: true},
		)
		tb.Row("1/2", "mm: support async buffered reads in generic_file_buffered_read", "include/linux/pagemap.h", "+26/-7")
		tb.Row("2/2", "fs: add FMODE_BUF_RASYNC", "include/linux/fs.h", "+3/-0")
		return tb
	}
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"no limit", 0, "" +
			"N/M  SUBJECT                                                         FILES                       +/-\n" +
			"1/2  mm: support async buffered reads in generic_file_buffered_read  include/linux/pagemap.h  +26/-7\n" +
			"2/2  fs: add FMODE_BUF_RASYNC                                        include/linux/fs.h        +3/-0\n"},
		{"level 1 first, then level 2", 50, "" +
			"N/M  SUBJECT                      FILES        +/-\n" +
			"1/2  mm: support async buffered…  …gemap.h  +26/-7\n" +
			"2/2  fs: add FMODE_BUF_RASYNC     …/fs.h     +3/-0\n"},
		{"cannot fit: stops at the minimums", 10, "" +
			"N/M  SUBJECT     FILES        +/-\n" +
			"1/2  mm: suppo…  …gemap.h  +26/-7\n" +
			"2/2  fs: add F…  …/fs.h     +3/-0\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := table().Write(&b, tc.width); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, b.String(), tc.want)
		}
	}
}
