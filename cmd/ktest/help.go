package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ktest-dev/ktest/internal/suggest"
	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Help conventions: -h prints to stdout and exits 0, so `ktest run -h |
// less` works; usage errors go to stderr and exit 2. Flags are spelled
// --name (one-letter ones -n, as in GNU tools); the flag package accepts
// both spellings.

// newFlagSet returns a FlagSet for c whose -h prints c's help to its
// Output, stdout (see parseFlags), and whose parse errors become usage
// errors (exit 2).
func newFlagSet(c *command, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ktest "+c.name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { printHelp(fs.Output(), c, fs) }
	return fs
}

// parseFlags parses args. -h prints the help to fs.Output() and returns
// errHelp, so the caller exits 0; other errors are usage errors, for
// realMain to print on stderr.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package prints errors and usage to Output on every
	// mistake: silence it while parsing.
	help := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(help)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return errHelp
	}
	return flagError(fs, err)
}

// flagError rewrites the flag package's errors in ktest's spelling, with
// a suggestion for a mistyped flag.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf(" (see '%s -h')", fs.Name())
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		msg = "unknown flag " + flagName(name)
		if s, ok := suggest.Closest(strings.TrimLeft(name, "-"), names); ok {
			hint = fmt.Sprintf("; did you mean %s?", flagName(s))
		}
		return usageErrorf("%s%s", msg, hint)
	}
	// "invalid value "x" for flag -fuzz: ...", "flag needs an argument: -tree"
	for _, marker := range []string{"for flag -", "needs an argument: -"} {
		if before, after, ok := strings.Cut(msg, marker); ok {
			name, rest, _ := strings.Cut(after, ":")
			if rest != "" || strings.HasSuffix(after, ":") {
				rest = ":" + rest
			}
			msg = before + strings.TrimSuffix(marker, "-") + flagName(name) + rest
		}
	}
	return usageErrorf("%s%s", msg, hint)
}

// flagName is how help and errors spell a flag.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// printHelp prints a command's usage line, description, flags and
// examples, fitted to the output's width (examples are command lines to
// copy, never wrapped).
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	width := termfmt.Width(w)
	b := &strings.Builder{}
	defer writeOut(w, b)
	fmt.Fprintln(b, termfmt.Wrap(c.usage, width, "usage: ktest "+c.name+" ", "    "))
	fmt.Fprintln(b)
	// The description is laid out by hand: only lines too long for the
	// width are wrapped, under their own indentation.
	for _, l := range strings.Split(c.summary, "\n") {
		if termfmt.Len(l) <= width {
			fmt.Fprintln(b, l)
			continue
		}
		text := strings.TrimLeft(l, " ")
		lead := l[:len(l)-len(text)]
		fmt.Fprintln(b, termfmt.Wrap(text, width, lead, lead))
	}
	if fs != nil {
		printFlags(b, width, fs)
	}
	printExamples(b, c.examples)
}

// writeOut writes what b holds to w, the user's terminal or pipe. Best
// effort: a reader that went away is the signal policy's business (exit
// 141), and there is no one else to tell.
func writeOut(w io.Writer, b *strings.Builder) { _, _ = io.WriteString(w, b.String()) }

func printExamples(w *strings.Builder, examples []string) {
	if len(examples) == 0 {
		return
	}
	fmt.Fprintf(w, "\nexamples:\n")
	for _, e := range examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// printFlags lists fs's flags as "--name ARG  usage (default x)",
// wrapped to the output's width.
func printFlags(w *strings.Builder, width int, fs *flag.FlagSet) {
	type row struct{ name, usage string }
	var rows []row
	col := 0
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		name := flagName(f.Name)
		if arg != "" {
			name += " " + argName(arg)
		}
		if d := f.DefValue; !isZeroDefault(d) && !strings.Contains(usage, "(default") {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					d = fmt.Sprintf("%q", d)
				}
			}
			usage += " (default " + d + ")"
		}
		rows = append(rows, row{name, strings.ReplaceAll(usage, "\n", " ")})
		if len(name) <= 24 { // a longer one gets a line of its own
			col = max(col, len(name))
		}
	})
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	indent := strings.Repeat(" ", 2+col+2)
	for _, r := range rows {
		lead := fmt.Sprintf("  %-*s  ", col, r.name)
		if len(r.name) > col {
			fmt.Fprintf(w, "  %s\n", r.name)
			lead = indent
		}
		fmt.Fprintln(w, termfmt.Wrap(r.usage, width, lead, indent))
	}
}

// argName turns the flag package's generic argument names into the
// capitals help uses for placeholders.
func argName(a string) string {
	switch a {
	case "int", "uint":
		return "N"
	case "value":
		return "VALUE"
	}
	return strings.ToUpper(a)
}

func isZeroDefault(d string) bool {
	switch d {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// printCommands prints the command list: each command with the first
// line of its summary, a sentence that fits the list (TestHelpFits).
func printCommands(w io.Writer) {
	say(w, "usage: ktest <command> [flags] [args]\n")
	say(w, "\ncommands:\n")
	for _, n := range commandNames() {
		say(w, "  %-10s %s\n", n, termfmt.FirstLine(commands[n].summary))
	}
	say(w, "\nRun 'ktest <command> -h' for a command's flags and examples, and\n")
	say(w, "'ktest --version' for the build. Exit codes: 0 ok; 1 the kernel or a test\n")
	say(w, "failed, a regression, or a patch that does not apply; 2 usage or bad input; 3\n")
	say(w, "ktest or the host failed (QEMU, disks, SSH, a make that died without a\n")
	say(w, "compiler error); 128+N stopped by signal N (130: Ctrl-C).\n")
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// didYouMean is `; did you mean "x"?` for a typo of one of names, or "".
func didYouMean(word string, names []string) string {
	if s, ok := suggest.Closest(word, names); ok {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// groupHelp handles the group's own arguments: -h prints its help to
// stdout (errHelp); no subcommand or an unknown one is a usage error with
// a suggestion. ok means args[0] is one of subs.
func groupHelp(stdout io.Writer, group *command, subs []string, args []string) (ok bool, err error) {
	group.subs = subs
	if len(args) == 0 {
		return false, usageErrorf("missing subcommand (%s); see 'ktest %s -h'", strings.Join(subs, ", "), group.name)
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		printHelp(stdout, group, nil)
		return false, errHelp
	}
	for _, s := range subs {
		if args[0] == s {
			return true, nil
		}
	}
	return false, usageErrorf("unknown subcommand %q%s (want %s)", args[0], didYouMean(args[0], subs), strings.Join(subs, ", "))
}
