// The forwarded SSH port: picked free, and picked again if another
// process takes it before QEMU binds it.

package vm

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// netWithPort returns the index of the Net forwarding host port, or -1.
func netWithPort(o Options, port int) int {
	for i, d := range o.Devices {
		if n, ok := d.(Net); ok && n.HostPort == port {
			return i
		}
	}
	return -1
}

// prepareDevices copies o's devices, creating disk images for Disks
// without a Path in runDir, adding a Net if there is none, and picking
// host ports for Nets without one (picked holds their indexes); it
// places the console log and the monitor socket in runDir unless o
// names them.
func prepareDevices(o Options, runDir string) (_ Options, picked map[int]bool, _ error) {
	devs := make([]Device, 0, len(o.Devices)+1)
	hasNet := false
	for _, d := range o.Devices {
		switch dv := d.(type) {
		case *Disk:
			if dv != nil {
				d = *dv
			}
		case *Net:
			if dv != nil {
				d = *dv
			}
		}
		switch dv := d.(type) {
		case Disk:
			if dv.Path == "" && dv.Size > 0 && qemuIDRE.MatchString(dv.ID) {
				dv.Path = filepath.Join(runDir, dv.ID+".img")
				if err := CreateSparseImage(dv.Path, dv.Size); err != nil {
					return o, nil, fmt.Errorf("vm: %w", err)
				}
			}
			d = dv
		case Net:
			hasNet = true
		}
		devs = append(devs, d)
	}
	if !hasNet {
		devs = append(devs, Net{})
	}
	o.Devices = devs
	picked = map[int]bool{}
	for i, d := range o.Devices {
		if n, ok := d.(Net); ok && n.HostPort == 0 {
			o = withFreshPort(o, i)
			picked[i] = true
		}
	}
	if o.ConsoleLog == "" {
		o.ConsoleLog = filepath.Join(runDir, "console.log")
	}
	// A TMPDIR too deep for a socket path costs the NMI of a frozen
	// guest (its stack), not the run.
	if mon := filepath.Join(runDir, "qmp.sock"); o.Monitor == "" && len(mon) <= maxSocketPath {
		o.Monitor = mon
	}
	if o.Firmware == "" {
		if _, err := os.Stat(Qboot); err == nil {
			o.Firmware = Qboot
		}
	}
	return o, picked, nil
}

// withFreshPort gives the Net at index i a free host port.
func withFreshPort(o Options, i int) Options {
	devs := append([]Device(nil), o.Devices...)
	n := devs[i].(Net)
	n.HostPort = freePort()
	devs[i] = n
	o.Devices = devs
	return o
}

// freePort picks host ports; a variable so tests can hand out a taken one.
var freePort = pickFreePort

// pickFreePort returns a 127.0.0.1 TCP port that was free a moment ago (0
// if none could be found, which Cmdline rejects). Another process may
// take it before QEMU binds it; Start then retries with another one.
func pickFreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer func() { _ = l.Close() }() // teardown: nothing is written through it any more
	return l.Addr().(*net.TCPAddr).Port
}

// agentNet returns the address forwarded to the agent's SSH port: the
// first Net forwarding guest port 22.
func agentNet(o Options) (string, bool) {
	for _, d := range o.Devices {
		if n, ok := d.(Net); ok && n.guestPort() == 22 {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.HostPort)), true
		}
	}
	return "", false
}

// portInUseError is a boot that failed because QEMU could not bind a
// forwarded host port.
type portInUseError struct {
	port   int
	stderr string
}

func (e *portInUseError) Error() string { return fmt.Sprintf("host port %d in use", e.port) }

var hostfwdFailedRE = regexp.MustCompile(`Could not set up host forwarding rule 'tcp:[^:]*:(\d+)-`)

// portInUse recognises QEMU's complaint about a forwarded port it could
// not bind.
func portInUse(stderr string) (*portInUseError, bool) {
	m := hostfwdFailedRE.FindStringSubmatch(stderr)
	if m == nil {
		return nil, false
	}
	port, _ := strconv.Atoi(m[1])
	return &portInUseError{port: port, stderr: stderr}, true
}
