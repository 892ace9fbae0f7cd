package vm

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// qemuIDRE is QEMU's rule for device and drive ids.
var qemuIDRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// deviceID returns the QEMU id a device claims, for duplicate checks.
func deviceID(d Device) string {
	switch d := d.(type) {
	case Disk:
		return d.ID
	case *Disk:
		return d.ID
	case Net:
		return d.id()
	case *Net:
		return d.id()
	}
	return ""
}

// escapeOpt escapes a value inside a QEMU -drive/-device option list,
// where a comma separates options and ",," is a literal comma.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Disk is a raw image attached as a virtio-blk disk. The guest finds it by
// Serial in /sys/block/vd*/serial.
type Disk struct {
	ID     string // QEMU drive id, e.g. "ext4"
	Path   string // raw image; Start makes a sparse one of Size bytes if empty
	Serial string // virtio-blk serial, at most 20 bytes, no commas
	// Size is the size of the sparse image Start creates in its run
	// directory (and Close removes) when Path is empty.
	Size int64
}

func (d Disk) QEMUArgs() []string {
	return []string{
		"-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=raw,cache=unsafe", d.ID, escapeOpt(d.Path)),
		"-device", fmt.Sprintf("virtio-blk-pci,drive=%s,serial=%s", d.ID, d.Serial),
	}
}

func (d Disk) KernelArgs() []string { return nil }

// Validate reports what makes the disk unusable.
func (d Disk) Validate() error {
	switch {
	case !qemuIDRE.MatchString(d.ID):
		return fmt.Errorf("disk id %q: want a letter then letters, digits, '_', '.', '-'", d.ID)
	case d.Path == "":
		return fmt.Errorf("disk %q: no image path (Start creates one when Size is set)", d.ID)
	case len(d.Serial) > 20 || strings.ContainsAny(d.Serial, ", \t\n"):
		return fmt.Errorf("disk %q: serial %q: want at most 20 bytes without commas or blanks", d.ID, d.Serial)
	}
	return nil
}

// CreateSparseImage creates a sparse raw disk image of size bytes at
// path, which must not exist yet.
func CreateSparseImage(path string, size int64) error {
	if size <= 0 {
		return fmt.Errorf("disk image %s: size %d: must be positive", path, size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("disk image: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		_ = f.Close()       // teardown: nothing is written through it any more
		_ = os.Remove(path) // best-effort cleanup: the error that brought us here is the one to report
		return fmt.Errorf("disk image %s: %w", path, err)
	}
	return f.Close()
}

// Net is a virtio-net NIC on QEMU's user-mode network (guest 10.0.2.15,
// gateway 10.0.2.2, no DHCP needed) with one TCP port of the guest
// forwarded from 127.0.0.1:HostPort.
type Net struct {
	ID        string // QEMU netdev id; "" means "net0"
	HostPort  int    // host port on 127.0.0.1; Start picks a free one if 0
	GuestPort int    // 0 means 22
	// Outbound lets the guest open connections to the host's networks.
	// By default the network is restricted (restrict=on): the guest
	// reaches nothing, and only the forwarded port reaches the guest.
	Outbound bool
}

func (n Net) id() string {
	if n.ID == "" {
		return "net0"
	}
	return n.ID
}

func (n Net) guestPort() int {
	if n.GuestPort == 0 {
		return 22
	}
	return n.GuestPort
}

func (n Net) QEMUArgs() []string {
	netdev := "user,id=" + n.id()
	if !n.Outbound {
		netdev += ",restrict=on"
	}
	netdev += ",hostfwd=tcp:127.0.0.1:" + strconv.Itoa(n.HostPort) + "-:" + strconv.Itoa(n.guestPort())
	return []string{"-netdev", netdev, "-device", "virtio-net-pci,netdev=" + n.id()}
}

// KernelArgs is empty: the guest agent configures the fixed user-net
// address itself.
func (n Net) KernelArgs() []string { return nil }

// Validate reports what makes the NIC unusable.
func (n Net) Validate() error {
	switch {
	case !qemuIDRE.MatchString(n.id()):
		return fmt.Errorf("net id %q: want a letter then letters, digits, '_', '.', '-'", n.ID)
	case n.HostPort < 1 || n.HostPort > 65535:
		return fmt.Errorf("net %q: host port %d out of range (Start picks one when 0)", n.id(), n.HostPort)
	case n.GuestPort < 0 || n.GuestPort > 65535:
		return fmt.Errorf("net %q: guest port %d out of range", n.id(), n.GuestPort)
	}
	return nil
}

// RNG is a virtio-rng device fed from the host's /dev/urandom, so the
// guest's entropy pool (and with it the SSH key exchange) is ready early.
type RNG struct{}

func (RNG) QEMUArgs() []string   { return []string{"-device", "virtio-rng-pci"} }
func (RNG) KernelArgs() []string { return nil }
