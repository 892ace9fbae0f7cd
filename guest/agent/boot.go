package agent

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mountSpec is one filesystem the guest needs.
type mountSpec struct {
	source, target, fstype, data string
}

// guestMounts are mounted in order; u-root's init has usually done most of
// them already, which is fine.
var guestMounts = []mountSpec{
	{"proc", "/proc", "proc", ""},
	{"sysfs", "/sys", "sysfs", ""},
	{"devtmpfs", "/dev", "devtmpfs", ""},
	{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620"},
	{"debugfs", "/sys/kernel/debug", "debugfs", ""},
	{"tmpfs", "/tmp", "tmpfs", ""},
}

// MountAll mounts proc, sysfs, devtmpfs, devpts, debugfs and /tmp where they
// are not mounted yet, creating the mount points. It tries all of them and
// returns every failure joined.
func MountAll() error {
	var errs []error
	for _, m := range guestMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("mount %s: %w", m.target, err))
			continue
		}
		if isMountPoint(m.target) {
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err))
		}
	}
	// devpts with newinstance needs /dev/ptmx to lead to its own ptmx.
	if _, err := os.Lstat("/dev/ptmx"); errors.Is(err, os.ErrNotExist) {
		if err := os.Symlink("pts/ptmx", "/dev/ptmx"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isMountPoint reports whether dir is on another device than its parent,
// which is how a mount point looks (bind mounts of the same fs excepted).
func isMountPoint(dir string) bool {
	var st, parent unix.Stat_t
	if unix.Stat(dir, &st) != nil || unix.Stat(filepath.Dir(dir), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// WaitEntropy makes sure crypto/rand will not block: the SSH key exchange
// needs randomness early in boot, when the kernel pool may be empty. If
// getrandom(GRND_NONBLOCK) would block, it says so on console and credits
// bytes read from the hardware RNG (virtio-rng, /dev/hwrng) to the pool
// until the pool is ready or ctx is done.
func WaitEntropy(ctx context.Context, console io.Writer) error {
	if entropyReady() {
		return nil
	}
	Say(console, "ktest-agent: kernel entropy pool not initialised; feeding it from /dev/hwrng")
	start := time.Now()
	for {
		if err := creditHWRNG(); err != nil && ctx.Err() == nil {
			// No hwrng: the kernel's own jitter entropy will get there.
			Say(console, "ktest-agent: %v", err)
		}
		if entropyReady() {
			Say(console, "ktest-agent: entropy pool ready after %v", time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("entropy pool still not initialised after %v: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func entropyReady() bool {
	var b [1]byte
	_, err := unix.Getrandom(b[:], unix.GRND_NONBLOCK)
	return err == nil
}

// creditHWRNG reads 64 bytes from /dev/hwrng and adds them to the kernel
// pool with full credit (RNDADDENTROPY; needs CAP_SYS_ADMIN).
func creditHWRNG() error {
	hw, err := os.Open("/dev/hwrng")
	if err != nil {
		return fmt.Errorf("hwrng: %w", err)
	}
	defer func() { _ = hw.Close() }() // read-only: a close error loses nothing
	const n = 64
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+n)
	if _, err := io.ReadFull(hw, info[8:]); err != nil {
		return fmt.Errorf("read /dev/hwrng: %w", err)
	}
	binary.NativeEndian.PutUint32(info[0:], n*8)
	binary.NativeEndian.PutUint32(info[4:], n)
	rnd, err := os.OpenFile("/dev/random", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("credit entropy: %w", err)
	}
	defer func() { _ = rnd.Close() }() // only an ioctl was made: nothing to flush
	rc, err := rnd.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.RNDADDENTROPY, uintptr(unsafe.Pointer(&info[0])))
	}); err != nil {
		return fmt.Errorf("RNDADDENTROPY: %w", err)
	}
	if errno != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", errno)
	}
	return nil
}

// PowerOff syncs, unmounts what it can and stops the machine. Kernels that
// cannot power off (no ACPI, so the power-off request would only halt) are
// restarted instead: QEMU runs with -no-reboot and exits either way. It
// returns only on failure.
func PowerOff() error {
	// Decide before unmounting: the test looks in /sys.
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if !canPowerOff() {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	unix.Sync()
	unmountAll()
	unix.Sync()
	return fmt.Errorf("reboot(%#x): %w", cmd, unix.Reboot(cmd))
}

// canPowerOff guesses whether the kernel has a power-off method; on x86
// that is ACPI.
func canPowerOff() bool {
	_, err := os.Stat("/sys/firmware/acpi")
	return err == nil
}

// unmountAll unmounts every mount but / in reverse mount order, ignoring
// failures (busy /dev, /proc...): what matters is that disk filesystems
// are clean.
func unmountAll() {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	var targets []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[1] != "/" {
			targets = append(targets, unescapeMountPath(fields[1]))
		}
	}
	_ = f.Close() // read-only: a close error loses nothing
	slices.Reverse(targets)
	for _, t := range targets {
		_ = unix.Unmount(t, 0) // ignored as the doc says; Sync follows
	}
}

// unescapeMountPath undoes the octal escapes (\040 for space) of
// /proc/self/mounts.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Say writes one line to w, the console or a session's stderr. It is
// best effort: that is the only place the agent can say anything, and
// when it cannot be written there is no one else to tell (the host's
// boot or command timeout speaks then).
func Say(w io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(w, format+"\n", a...)
}
