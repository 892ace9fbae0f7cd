package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ktest-dev/ktest/remote"
)

func init() {
	register(&command{
		name: "ssh",
		summary: `Open a shell in a VM kept up by 'ktest boot', or run CMD there, as ssh does:
stdin, stdout and stderr are passed through and ktest exits with CMD's status.
The shell gets a pty when stdin is a terminal; CMD gets one only with -t.
Without a pty, EOF on stdin closes CMD's stdin.`,
		usage: "[--pid PID] [-t|-T] [CMD...]",
		examples: []string{
			"ktest ssh                                  # a shell in the VM",
			"echo hello | ktest ssh cat",
			"ktest ssh 'cat > /tmp/fio.job' < fio.job",
			"ktest ssh -t top",
		},
		run: func(ctx context.Context, args []string) error {
			return runSSH(ctx, args, os.Stdin, resultsStdout, os.Stderr)
		},
	})
}

func runSSH(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := commands["ssh"]
	fs := newFlagSet(c)
	fs.SetOutput(stdout)
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
	st, err := findVMState(*pid)
	if err != nil {
		return badInput(err)
	}
	keyPEM, err := os.ReadFile(st.KeyFile)
	if err != nil {
		return infraFailure(fmt.Errorf("client key: %w", err))
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return infraFailure(fmt.Errorf("client key %s: %w", st.KeyFile, err))
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(st.HostKey))
	if err != nil {
		return infraFailure(fmt.Errorf("host key of VM %d: %w", st.PID, err))
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	client, err := remote.Dial(dctx, st.Addr, hostKey, signer)
	cancel()
	if err != nil {
		return infraFailure(err)
	}
	defer client.Close()

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

// findVMState returns the state of the VM run by 'ktest boot' process
// pid, or of the only one running when pid is 0. States of processes
// that are gone are removed.
func findVMState(pid int) (*vmState, error) {
	root, err := vmStateRoot()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var live []*vmState
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil {
			continue // being written, or not ours
		}
		var st vmState
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
		}
		if !processAlive(st.PID) {
			os.RemoveAll(dir) // its ktest boot was killed before cleaning up
			continue
		}
		if pid == 0 || st.PID == pid {
			live = append(live, &st)
		}
	}
	switch {
	case len(live) == 1:
		return live[0], nil
	case len(live) == 0 && pid != 0:
		return nil, fmt.Errorf("no VM of 'ktest boot' process %d in %s", pid, root)
	case len(live) == 0:
		return nil, fmt.Errorf("no VM running: start one with 'ktest boot' (looked in %s)", root)
	}
	var pids []string
	for _, st := range live {
		pids = append(pids, fmt.Sprintf("%d (%s, since %s)", st.PID, st.Addr, st.Started.Format(time.TimeOnly)))
	}
	return nil, fmt.Errorf("%d VMs running; choose one with --pid: %s", len(live), strings.Join(pids, ", "))
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
