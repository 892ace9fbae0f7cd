package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vmstate"
)

func sshCommand() *command {
	return &command{
		name: "ssh",
		summary: `Open a shell, or run CMD, in a VM kept up by 'ktest boot'.
It works as ssh does: stdin, stdout and stderr are passed through and ktest
exits with CMD's status.
The shell gets a pty when stdin is a terminal; CMD gets one only with -t.
Without a pty, EOF on stdin closes CMD's stdin.`,
		usage: "[--pid PID] [-t|-T] [CMD...]",
		examples: []string{
			"ktest ssh                                  # a shell in the VM",
			"echo hello | ktest ssh cat",
			"ktest ssh 'cat > /tmp/fio.job' < fio.job",
			"ktest ssh -t top",
		},
		run: func(ctx context.Context, e env, args []string) error {
			return runSSH(ctx, args, os.Stdin, e.Stdout, e.Stderr)
		},
	}
}

func runSSH(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := commands["ssh"]
	fs := newFlagSet(c, stdout)
	pid := fs.Int("pid", 0, "the `PID` of the 'ktest boot' that runs the VM (needed when several run)")
	timeout := fs.Duration("connect-timeout", 30*time.Second, "give up connecting to the guest agent after `TIME`")
	forcePty := fs.Bool("t", false, "give CMD a pty (for top, vi, ...), even when stdin is not a terminal; its stderr is then merged into stdout")
	noPty := fs.Bool("T", false, "no pty, not even for the shell")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *forcePty && *noPty {
		return usageErrorf("-t and -T exclude each other")
	}
	st, err := vmstate.Find(*pid)
	if err != nil {
		return badInput(err)
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	client, err := st.Dial(dctx)
	cancel()
	if err != nil {
		return infraFailure(err)
	}
	defer func() { _ = client.Close() }() // the session is over; nothing to flush

	// As OpenSSH: a pty for the shell at a terminal, none for CMD unless asked.
	cmd := strings.Join(fs.Args(), " ")
	pty := (cmd == "" && remote.IsTerminal(stdin) || *forcePty) && !*noPty
	code, err := client.Exec(ctx, cmd, remote.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr, Pty: pty})
	if err != nil {
		return infraFailure(err)
	}
	if code != 0 {
		// The command said what went wrong, if anything; ssh adds nothing.
		status := code & 0xff
		if status == 0 {
			status = 255 // 256 must not look like success
		}
		return exitQuietly(status, fmt.Sprintf("guest command exited with status %d", code))
	}
	return nil
}
