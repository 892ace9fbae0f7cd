package vm

import (
	"os/exec"
	"runtime"
	"syscall"
)

// process is a QEMU process that cannot outlive ktest: it runs in its own
// process group (a terminal's Ctrl-C reaches ktest, which then shuts the
// VM down in order) and gets SIGKILL if ktest dies (Pdeathsig).
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // Wait's result, valid after done
}

// startProcess starts cmd and reaps it in the background.
func startProcess(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the thread that forked exits, not the process.
	// Go only ends threads whose goroutine exits while locked to them, so
	// forking from a locked thread and unlocking afterwards keeps that
	// thread alive for the life of ktest.
	runtime.LockOSThread()
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// kill sends SIGKILL to the process group. Safe to call any number of
// times, also after the process exited (the group is then empty).
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	// ESRCH only: the group exited between the check and the kill.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// exited reports whether the process has been reaped.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// status describes how the reaped process ended: "exit status 1",
// "signal: killed", ...
func (p *process) status() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}
