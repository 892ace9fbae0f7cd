package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// process is a running command: the leader of its own process group (or
// session, with a pty) and the pumps copying its output to the channel.
//
// Contract: a command is over when its leader exits. The rest of its
// process group is then killed, buffered output is drained, and the pipes
// of processes that left the group (setsid) are cut after cutGrace. A
// daemon meant to outlive its command must leave the group and redirect
// its output.
type process struct {
	cmd   *exec.Cmd
	pumps []*pump
	pty   *pty
	stdin *os.File // our end of the stdin pipe; nil with a pty

	mu   sync.Mutex
	done bool // group killed and reaped: the pgid may be reused
}

// cutGrace is how long output may keep flowing from processes that
// escaped the killed group before their pipes are closed.
const cutGrace = 2 * time.Second

func startProcess(argv, env []string, dir string, ch ssh.Channel, tty *pty) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	p := &process{cmd: cmd, pty: tty}
	var childEnds []*os.File
	if tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.slave, tty.slave, tty.slave
		// A new session whose controlling terminal is the pty, so job
		// control and ^C work; the session id is the group id.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		p.pumps = []*pump{newPump(tty.master, ch)}
	} else {
		stdinR, stdinW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		stdoutR, stdoutW, err := os.Pipe()
		if err != nil {
			closeAll(stdinR, stdinW)
			return nil, err
		}
		stderrR, stderrW, err := os.Pipe()
		if err != nil {
			closeAll(stdinR, stdinW, stdoutR, stdoutW)
			return nil, err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		childEnds = []*os.File{stdinR, stdoutW, stderrW}
		p.stdin = stdinW
		p.pumps = []*pump{newPump(stdoutR, ch), newPump(stderrR, ch.Stderr())}
	}
	if err := cmd.Start(); err != nil {
		closeAll(childEnds...)
		for _, pu := range p.pumps {
			_ = pu.src.Close() // read end of the child's output: nothing to lose
		}
		if p.stdin != nil {
			_ = p.stdin.Close() // the command never started: nothing to deliver
		}
		if tty != nil {
			tty.close()
		}
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	// Only the child keeps its ends, so EOF shows when it (and its
	// descendants) let go.
	closeAll(childEnds...)
	if tty != nil {
		_ = tty.slave.Close() // the child holds its own copy
	}
	for _, pu := range p.pumps {
		go pu.run()
	}
	// Stdin: client data until its EOF, then EOF for the command.
	go func() {
		if tty != nil {
			_, _ = io.Copy(tty.master, ch) // the copy ends with the client's EOF or the session; either way stdin ends
			return
		}
		_, _ = io.Copy(p.stdin, ch) // as above; the Close below gives the command its EOF
		_ = p.stdin.Close()         // the command's EOF: a close error has no one to tell
	}()
	return p, nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close() // pipe ends: closing loses no data
	}
}

// exitState is how a command ended.
type exitState struct {
	code       int // exit status; 128+signal when killed
	signal     syscall.Signal
	coreDumped bool
}

// wait waits for the leader, kills what is left of its group, drains the
// output and reports how the leader ended.
func (p *process) wait() exitState {
	err := p.cmd.Wait()
	st := exitState{}
	if ps := p.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.signal = ws.Signal()
			st.code = 128 + int(st.signal)
			st.coreDumped = ws.CoreDump()
		} else {
			st.code = ps.ExitCode()
		}
	} else if err != nil {
		st.code = exitCodeNotRun
	}
	p.killGroup()
	if !waitPumps(p.pumps, cutGrace) {
		for _, pu := range p.pumps {
			_ = pu.src.Close() // unblocks a pump stuck on a descendant's pipe
		}
		waitPumps(p.pumps, time.Minute)
	}
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	if p.pty != nil {
		p.pty.close()
	}
	return st
}

func waitPumps(pumps []*pump, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for _, pu := range pumps {
		select {
		case <-pu.done:
		case <-timer.C:
			return false
		}
	}
	return true
}

// killGroup SIGKILLs the command's whole process group.
func (p *process) killGroup() {
	_ = p.signalGroup(syscall.SIGKILL) // the group may be gone already: nothing left to kill
}

func (p *process) signalGroup(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.cmd.Process == nil {
		return errors.New("process already finished")
	}
	// The leader's pid is the group id (Setpgid, or Setsid with a pty).
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// pump copies a command's output to the channel as it arrives.
type pump struct {
	src  *os.File
	dst  io.Writer
	done chan struct{}
}

func newPump(src *os.File, dst io.Writer) *pump {
	return &pump{src: src, dst: dst, done: make(chan struct{})}
}

func (p *pump) run() {
	defer close(p.done)
	defer func() { _ = p.src.Close() }() // read end: nothing to lose
	buf := make([]byte, 32*1024)
	for {
		n, err := p.src.Read(buf)
		if n > 0 {
			if _, werr := p.dst.Write(buf[:n]); werr != nil {
				// The client is gone; keep reading so the command
				// never blocks on a full pipe.
				p.dst = io.Discard
			}
		}
		if err != nil {
			// EOF, EIO from a pty whose slaves are all closed, or
			// our own Close after cutGrace.
			return
		}
	}
}

// pty is a pseudo-terminal pair for interactive sessions.
type pty struct {
	master *os.File // pollable, so Close interrupts a blocked Read
	slave  *os.File
}

func openPty() (*pty, error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		_ = unix.Close(mfd) // error path: the fd is dropped either way
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the slave without a path lookup (Linux 4.13+).
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		_ = unix.Close(mfd) // error path: the fd is dropped either way
		return nil, fmt.Errorf("open pty slave: %w", errno)
	}
	if err := unix.SetNonblock(mfd, true); err != nil {
		_ = unix.Close(mfd)      // error path: the fd is dropped either way
		_ = unix.Close(int(sfd)) // error path: the fd is dropped either way
		return nil, err
	}
	return &pty{
		master: os.NewFile(uintptr(mfd), "/dev/ptmx"),
		slave:  os.NewFile(sfd, "pty-slave"),
	}, nil
}

func (p *pty) resize(cols, rows uint32) {
	if cols == 0 || rows == 0 {
		return
	}
	rc, err := p.master.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { // a resize is cosmetic: the session works at any size
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
	})
}

func (p *pty) close() {
	_ = p.master.Close() // pty fds: closing loses nothing
	_ = p.slave.Close()
}

// signalByName maps an RFC 4254 signal name ("KILL", "INT") to a signal.
func signalByName(name string) (syscall.Signal, bool) {
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(name, "SIG"))
	return sig, sig != 0
}

// signalName is the RFC 4254 name of sig ("KILL").
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	return fmt.Sprintf("%d", int(sig))
}
