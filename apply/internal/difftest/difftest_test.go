package difftest

import (
	"strings"
	"testing"
)

func TestExactRoundTrip(t *testing.T) {
	base := SplitLines([]byte("a\nb\nc\nd\n"))
	for _, tc := range []struct {
		name  string
		at, n int
		repl  []string
		want  string
	}{
		{"delete first", 0, 1, nil, "b\nc\nd\n"},
		{"delete last two", 2, 2, nil, "a\nb\n"},
		{"change", 1, 1, []string{"B\n"}, "a\nB\nc\nd\n"},
		{"insert at top", 0, 0, []string{"x\n"}, "x\na\nb\nc\nd\n"},
		{"insert in the middle", 2, 0, []string{"x\n", "y\n"}, "a\nb\nx\ny\nc\nd\n"},
		{"append", 4, 0, []string{"e\n"}, "a\nb\nc\nd\ne\n"},
		{"replace two with three", 1, 2, []string{"1\n", "2\n", "3\n"}, "a\n1\n2\n3\nd\n"},
		{"replace keeping the ends", 0, 4, []string{"a\n", "x\n", "d\n"}, "a\nx\nd\n"},
	} {
		diff := FormatExact("f.c", base, tc.at, tc.n, tc.repl)
		got, err := ApplyExact([]byte(strings.Join(base, "")), diff)
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, diff)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s: got %q, want %q\n%s", tc.name, got, tc.want, diff)
		}
	}
}

func TestApplyExactRefusesMismatch(t *testing.T) {
	for _, diff := range []string{
		"@@ -2,1 +2,1 @@\n-x\n+y\n", // line 2 is b
		"@@ -9,1 +9,0 @@\n-a\n",     // past the end
		"@@ -1,1 +1,1 @@\n-a\n",     // cut short
		"garbage\n",
	} {
		if _, err := ApplyExact([]byte("a\nb\n"), []byte(diff)); err == nil {
			t.Errorf("%q applied", diff)
		}
	}
}

func sampleCase() *Case {
	base := []byte("int f(void)\n{\n\treturn 0;\n}\n")
	return &Case{
		Name: "c", Kind: "clean", Want: WantApply, Why: "w", Source: "s", Diff: "d",
		Path: "fs/x.c", Base: base,
		Patch:    []byte("--- a/fs/x.c\n+++ b/fs/x.c\n@@ -3 +3 @@\n-\treturn 0;\n+\treturn 1;\n"),
		WantDiff: FormatExact("fs/x.c", SplitLines(base), 2, 1, []string{"\treturn 1;\n"}),
	}
}

func TestCaseRoundTrip(t *testing.T) {
	c := sampleCase()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("c", b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != c.Kind || back.Want != c.Want || back.Why != c.Why || back.Source != c.Source || back.Diff != c.Diff ||
		back.Path != c.Path || string(back.Base) != string(c.Base) || string(back.Patch) != string(c.Patch) || string(back.WantDiff) != string(c.WantDiff) {
		t.Fatalf("round trip changed the case:\n%s", b)
	}
	got, err := back.Intended()
	if err != nil || string(got) != "int f(void)\n{\n\treturn 1;\n}\n" {
		t.Fatalf("Intended = %q, %v", got, err)
	}
}

func TestMarshalRefusesMarkerLines(t *testing.T) {
	c := sampleCase()
	c.Base = []byte("-- not a file --\n")
	if _, err := c.Marshal(); err == nil {
		t.Fatal("a base line that reads as a txtar marker was accepted")
	}
}

func TestParseRejects(t *testing.T) {
	good, err := sampleCase().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{
		"unknown want":       strings.Replace(string(good), "want: apply", "want: maybe", 1),
		"unknown kind":       strings.Replace(string(good), "kind: clean", "kind: other", 1),
		"unknown key":        "color: red\n" + string(good),
		"apply without diff": string(good[:strings.Index(string(good), "-- want.diff --")]),
		"conflict with diff": strings.Replace(string(good), "want: apply", "want: conflict", 1),
	} {
		if _, err := Parse(name, []byte(b)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestScore(t *testing.T) {
	base, intended, other := []byte("base\n"), []byte("intended\n"), []byte("other\n")
	applied := func(b []byte) Outcome { return Outcome{Applied: true, Content: b} }
	refused := Outcome{Message: "hunk FAILED"}
	reversed := Outcome{Message: "Reversed (or previously applied) patch detected!  Skipping patch."}
	for _, tc := range []struct {
		want Want
		o    Outcome
		v    Verdict
	}{
		{WantApply, applied(intended), Right},
		{WantApply, applied(other), Wrong},
		{WantApply, applied(base), Wrong},
		{WantApply, refused, Refused},
		{WantApplyOrRefuse, applied(intended), Right},
		{WantApplyOrRefuse, refused, Right},
		{WantApplyOrRefuse, applied(other), Wrong},
		{WantConflict, refused, Right},
		{WantConflict, applied(base), Wrong}, // "already applied" where it is not
		{WantConflict, applied(other), Wrong},
		{WantUnchanged, applied(base), Right},
		{WantUnchanged, reversed, Right},
		{WantUnchanged, Outcome{Message: "hunk #1: already applied"}, Right},
		{WantUnchanged, refused, Refused},
		{WantUnchanged, applied(other), Wrong},
		{WantUnchangedOrRefuse, refused, Right},
		{WantUnchangedOrRefuse, applied(base), Right},
		{WantUnchangedOrRefuse, applied(other), Wrong},
	} {
		c := &Case{Name: "c", Want: tc.want, Base: base}
		var in []byte
		if c.changes() {
			in = intended
		}
		if v := Score(c, in, tc.o); v != tc.v {
			t.Errorf("want %s, outcome %+v: %s, want %s", tc.want, tc.o, v, tc.v)
		}
	}
}

func TestTable(t *testing.T) {
	tb := NewTable("a", "b")
	tb.AddCase("clean")
	tb.AddCase("clean")
	tb.AddCase("rewritten")
	tb.Add("clean", "a", Right)
	tb.Add("clean", "a", Refused)
	tb.Add("rewritten", "a", Wrong)
	tb.Add("clean", "b", Right)
	tb.Add("clean", "b", Right)
	tb.Add("rewritten", "b", Right)
	if tb.Cases("") != 3 || tb.Count("", "a", Wrong) != 1 || tb.Count("clean", "b", Right) != 2 || tb.Count("", "b", Right) != 3 {
		t.Fatalf("counts wrong:\n%s", tb.Markdown())
	}
	md := tb.Markdown()
	for _, s := range []string{"| clean: base as the patch expects | apply | 2 | 1 / 1 / **0** | 2 / 0 / **0** |", "| **total** |  | 3 | 1 / 1 / **1** | 3 / 0 / **0** |"} {
		if !strings.Contains(md, s) {
			t.Errorf("table lacks %q:\n%s", s, md)
		}
	}
}
