// Command fsfreeze freezes (-f) or thaws (-u) the filesystem mounted at
// PATH, like util-linux fsfreeze. The VM tests copy it into the guest to
// put a writer into uninterruptible sleep and provoke a real hung-task
// report.
package main

import (
	"fmt"
	"os"
	"syscall"
)

const (
	fifreeze = 0xc0045877 // _IOWR('X', 119, int)
	fithaw   = 0xc0045878 // _IOWR('X', 120, int)
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "-f" && os.Args[1] != "-u") {
		fmt.Fprintln(os.Stderr, "usage: fsfreeze -f|-u PATH")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req := uintptr(fifreeze)
	if os.Args[1] == "-u" {
		req = fithaw
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "fsfreeze %s %s: %v\n", os.Args[1], os.Args[2], errno)
		os.Exit(1)
	}
}
