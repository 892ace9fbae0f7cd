package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// singleDashLong finds a multi-letter flag spelled with one dash, as
// flag.PrintDefaults prints them ("-fuzz").
var singleDashLong = regexp.MustCompile(`(^|[\s\[|(])-[a-z][a-z-]+`)

// TestHelpGoesToStdout: -h prints help on stdout, exit 0, nothing on
// stderr, so `ktest run -h | less` works; every command's help has
// examples and spells its flags --name.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"}, {"help", "apply"}, {"help", "cache", "gc"},
		{"apply", "-h"}, {"apply", "--help"}, {"boot", "-h"}, {"compare", "-h"}, {"report", "-h"},
		{"run", "-h"}, {"ssh", "-h"}, {"version", "-h"},
		{"cache", "-h"}, {"cache", "ls", "-h"}, {"cache", "gc", "-h"}, {"cache", "rm", "-h"},
		{"kernel", "-h"}, {"kernel", "config", "-h"}, {"kernel", "build", "-h"},
		{"series", "-h"}, {"series", "show", "-h"}, {"series", "split", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, args...)
			if code != ExitOK || errs != "" || !strings.HasPrefix(out, "usage: ktest") {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errs, out)
			}
			if args[0] != "-h" && args[0] != "--help" && len(args) > 1 && !strings.Contains(out, "\nexamples:\n  ktest ") &&
				!strings.Contains(out, "\nexamples:\n  echo ") && !strings.Contains(out, "\nexamples:\n  git ") {
				t.Errorf("no examples:\n%s", out)
			}
			for _, l := range strings.Split(out, "\n") {
				if m := singleDashLong.FindString(l); m != "" {
					t.Errorf("flag spelled %q in %q", strings.TrimSpace(m), l)
				}
			}
		})
	}
}

// TestUsageErrors: mistakes go to stderr with exit 2 and, for a typo, a
// suggestion; nothing goes to stdout.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: ktest <command>"},
		{[]string{"aply"}, `unknown command "aply"; did you mean "apply"?`},
		{[]string{"comprae", "a", "b"}, `did you mean "compare"?`},
		{[]string{"kernel", "buidl"}, `unknown subcommand "buidl"; did you mean "build"?`},
		{[]string{"cache", "sl"}, `unknown subcommand "sl"; did you mean "ls"?`},
		{[]string{"series", "shwo", "x"}, `did you mean "show"?`},
		{[]string{"cache"}, "missing subcommand (ls, gc, rm, key)"},
		{[]string{"apply", "--fuz", "2", "x"}, "unknown flag --fuz; did you mean --fuzz?"},
		{[]string{"apply", "--fuzz", "many", "x"}, `invalid value "many" for flag --fuzz`},
		{[]string{"report", "--format"}, "flag needs an argument: --format"},
		{[]string{"cache", "ls", "--older-than", "1d"}, "unknown flag --older-than"},
		{[]string{"version", "extra"}, "unexpected arguments: extra"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != ExitUsage || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and stderr with %q", code, out, errs, tc.want)
			}
		})
	}
}

// TestCacheSubcommandHelp: each cache subcommand lists only its own flags.
func TestCacheSubcommandHelp(t *testing.T) {
	gcOnly := []string{"--older-than", "--keep ", "--keep-slots", "  -n "}
	tests := []struct {
		sub         string
		want, avoid []string
	}{
		{"ls", []string{"--cache", "--json"}, gcOnly},
		{"gc", append([]string{"--cache", "--json"}, gcOnly...), nil},
		{"rm", []string{"--cache"}, append([]string{"--json"}, gcOnly...)},
	}
	for _, tc := range tests {
		_, out, _ := runCLI(t, "cache", tc.sub, "-h")
		flags := out[strings.Index(out, "\nflags:\n"):]
		for _, w := range tc.want {
			if !strings.Contains(flags, w) {
				t.Errorf("cache %s -h lacks %s:\n%s", tc.sub, w, out)
			}
		}
		for _, a := range tc.avoid {
			if strings.Contains(flags, a) {
				t.Errorf("cache %s -h lists %s, which it does not take:\n%s", tc.sub, a, out)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ktest-dev/ktest", Version: "v0.0.0-20260101-abcdef+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123"}, {Key: "vcs.time", Value: "2026-01-01T00:00:00Z"},
			{Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want []string
	}{
		{"stamped", stamped, []string{"ktest v0.0.0-20260101-abcdef+dirty\n", "revision: abcdef0123", "time:     2026-01-01T00:00:00Z",
			"tree:     modified", "go:       go1.26.8"}},
		{"not stamped", &debug.BuildInfo{Main: debug.Module{Path: "github.com/ktest-dev/ktest", Version: "(devel)"}},
			[]string{"ktest (devel)\n", "revision: unknown"}},
		{"no build info", nil, []string{"ktest unknown\n", "revision: unknown"}},
		{"go install of a pseudo-version", &debug.BuildInfo{Main: debug.Module{Path: "github.com/ktest-dev/ktest", Version: "v0.0.0-20261203170852-51584f6a1ee8"}},
			[]string{"revision: 51584f6a1ee8 (from the module version)", "time:     2026-12-03T17:08:52Z"}},
		{"go install of a release", &debug.BuildInfo{Main: debug.Module{Path: "github.com/ktest-dev/ktest", Version: "v1.2.0"}},
			[]string{"ktest v1.2.0\n", "revision: unknown"}},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := printVersion(&b, tc.bi); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: lacks %q:\n%s", tc.name, w, b.String())
			}
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if code, out, errs := runCLI(t, args...); code != ExitOK || !strings.HasPrefix(out, "ktest ") || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

// TestOutputFitsWidth: tables and prose fit $COLUMNS; --json keeps the
// full text.
func TestOutputFitsWidth(t *testing.T) {
	const seed = "../../testdata/seeds/002_001cfc21aac17572.txt" // the repository's copy
	tree, mbox, _ := applyFixture(t)
	dir := t.TempDir()
	old := writeRun(t, dir, "old.json", cliRun("old", []float64{4210, 4300, 4390}, "pass"))
	hung := writeRun(t, dir, "hung.json", cliRun("hung", []float64{8500, 8600, 8800}, "hung"))
	tests := []struct {
		name  string
		width string
		args  []string
		seed  bool
	}{
		{"series show at 100", "100", []string{"series", "show", seed}, true},
		{"series show at 80", "80", []string{"series", "show", seed}, true},
		{"series show with fixups at 72", "72", []string{"series", "show", "--with-fixups", seed}, true},
		{"apply at 80", "80", []string{"apply", "--tree", tree, mbox}, false},
		{"apply --out at 72", "72", []string{"apply", "--tree", tree, "--out", filepath.Join(dir, "out"), mbox}, false},
		{"compare at 80", "80", []string{"compare", old, hung}, false},
		{"help at 60", "60", []string{"run", "-h"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.seed {
				if _, err := os.Stat(seed); err != nil {
					t.Skip("no seeds")
				}
			}
			t.Setenv("COLUMNS", tc.width)
			_, out, errs := runCLI(t, tc.args...)
			if out == "" {
				t.Fatalf("no output; stderr %s", errs)
			}
			width, _ := strconv.Atoi(tc.width)
			// Examples are command lines to copy, never wrapped.
			text, _, _ := strings.Cut(out, "\nexamples:\n")
			for _, l := range strings.Split(text, "\n") {
				if n := len([]rune(l)); n > width {
					t.Errorf("%d-column line at COLUMNS=%d: %q", n, width, l)
				}
			}
		})
	}
	if _, err := os.Stat(seed); err == nil {
		_, out, _ := runCLI(t, "series", "show", "--json", seed)
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "io_uring: support true async buffered reads, if file provides it") {
			t.Error("--json clipped a subject")
		}
	}
}

// groups are the commands with subcommands (a group's usage error names
// them; TestHelpFits checks it against this list).
var groups = map[string][]string{
	"cache":  {"ls", "gc", "rm", "key"},
	"kernel": {"config", "build"},
	"series": {"show", "split"},
}

// TestHelpFits checks every command's and subcommand's -h at 80 columns:
// no line wider, examples never wrapped (a long one continues with a
// backslash), and in the command list each command's summary line is a
// sentence of its own that fits.
func TestHelpFits(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	const width = 80
	_, list, _ := runCLI(t, "-h")
	checkWidth(t, "ktest -h", list, width)
	for name, subs := range groups {
		// Its help, never the command alone: 'ktest boot' alone boots.
		_, help, _ := runCLI(t, name, "-h")
		for _, sub := range subs {
			if !strings.Contains(help, sub) {
				t.Errorf("ktest %s -h does not name its subcommand %s", name, sub)
			}
		}
	}
	for _, name := range commandNames() {
		first := termfmt.FirstLine(commands[name].summary)
		if n := termfmt.Len(fmt.Sprintf("  %-10s %s", name, first)); n > width {
			t.Errorf("%s: the command list's line is %d columns: %q", name, n, first)
		}
		if first == "" || !unicode.IsUpper([]rune(first)[0]) || !strings.HasSuffix(first, ".") {
			t.Errorf("%s: the summary's first line is not a sentence: %q", name, first)
		}
		helps := [][]string{{name, "-h"}}
		for _, sub := range groups[name] {
			helps = append(helps, []string{name, sub, "-h"})
		}
		for _, args := range helps {
			code, out, errs := runCLI(t, args...)
			what := "ktest " + strings.Join(args, " ")
			if code != 0 || out == "" {
				t.Errorf("%s: exit %d, stderr %s", what, code, errs)
				continue
			}
			checkWidth(t, what, out, width)
			_, examples, ok := strings.Cut(out, "\nexamples:\n")
			if !ok {
				t.Errorf("%s: no examples", what)
				continue
			}
			prev := ""
			for _, l := range strings.Split(strings.TrimRight(examples, "\n"), "\n") {
				cmd := strings.TrimSpace(l)
				if !strings.Contains(cmd, "ktest ") && !strings.HasSuffix(prev, "\\") && !strings.HasPrefix(cmd, "#") {
					t.Errorf("%s: example line %q runs no ktest and continues no command: a wrapped example?", what, l)
				}
				prev = l
			}
		}
	}
}

func checkWidth(t *testing.T, what, out string, width int) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if n := termfmt.Len(l); n > width {
			t.Errorf("%s: %d-column line: %q", what, n, l)
		}
	}
}

// TestErrorPrefixOnce: an error names the command, with a group's
// subcommand, once ("ktest series split: ...", not "ktest series: series
// split: ...").
func TestErrorPrefixOnce(t *testing.T) {
	tree := t.TempDir()
	cases := []struct {
		args   []string
		prefix string
	}{
		{[]string{"series", "show", filepath.Join(tree, "nope.mbox")}, "ktest series show: "},
		{[]string{"series", "split"}, "ktest series split: "},
		{[]string{"series", "show", "--bogus", "x"}, "ktest series show: "},
		{[]string{"kernel", "config", "--tree", tree}, "ktest kernel config: "},
		{[]string{"cache", "rm", "nope", "--cache", tree}, "ktest cache rm: "},
		{[]string{"cache", "key", "--tree", tree, "--cache", tree}, "ktest cache key: "},
		{[]string{"series"}, "ktest series: "},
		{[]string{"report", filepath.Join(tree, "nope")}, "ktest report: "},
		{[]string{"ci", "jenkins"}, "ktest ci: "},
	}
	doubled := regexp.MustCompile(`^ktest ([a-z]+)(?: ([a-z]+))?: (?:ktest )?([a-z]+)( [a-z]+)?:`)
	for _, tc := range cases {
		code, _, errs := runCLI(t, tc.args...)
		if code == 0 || !strings.HasPrefix(errs, tc.prefix) {
			t.Errorf("%v: exit %d, stderr %q; want an error starting %q", tc.args, code, errs, tc.prefix)
		}
		if m := doubled.FindStringSubmatch(errs); m != nil && (m[3] == m[1] || m[3] == m[2]) {
			t.Errorf("%v: the command is named twice: %q", tc.args, errs)
		}
	}
}
