package initramfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/u-root/mkuimage/ldd"
)

// StaticFio is where scripts/build-fio.sh installs the fio the guest
// should carry: Debian's fio source built static, without the engines
// ktest never uses. Debian's own fio links 64 shared libraries; under TCG
// each start of it costs 0.6 s of dynamic loading (0.04 s static), and
// its libraries are 75 of a 98 MB image the kernel unpacks at every boot.
const StaticFio = "/usr/local/libexec/ktest/fio"

// guestFioPath is where the guest finds fio (on its PATH).
const guestFioPath = "/usr/bin/fio"

// fioBinary is the fio the image carries.
type fioBinary struct {
	hostPath string
	version  string // "fio-3.33"
	static   bool
}

// String names the fio as runs record it: version and linkage, which is
// what decides whether two runs' CPU figures are alike.
func (f fioBinary) String() string {
	if f.static {
		return f.version + ", static"
	}
	return f.version + ", dynamic"
}

// findFio returns StaticFio when it is installed, else the host's fio.
func findFio(ctx context.Context) (fioBinary, error) {
	path := StaticFio
	if _, err := os.Stat(path); err != nil {
		if path, err = lookHostTool("fio"); err != nil {
			return fioBinary{}, fmt.Errorf("initramfs: host tool fio not found (install fio, or run scripts/build-fio.sh): %w", err)
		}
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil && path == StaticFio {
		return fioBinary{}, fmt.Errorf("initramfs: %s --version: %w (run scripts/build-fio.sh again, or remove it to use the host's fio)", path, err)
	}
	if err != nil {
		return fioBinary{}, fmt.Errorf("initramfs: %s --version: %w", path, err)
	}
	interp, err := ldd.GetInterp(path)
	if err != nil {
		return fioBinary{}, fmt.Errorf("initramfs: %s: %w", path, err)
	}
	return fioBinary{hostPath: path, version: strings.TrimSpace(string(out)), static: interp == ""}, nil
}
