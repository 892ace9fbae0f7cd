// Command ktest answers "what does this patch series do to the kernel?":
// it applies a series, builds and boots the kernel in QEMU, runs read
// tests over SSH and reports baseline against patched.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
)

// env is where a command writes: its results on Stdout, progress,
// warnings and errors on Stderr. Commands write nowhere else, so a test
// runs one with buffers.
type env struct {
	Stdout, Stderr io.Writer
}

// command is one `ktest <name>` subcommand. Each lives in its own file;
// commandTable lists them.
type command struct {
	name    string
	summary string // one line for the command list
	usage   string // argument synopsis shown by -h
	// examples are command lines shown at the end of -h.
	examples []string
	// run parses its own flags from args and does the work, writing to
	// e. Errors are mapped to exit codes by exitCode.
	run func(ctx context.Context, e env, args []string) error
	// subs are a group's subcommands, as its groupHelp call names them,
	// so that an error is prefixed "ktest series split:", once.
	subs []string
}

// commandTable is every command, in the order help lists them.
func commandTable() []*command {
	return []*command{
		applyCommand(),
		bootCommand(),
		cacheCommand(),
		ciCommand(),
		compareCommand(),
		initramfsCommand(),
		kernelCommand(),
		mergeCommand(),
		reportCommand(),
		runCommand(),
		seriesCommand(),
		sshCommand(),
		versionCommand(),
	}
}

// commands are commandTable's commands by name.
var commands = map[string]*command{}

func init() {
	for _, c := range commandTable() {
		if _, dup := commands[c.name]; dup {
			panic("ktest: command declared twice: " + c.name)
		}
		commands[c.name] = c
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], env{Stdout: os.Stdout, Stderr: os.Stderr}))
}

func realMain(args []string, e env) int {
	if len(args) == 0 {
		printCommands(e.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help":
		printCommands(e.Stdout)
		return ExitOK
	case "help": // help [COMMAND [SUBCOMMAND]]
		if len(args) == 1 {
			printCommands(e.Stdout)
			return ExitOK
		}
		args = append(args[1:], "-h")
	case "--version", "-version", "-V":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		say(e.Stderr, "ktest: unknown command %q%s\nRun 'ktest -h' for the list of commands.\n",
			args[0], didYouMean(args[0], commandNames()))
		return ExitUsage
	}

	ctx, cancel, stop := withSignals(context.Background())
	defer stop()
	e.Stdout = &pipeGuard{w: e.Stdout, cancel: cancel}
	err := c.run(ctx, e, args[1:])
	if se := signalCause(ctx); se != nil && err != nil && !errors.Is(err, errQuiet) {
		// What failed after the signal is its consequence: say what
		// stopped the command.
		err = se
	}
	reportError(e.Stderr, commandName(c, args[1:]), err)
	return exitCode(ctx, err)
}

// commandName is how errors name the command: with the subcommand of a
// group, "series split".
func commandName(c *command, args []string) string {
	if len(args) > 0 && slices.Contains(c.subs, args[0]) {
		return c.name + " " + args[0]
	}
	return c.name
}

// reportError prints what went wrong, unless the exit code says it all:
// as for any Unix filter, a reader that left (`ktest run -h | head`) gets
// exit 141 and no message.
func reportError(stderr io.Writer, name string, err error) {
	var se *SignalError
	if errors.As(err, &se) && se.Sig == syscall.SIGPIPE {
		return
	}
	if err != nil && !errors.Is(err, errHelp) && !errors.Is(err, errQuiet) {
		say(stderr, "ktest %s: %v\n", name, err)
	}
}

// say writes to the user's stdout or stderr. Best effort: a reader that
// went away is the signal policy's business (exit 141), and there is no
// one else to tell.
func say(w io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }

// warnIf reports a best-effort cleanup that failed: the command's own
// result stands, and the user learns what was left behind.
func warnIf(stderr io.Writer, what string, err error) {
	if err != nil {
		say(stderr, "ktest: warning: %s: %v\n", what, err)
	}
}
