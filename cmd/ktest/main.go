// Command ktest answers "what does this patch series do to the kernel?":
// it applies a series, builds and boots the kernel in QEMU, runs read
// tests over SSH and reports baseline against patched.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one `ktest <name>` subcommand. Each lives in its own file
// and registers itself from init.
type command struct {
	name    string
	summary string // one line for the command list
	usage   string // argument synopsis shown by -h
	// run parses its own flags from args and does the work. Errors are
	// mapped to exit codes by exitCode.
	run func(ctx context.Context, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("ktest: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// newFlagSet returns a FlagSet whose -h prints the command's usage and
// whose parse errors become usage errors (exit 2).
func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("ktest "+c.name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ktest %s %s\n\n%s\n\nflags:\n", c.name, c.usage, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns errHelp for -h so the caller exits 0.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageErrorf("%v", err)
	}
	return nil
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stderr))
}

func realMain(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printCommands(stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ktest: unknown command %q\n\n", args[0])
		printCommands(stderr)
		return ExitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:])
	reportError(stderr, c.name, err)
	return exitCode(ctx, err)
}

// reportError prints what went wrong, unless the exit code says it all.
func reportError(stderr io.Writer, name string, err error) {
	if err != nil && !errors.Is(err, errHelp) && !errors.Is(err, errQuiet) {
		fmt.Fprintf(stderr, "ktest %s: %v\n", name, err)
	}
}

func printCommands(w io.Writer) {
	fmt.Fprintln(w, "usage: ktest <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, firstLine(commands[n].summary))
	}
	fmt.Fprintln(w, "\nRun 'ktest <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 tests failed or regression, 2 usage or bad input,")
	fmt.Fprintln(w, "3 infrastructure failure (apply, config, build, boot), 130 interrupted.")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
