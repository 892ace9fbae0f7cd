package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"golang.org/x/sys/unix"
)

// debugExitPort is where the probe maps QEMU's isa-debug-exit device.
// Writing v there makes QEMU exit with status (v<<1)|1.
const (
	debugExitPort  = 0xf4
	probeExitValue = 0x2a
	// ProbeExitStatus is QEMU's exit status when the probe's boot sector ran.
	ProbeExitStatus = probeExitValue<<1 | 1
)

// probeBootSector is a BIOS boot sector that proves guest code runs: the
// BIOS loads it at 0x7c00 and jumps to it, and it writes probeExitValue
// to the debug-exit port, which ends QEMU with ProbeExitStatus.
var probeBootSector = func() []byte {
	code := []byte{
		0xb0, probeExitValue, // mov al, 0x2a
		0xe6, debugExitPort, // out 0xf4, al
		0xfa,       // cli
		0xf4,       // hlt
		0xeb, 0xfd, // jmp back to hlt
	}
	sector := make([]byte, 512)
	copy(sector, code)
	sector[510], sector[511] = 0x55, 0xaa // BIOS boot signature
	return sector
}()

// Prober decides which accelerator a VM can use here. KVM is judged by a
// real boot, not by /dev/kvm existing: on some hosts QEMU+KVM aborts
// ("failed to set MSR 0x10a") or spins in the firmware forever.
type Prober struct {
	QEMU string // "" means DefaultQEMU
	// Timeout bounds the probe boot, which takes well under a second on a
	// working KVM; 0 means 5 s.
	Timeout time.Duration
	// CacheFile keeps the verdict of an auto probe for CacheTTL, keyed by
	// the QEMU binary and the host kernel; "" disables the cache.
	CacheFile string
	CacheTTL  time.Duration // 0 means 10 minutes
}

// ProbeAccel resolves want with the default Prober, caching verdicts in
// the ktest cache directory. See Prober.Resolve.
func ProbeAccel(ctx context.Context, want Accel) (Accel, string, error) {
	p := Prober{}
	if dir, err := CacheDir(); err == nil {
		p.CacheFile = filepath.Join(dir, "accel-probe.json")
	}
	return p.Resolve(ctx, want)
}

// CacheDir is the ktest cache: $KTEST_CACHE, else $XDG_CACHE_HOME/ktest,
// else ~/.cache/ktest.
func CacheDir() (string, error) { return cachedir.Dir(), nil }

// Resolve turns want into the accelerator to use and a one-line reason
// for the choice. AccelTCG is taken as is. AccelAuto boots a tiny guest
// under KVM and returns AccelKVM if its code ran, else AccelTCG with the
// failure as the reason. AccelKVM fails with that reason instead of
// falling back.
func (p Prober) Resolve(ctx context.Context, want Accel) (Accel, string, error) {
	switch want {
	case AccelTCG:
		return AccelTCG, "TCG requested", nil
	case AccelKVM, AccelAuto:
	default:
		return "", "", fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", want)
	}
	ok, reason, err := p.cachedOrProbe(ctx)
	if err != nil {
		return "", "", err
	}
	switch {
	case ok:
		return AccelKVM, reason, nil
	case want == AccelKVM:
		return "", reason, fmt.Errorf("KVM requested but unusable: %s", reason)
	default:
		return AccelTCG, "KVM unusable, using TCG: " + reason, nil
	}
}

// probeVerdict is one cached probe result.
type probeVerdict struct {
	Key    string    `json:"key"`
	KVM    bool      `json:"kvm"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

func (p Prober) cachedOrProbe(ctx context.Context) (bool, string, error) {
	key := p.cacheKey()
	ttl := p.CacheTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	if p.CacheFile != "" && key != "" {
		var v probeVerdict
		if b, err := os.ReadFile(p.CacheFile); err == nil && json.Unmarshal(b, &v) == nil &&
			v.Key == key && time.Since(v.Time) >= 0 && time.Since(v.Time) < ttl {
			return v.KVM, v.Reason + " (cached verdict)", nil
		}
	}
	ok, reason, err := p.ProbeKVM(ctx)
	if err != nil {
		return false, "", err
	}
	if p.CacheFile != "" && key != "" {
		b, _ := json.Marshal(probeVerdict{Key: key, KVM: ok, Reason: reason, Time: time.Now()})
		// A cache that cannot be written only costs a probe next time.
		_ = atomicfile.WriteFile(p.CacheFile, b, 0o644)
	}
	return ok, reason, nil
}

// cacheKey names what the verdict depends on: the QEMU binary and the
// host kernel. "" means no usable key (do not cache).
func (p Prober) cacheKey() string {
	bin, err := exec.LookPath(p.qemu())
	if err != nil {
		return ""
	}
	st, err := os.Stat(bin)
	if err != nil {
		return ""
	}
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return ""
	}
	return fmt.Sprintf("%s %d %d %s", bin, st.Size(), st.ModTime().UnixNano(), unix.ByteSliceToString(uts.Release[:]))
}

func (p Prober) qemu() string {
	if p.QEMU == "" {
		return DefaultQEMU
	}
	return p.QEMU
}

// ProbeKVM boots probeBootSector under KVM with the CPU model real boots
// use. It reports whether guest code ran and a reason naming the
// evidence: the time taken, or QEMU's error, or the timeout. err is only
// for ctx being done or the probe being impossible to set up.
func (p Prober) ProbeKVM(ctx context.Context) (ok bool, reason string, err error) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		return false, err.Error(), nil
	} else {
		f.Close()
	}
	dir, err := os.MkdirTemp("", "ktest-kvm-probe-")
	if err != nil {
		return false, "", fmt.Errorf("kvm probe: %w", err)
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "boot.img")
	if err := os.WriteFile(img, probeBootSector, 0o600); err != nil {
		return false, "", fmt.Errorf("kvm probe: %w", err)
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(p.qemu(),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "pc", "-accel", "kvm", "-cpu", "host", "-m", "16",
		"-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=0x04", debugExitPort),
		"-drive", "file="+escapeOpt(img)+",format=raw,if=floppy",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	proc, err := startProcess(cmd)
	if err != nil {
		return false, fmt.Sprintf("start %s: %v", p.qemu(), err), nil
	}
	waitErr := proc.waitOrKill(pctx)
	took := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil {
		return false, "", ctx.Err()
	}
	var exitErr *exec.ExitError
	switch {
	case pctx.Err() != nil:
		return false, fmt.Sprintf("KVM probe guest did not run its boot sector within %v (QEMU+KVM stuck in the firmware)%s",
			timeout, stderrSuffix(stderr.String())), nil
	case errors.As(waitErr, &exitErr) && exitErr.ExitCode() == ProbeExitStatus:
		return true, fmt.Sprintf("KVM probe boot ran guest code in %v", took), nil
	case waitErr == nil:
		return false, "KVM probe: QEMU exited 0 without running the boot sector" + stderrSuffix(stderr.String()), nil
	default:
		return false, fmt.Sprintf("KVM probe: QEMU %v%s", waitErr, stderrSuffix(stderr.String())), nil
	}
}

// stderrSuffix picks QEMU's most telling stderr line ("error: ..." first,
// else the last line) as ": line", or "" if there is none.
func stderrSuffix(stderr string) string {
	var last string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "terminating on signal") {
			continue
		}
		if strings.Contains(l, "error") {
			return ": " + l
		}
		last = l
	}
	if last == "" {
		return ""
	}
	return ": " + last
}
