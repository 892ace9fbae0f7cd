// Command ktest-agent is the guest's uinit: it finishes early boot (mounts,
// entropy, networking behind QEMU user net) and serves SSH on port 22 for
// the ktest host. Build it static (CGO_ENABLED=0).
//
// The agent-internal commands also work from a shell in the guest:
//
//	ktest-agent put PATH MODE   < data
//	ktest-agent get PATH        > data
//	ktest-agent poweroff
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/ktest-dev/ktest/guest/agent"
	"github.com/ktest-dev/ktest/guest/proto"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(subcommand(os.Args[1:]))
	}
	if err := serve(); err != nil {
		// Exiting hands the console to u-root's shell, which is the
		// most useful thing left to do.
		fmt.Fprintf(os.Stderr, "ktest-agent: %v\n", err)
		os.Exit(1)
	}
}

func subcommand(args []string) int {
	var err error
	switch {
	case args[0] == proto.CmdPut && len(args) == 3:
		var mode os.FileMode
		if mode, err = proto.ParseMode(args[2]); err == nil {
			err = agent.Put(os.Stdin, args[1], mode)
		}
	case args[0] == proto.CmdGet && len(args) == 2:
		err = agent.Get(os.Stdout, args[1])
	case args[0] == proto.CmdPowerOff && len(args) == 1:
		err = agent.PowerOff()
	default:
		fmt.Fprintln(os.Stderr, "usage: ktest-agent [put PATH MODE | get PATH | poweroff]")
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktest-agent: %v\n", err)
		return 1
	}
	return 0
}

func serve() error {
	console := os.Stdout
	start := time.Now()
	if err := agent.MountAll(); err != nil {
		// Keep going: a missing debugfs must not cost us SSH.
		agent.Say(console, "ktest-agent: %v", err)
	}
	ctx := context.Background()
	entropyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err := agent.WaitEntropy(entropyCtx, console)
	cancel()
	if err != nil {
		// crypto/rand will block until the pool is ready; say why
		// SSH may be slow and carry on.
		agent.Say(console, "ktest-agent: %v", err)
	}
	netCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	link, err := agent.NetUp(netCtx, agent.QEMUUserNet)
	cancel()
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	cfg, err := agent.LoadConfig(proto.AgentHostKeyPath, proto.AgentAuthorizedKeyPath)
	if err != nil {
		return err
	}
	cfg.Shell = findShell()
	cfg.PowerOff = agent.PowerOff
	cfg.Log = os.Stderr
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(proto.AgentPort))
	if err != nil {
		return err
	}
	agent.Say(console, "%s (%s %s, %v after agent start)", proto.AgentReadyLine, link, agent.QEMUUserNet.Addr, time.Since(start).Round(time.Millisecond))
	return agent.Serve(ctx, ln, cfg)
}

// findShell returns the image's shell, or "" to run commands without one.
func findShell() string {
	for _, sh := range []string{"/bin/sh", "/bbin/gosh"} {
		if st, err := os.Stat(sh); err == nil && st.Mode().IsRegular() {
			return sh
		}
	}
	return ""
}
