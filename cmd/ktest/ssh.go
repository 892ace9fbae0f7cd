package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vmstate"
)

func init() {
	register(&command{
		name: "ssh",
		summary: `Open a shell (with a pty) in a VM kept up by 'ktest boot', or run CMD there.
With CMD, its output is streamed and ktest exits with its status.`,
		usage: "[--pid PID] [CMD...]",
		run:   runSSH,
	})
}

func runSSH(ctx context.Context, args []string) error {
	c := commands["ssh"]
	fs := newFlagSet(c)
	pid := fs.Int("pid", 0, "the `PID` of the 'ktest boot' that runs the VM (needed when several run)")
	timeout := fs.Duration("connect-timeout", 30*time.Second, "limit for connecting to the guest agent")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	defer client.Close()

	if fs.NArg() > 0 {
		code, err := client.Run(ctx, strings.Join(fs.Args(), " "), os.Stdout, os.Stderr)
		if err != nil {
			return infraFailure(err)
		}
		if code != 0 {
			return &exitError{code: code & 0xff, err: fmt.Errorf("guest command exited with status %d", code)}
		}
		return nil
	}
	err = client.Shell(ctx, os.Stdin, os.Stdout, os.Stderr)
	var ee *remote.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.Code & 0xff, err: err}
	}
	if err != nil {
		return infraFailure(err)
	}
	return nil
}
