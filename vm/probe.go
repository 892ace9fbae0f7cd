package vm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Prober decides which accelerator a VM can use here. KVM is judged by
// booting Linux under it, not by /dev/kvm existing or by a boot sector
// running: on some hosts QEMU+KVM aborts ("failed to set MSR 0x10a"),
// and on others it runs a boot sector in a second but a Linux kernel
// prints nothing at all.
type Prober struct {
	QEMU string // "" means DefaultQEMU
	// Kernel is the bzImage booted under KVM (no initramfs) until it
	// prints its first console line: the kernel about to be tested.
	Kernel string
	// Timeout bounds the probe boot, which prints within about a second
	// on a working KVM; 0 means DefaultProbeTimeout.
	Timeout time.Duration
	// CacheFile keeps the probe result for CacheTTL, keyed by the QEMU
	// binary, the host kernel, the CPU model and the probe kind; ""
	// disables the cache.
	CacheFile string
	CacheTTL  time.Duration // 0 means DefaultProbeTTL

	kvmDevice string // "" means /dev/kvm; tests point it elsewhere
}

// Defaults of Prober.
const (
	DefaultProbeTimeout = 10 * time.Second
	DefaultProbeTTL     = time.Hour
	// probeKind versions what a cached probe proved; results of
	// another kind (the old boot-sector probe) are not trusted.
	probeKind = "linux-console/v1"
)

// AccelChoice is the accelerator a probe chose and why.
type AccelChoice struct {
	Accel  Accel
	Clock  Clock  // the guest clock on Accel (set by Pool, not Prober)
	Reason string // one line: the evidence
	Cached bool   // read from the cache file
}

// Resolve turns want into the accelerator to use. AccelTCG is taken as
// is. AccelAuto boots p.Kernel under KVM and chooses KVM if it printed
// its first console line in time, else TCG with the failure as the
// reason. AccelKVM fails with that reason instead of falling back.
func (p Prober) Resolve(ctx context.Context, want Accel) (AccelChoice, error) {
	switch want {
	case AccelTCG:
		return AccelChoice{Accel: AccelTCG, Reason: "TCG requested"}, nil
	case AccelKVM, AccelAuto:
	default:
		return AccelChoice{}, fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", want)
	}
	ok, reason, cached, err := p.cachedOrProbe(ctx)
	if err != nil {
		return AccelChoice{}, err
	}
	switch {
	case ok:
		return AccelChoice{Accel: AccelKVM, Reason: reason, Cached: cached}, nil
	case want == AccelKVM:
		return AccelChoice{Reason: reason, Cached: cached}, &AccelError{Reason: reason}
	default:
		return AccelChoice{Accel: AccelTCG, Reason: "KVM unusable, using TCG: " + reason, Cached: cached}, nil
	}
}

// AccelError is KVM requested on a host where it does not run Linux.
type AccelError struct{ Reason string }

func (e *AccelError) Error() string { return "KVM requested but unusable: " + e.Reason }

// probeResult is one cached probe result.
type probeResult struct {
	KVM    bool      `json:"kvm"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// maxCachedProbes bounds the cache file: one result per QEMU binary,
// host kernel and CPU seen.
const maxCachedProbes = 16

func (p Prober) ttl() time.Duration {
	if p.CacheTTL == 0 {
		return DefaultProbeTTL
	}
	return p.CacheTTL
}

// readCache returns the cached probe results by key; a missing or damaged
// file is an empty cache.
func (p Prober) readCache() map[string]probeResult {
	m := map[string]probeResult{}
	b, err := os.ReadFile(p.CacheFile)
	if err != nil {
		return m
	}
	if err := json.Unmarshal(b, &m); err != nil {
		// Damaged: probe again rather than trust half of it.
		return map[string]probeResult{}
	}
	return m
}

func (p Prober) cachedOrProbe(ctx context.Context) (ok bool, reason string, cached bool, err error) {
	key := p.cacheKey()
	if p.CacheFile != "" && key != "" {
		if v, found := p.readCache()[key]; found && time.Since(v.Time) >= 0 && time.Since(v.Time) < p.ttl() {
			return v.KVM, v.Reason + " (cached probe)", true, nil
		}
	}
	ok, reason, err = p.ProbeKVM(ctx)
	if err != nil {
		return false, "", false, err
	}
	p.Record(ok, reason)
	return ok, reason, false, nil
}

// Record stores a probe result in the cache, e.g. KVM found unusable by a
// real boot that printed nothing although the probe had passed. A cache
// that cannot be written only costs a probe next time.
func (p Prober) Record(kvm bool, reason string) {
	key := p.cacheKey()
	if p.CacheFile == "" || key == "" {
		return
	}
	m := p.readCache()
	m[key] = probeResult{KVM: kvm, Reason: reason, Time: time.Now()}
	for len(m) > maxCachedProbes {
		oldest := ""
		for k, v := range m {
			if oldest == "" || v.Time.Before(m[oldest].Time) {
				oldest = k
			}
		}
		delete(m, oldest)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	_ = atomicfile.WriteFile(p.CacheFile, b, 0o644)
}

// cacheKey names what the probe result depends on: the QEMU binary, the host
// kernel, the CPU model and the probe kind. "" means no usable key (do
// not cache).
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
	h := sha256.Sum256([]byte(fmt.Sprintf("%s %d %d %s %s %s", bin, st.Size(), st.ModTime().UnixNano(),
		unix.ByteSliceToString(uts.Release[:]), cpuModel(), probeKind)))
	return hex.EncodeToString(h[:16])
}

// cpuModel is the host CPU's model name and feature flags, which decide
// what KVM can offer a guest.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	var model, flags string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && (model == "" || flags == "") {
		k, v, ok := strings.Cut(sc.Text(), ":")
		switch k = strings.TrimSpace(k); {
		case !ok:
		case k == "model name" && model == "":
			model = strings.TrimSpace(v)
		case k == "flags" && flags == "":
			flags = strings.TrimSpace(v)
		}
	}
	return model + " / " + flags
}

func (p Prober) qemu() string {
	if p.QEMU == "" {
		return DefaultQEMU
	}
	return p.QEMU
}

// ProbeKVM boots p.Kernel under KVM, with the CPU model and firmware
// real boots use and no initramfs, until the kernel prints its first
// console line. It reports whether that happened and a reason naming
// the evidence: the time taken, QEMU's error, or the silence. err is
// only for ctx being done or the probe being impossible to set up.
func (p Prober) ProbeKVM(ctx context.Context) (ok bool, reason string, err error) {
	dev := p.kvmDevice
	if dev == "" {
		dev = "/dev/kvm"
	}
	if f, err := os.OpenFile(dev, os.O_RDWR, 0); err != nil {
		return false, err.Error(), nil
	} else {
		_ = f.Close() // teardown: nothing is written through it any more
	}
	if p.Kernel == "" {
		return false, "", errors.New("kvm probe: no kernel to boot")
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = DefaultProbeTimeout
	}
	o := Options{QEMU: p.QEMU, Kernel: p.Kernel, Accel: AccelKVM, CPUs: 1, MemoryMB: 256}
	if _, err := os.Stat(Qboot); err == nil {
		o.Firmware = Qboot
	}
	args, err := o.Cmdline()
	if err != nil {
		return false, "", fmt.Errorf("kvm probe: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, "", fmt.Errorf("kvm probe: %w", err)
	}
	start := time.Now()
	proc, err := startProcess(cmd)
	if err != nil {
		return false, fmt.Sprintf("start %s: %v", p.qemu(), err), nil
	}
	firstLine := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			firstLine <- sc.Text()
		}
		close(firstLine)
	}()
	var line string
	var printed bool
	select {
	case line, printed = <-firstLine:
	case <-pctx.Done():
	}
	took := time.Since(start).Round(time.Millisecond)
	proc.kill()
	<-proc.done
	if ctx.Err() != nil {
		return false, "", ctx.Err()
	}
	if printed {
		return true, fmt.Sprintf("KVM probe: Linux printed its first console line after %v (%q)", took, termfmt.Clip(strings.TrimSpace(line), 61)), nil
	}
	if pctx.Err() != nil {
		return false, fmt.Sprintf("KVM probe: Linux printed nothing on the console within %v under KVM%s", timeout, stderrSuffix(stderr.String())), nil
	}
	return false, fmt.Sprintf("KVM probe: QEMU %s before Linux printed anything%s", proc.status(), stderrSuffix(stderr.String())), nil
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

// ProbeCacheFile is where a ktest cache directory keeps the probe
// results.
func ProbeCacheFile(cacheDir string) string { return filepath.Join(cacheDir, "accel-probe.json") }
