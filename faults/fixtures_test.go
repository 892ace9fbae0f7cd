package faults

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vm"
)

// Kernels and the accelerator are shared by the whole suite: built (or
// found in the cache) once.
var (
	fixtureMu   sync.Mutex
	sharedCache *kbuild.Cache
	defaultTree *kbuild.Tree
	faultKernel *kbuild.Result
	stockKernel *kbuild.Result
	variants    = map[string]*kbuild.Result{}
	pool        *vm.Pool
)

func cache(t *testing.T) *kbuild.Cache {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if sharedCache == nil {
		c, err := kbuild.OpenCache("")
		if err != nil {
			t.Fatal(err)
		}
		sharedCache = c
	}
	return sharedCache
}

// tree returns the default kernel tree (Debian's 6.1, extracted into the
// cache once).
func tree(t *testing.T) *kbuild.Tree {
	t.Helper()
	c := cache(t)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if defaultTree == nil {
		if _, err := os.Stat(kbuild.DefaultTarball); err != nil {
			t.Fatalf("%s missing: run 'make setup'", kbuild.DefaultTarball)
		}
		tr, err := kbuild.DefaultTree(ctxFor(t, 20*time.Minute), c, testLog{t})
		if err != nil {
			t.Fatal(err)
		}
		defaultTree = tr
	}
	return defaultTree
}

// faultKernelImage returns the bzImage of 6.1 + patches/faults-6.1 with the
// default fragments: an incremental variant of the default kernel.
func faultKernelImage(t *testing.T) string {
	t.Helper()
	tr := tree(t)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if faultKernel == nil {
		overlay, _, err := pipeline.Overlay(context.Background(), tr.Dir, []string{"embedded:faults-6.1"}, false)
		if err != nil {
			t.Fatalf("applying faults-6.1: %v", err)
		}
		frags, err := kconfig.Resolve(kconfig.DefaultFragments)
		if err != nil {
			t.Fatal(err)
		}
		res, err := kbuild.Build(ctxFor(t, 40*time.Minute), sharedCache, kbuild.Request{Tree: tr, Variant: "faults",
			Overlay: overlay, Patches: []string{"embedded:faults-6.1"}, Fragments: frags, Log: testLog{t}})
		if err != nil {
			t.Fatalf("building the fault kernel: %v", err)
		}
		faultKernel = res
	}
	return faultKernel.BzImage
}

// lockupKernelImage returns the bzImage of 6.1 + patches/lockup-6.1,
// an incremental variant of the default kernel.
func lockupKernelImage(t *testing.T) string {
	return variantKernelImage(t, "lockup", "embedded:lockup-6.1")
}

// variantKernelImage builds (or finds) 6.1 + the patch source with the
// default fragments, once per suite, as a run of it would.
func variantKernelImage(t *testing.T, name, source string) string {
	t.Helper()
	tr := tree(t)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if k := variants[name]; k != nil {
		return k.BzImage
	}
	overlay, _, err := pipeline.Overlay(context.Background(), tr.Dir, []string{source}, false)
	if err != nil {
		t.Fatalf("applying %s: %v", source, err)
	}
	frags, err := kconfig.Resolve(kconfig.DefaultFragments)
	if err != nil {
		t.Fatal(err)
	}
	res, err := kbuild.Build(ctxFor(t, 40*time.Minute), sharedCache, kbuild.Request{Tree: tr, Variant: name,
		Overlay: overlay, Patches: []string{source}, Fragments: frags, Log: testLog{t}})
	if err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	variants[name] = res
	return res.BzImage
}

// stockKernelImage returns the default kernel (6.1, default fragments).
func stockKernelImage(t *testing.T) string {
	t.Helper()
	c := cache(t)
	tree(t)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if stockKernel == nil {
		res, err := kbuild.DefaultKernel(ctxFor(t, 40*time.Minute), c, testLog{t})
		if err != nil {
			t.Fatalf("building the default kernel: %v", err)
		}
		stockKernel = res
	}
	return stockKernel.BzImage
}

// machines is the suite's pool: ktest's own launch path, with the
// accelerator resolved by booting a kernel under KVM once, and the TCG
// fallback of a silent KVM boot. Its guests have 2 vCPUs, so the host's
// clock, as `ktest run` gives them (vm.Clock.OnCPUs).
func machines(t *testing.T) *vm.Pool {
	t.Helper()
	c := cache(t)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if pool == nil {
		pool = &vm.Pool{Want: vm.AccelAuto, Prober: vm.Prober{CacheFile: vm.ProbeCacheFile(c.Dir)}, Log: os.Stderr}
	}
	return pool
}

// guestImage builds a per-run guest image with new keys in dir.
func guestImage(t *testing.T, dir string) *vm.Image {
	t.Helper()
	img, err := initramfs.Build(ctxFor(t, 15*time.Minute), initramfs.Options{CacheDir: cache(t).Dir,
		ModuleDir: moduleRoot, OutDir: dir, Log: testLog{t}})
	if err != nil {
		t.Fatalf("guest image: %v", err)
	}
	t.Cleanup(func() { _ = img.Remove() }) // teardown
	return img
}

// bootSpec describes a VM a check boots in-process.
type bootSpec struct {
	kernel      string
	kernelArgs  []string
	bootTimeout time.Duration
	net         *vm.Net // nil: the default restricted Net of a VM
	// disk adds a 64 MiB scratch disk that the VM creates in its run
	// directory, so the checks can see that the image goes away.
	disk bool
}

// booted is an in-process VM with what its checks need.
type booted struct {
	vm.Instance // nil if Start failed
	keys        *remote.Keys
	image       string // the per-run guest image; QEMU's -initrd names it
	runDir      string // the VM's run directory (console log, disk images)
}

// startVM boots spec with fresh keys. It returns the Start error as is,
// for the checks about failed boots, with a booted that has no Instance.
func startVM(t *testing.T, ctx context.Context, spec bootSpec) (*booted, error) {
	t.Helper()
	// Outside suiteTmp, whose leftovers the checks look for.
	imgDir, err := os.MkdirTemp(suiteDir, "image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(imgDir) }) // teardown
	img := guestImage(t, imgDir)
	devs := []vm.Device{vm.RNG{}}
	if spec.net != nil {
		devs = append(devs, *spec.net)
	}
	if spec.disk {
		devs = append(devs, vm.Disk{ID: "scratch", Serial: "ktest-scratch", Size: 64 << 20})
	}
	o := vm.Options{Kernel: spec.kernel, Image: img, Devices: devs,
		KernelArgs: spec.kernelArgs, BootTimeout: spec.bootTimeout}
	b := &booted{keys: img.Keys, image: img.Path}
	inst, err := machines(t).Start(ctx, o)
	if err != nil {
		return b, err
	}
	b.Instance, b.runDir = inst, filepath.Dir(inst.ConsoleLog())
	t.Cleanup(func() { _ = inst.Close() }) // teardown
	if spec.disk {
		if _, err := os.Stat(filepath.Join(b.runDir, "scratch.img")); err != nil {
			t.Errorf("scratch disk image: %v", err)
		}
	}
	return b, nil
}

// mustStartVM boots spec or fails the test.
func mustStartVM(t *testing.T, ctx context.Context, spec bootSpec) *booted {
	t.Helper()
	b, err := startVM(t, ctx, spec)
	if err != nil {
		assertNoQEMUOf(t, b.image)
		var be *vm.BootError
		if errors.As(err, &be) {
			t.Fatalf("boot: %v\n%s", err, be.Output)
		}
		t.Fatalf("boot: %v", err)
	}
	return b
}

// consoleText reads a VM's console log (before Close removes it).
func consoleText(b *booted) string {
	data, _ := os.ReadFile(b.ConsoleLog())
	return string(data)
}

// closeAndCheck closes the VM and checks that its QEMU and run directory
// (with its console log and disk images) are gone.
func closeAndCheck(t *testing.T, b *booted) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(b.runDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VM run directory %s still exists after Close (err %v)", b.runDir, err)
	}
	assertNoQEMUOf(t, b.image)
}

// assertNoQEMUOf checks, allowing a few seconds, that no QEMU process
// mentions path (its guest image or disks) on its command line.
func assertNoQEMUOf(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []proc
		for _, p := range allProcs() {
			if strings.HasPrefix(p.comm, "qemu-system") && strings.Contains(p.cmdline, path) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("QEMU still running for %s:\n%s", path, describeProcs(left))
			killProcs(left)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
