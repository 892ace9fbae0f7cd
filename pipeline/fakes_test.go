package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// Fakes at the pipeline's boundary: a builder, a guest image and
// machines whose guests answer ktest-readtest with canned documents.
// They let the stage bookkeeping (what is recorded, statuses, reboots)
// be tested without a kernel; the end-to-end tests in cmd/ktest and
// faults run the real parts.

// behaviour is what a fake guest does for one target.
type behaviour int

const (
	pass       behaviour = iota // every test passes
	failOne                     // eof fails
	crash                       // the kernel oopses during the target
	setupFails                  // mkfs fails: readtest exits 3
	lockupMid                   // eof passes, then a soft lockup during preadv
	freezeMid                   // eof passes, then the guest freezes during preadv
	hostMid                     // eof passes, then QEMU is killed from outside
)

// fakeWorld records what the run asked of its parts.
type fakeWorld struct {
	mu        sync.Mutex
	targets   map[string]behaviour // "variant/target" -> behaviour
	buildErr  map[string]error     // variant -> build error
	silentKVM bool                 // the first boot falls back to TCG
	blockBoot bool                 // Start waits for ctx
	// hostFails counts, per variant, boots that fail on the host's side
	// (QEMU killed) before one succeeds.
	hostFails map[string]int
	bootErr   map[string]error // variant -> what its boots fail with
	// buildFlaky counts, per variant, builds that fail without a
	// compiler error before one succeeds.
	buildFlaky map[string]int
	builds     []string
	starts     []string                // kernels booted
	disks      []string                // the disk images each boot got, joined
	devices    [][]vm.Disk             // the same disks, whole
	commands   []string                // guest commands, readtest only
	requests   []proto.ReadtestRequest // the same, as the guest reads them
	image      string
	// wall gives a benchmark sample's wall time by
	// "variant/target/engine" or else "variant/target", and
	// the variant's boot (from 1); by default the run's boot number
	// times 1000, which names the boot.
	wall map[string]func(boot int) float64
	// engines is what a benchmark asked for every engine reports, all
	// with wall's time; by default io_uring alone. A request naming
	// engines gets those.
	engines []proto.Engine
	booted  map[string]int // boots per variant
}

func (w *fakeWorld) parts() Parts {
	return Parts{
		Build: func(ctx context.Context, c *kbuild.Cache, req kbuild.Request) (*kbuild.Result, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.builds = append(w.builds, req.Variant)
			if err := w.buildErr[req.Variant]; err != nil {
				return nil, err
			}
			if w.buildFlaky[req.Variant] > 0 {
				w.buildFlaky[req.Variant]--
				return nil, &kbuild.BuildError{Variant: req.Variant, Err: errors.New("make: signal: killed")}
			}
			if strings.Contains(string(req.Overlay["fs/read.c"]), "BROKEN") {
				return nil, &kbuild.BuildError{Variant: req.Variant, FirstError: "fs/read.c:5:1: error: unknown type name 'BROKEN'", Err: errors.New("make: exit status 2")}
			}
			return &kbuild.Result{Variant: req.Variant, Key: "key-" + req.Variant, BzImage: "/fake/" + req.Variant + "/bzImage", Objects: 11, Seconds: 9.9}, nil
		},
		GuestImage: func(ctx context.Context, o initramfs.Options) (*vm.Image, error) {
			f, err := os.CreateTemp("", "fake-initramfs-*.cpio")
			if err != nil {
				return nil, err
			}
			_ = f.Close() // an empty file: nothing to lose
			w.image = f.Name()
			return &vm.Image{Path: f.Name()}, nil
		},
		Machines: func(want vm.Accel, clock vm.Clock, p vm.Prober, log io.Writer) Machines {
			return &fakeMachines{w: w, clock: clock}
		},
		Checkpatch: func(ctx context.Context, tree string, patch []byte, name string) *results.Checkpatch {
			// One warning for a patch that adds BROKEN, else clean.
			if strings.Contains(string(patch), "+BROKEN") {
				return &results.Checkpatch{Warnings: 1, Summary: "1 warning", Items: []string{"WARNING:TEST: adds BROKEN (fs/read.c:5)"}}
			}
			return &results.Checkpatch{Summary: "clean"}
		},
	}
}

type fakeMachines struct {
	w      *fakeWorld
	clock  vm.Clock // asked for
	choice vm.AccelChoice
}

func (m *fakeMachines) Resolve(ctx context.Context, kernel string) (vm.AccelChoice, error) {
	clock, err := m.clock.On(vm.AccelKVM)
	m.choice = vm.AccelChoice{Accel: vm.AccelKVM, Clock: clock, Reason: "fake probe"}
	return m.choice, err
}

func (m *fakeMachines) Start(ctx context.Context, o vm.Options) (vm.Instance, error) {
	w := m.w
	w.mu.Lock()
	w.starts = append(w.starts, o.Kernel)
	n := len(w.starts)
	w.mu.Unlock()
	if o.Image == nil || o.Image.Path != w.image {
		return nil, fmt.Errorf("booted without the run's image: %+v", o.Image)
	}
	if w.blockBoot {
		<-ctx.Done()
		return nil, fmt.Errorf("vm: boot interrupted: %w", ctx.Err())
	}
	variantName := filepath.Base(filepath.Dir(o.Kernel))
	w.mu.Lock()
	failHost := w.hostFails[variantName] > 0
	if failHost {
		w.hostFails[variantName]--
	}
	w.mu.Unlock()
	if failHost {
		return nil, &vm.InfraError{Title: "QEMU exited before the agent answered (signal: killed)"}
	}
	if err := w.bootErr[variantName]; err != nil {
		return nil, err
	}
	if w.silentKVM && n == 1 {
		clock, err := m.clock.On(vm.AccelTCG)
		if err != nil {
			return nil, err
		}
		m.choice = vm.AccelChoice{Accel: vm.AccelTCG, Clock: clock, Reason: "KVM unusable, using TCG: fake silent boot; retried under TCG"}
	}
	variant := filepath.Base(filepath.Dir(o.Kernel))
	var disks []string
	var whole []vm.Disk
	for _, d := range o.Devices {
		if d, ok := d.(vm.Disk); ok {
			disks = append(disks, d.Path)
			whole = append(whole, d)
		}
	}
	w.mu.Lock()
	w.disks = append(w.disks, strings.Join(disks, " "))
	w.devices = append(w.devices, whole)
	if w.booted == nil {
		w.booted = map[string]int{}
	}
	w.booted[variant]++
	own := w.booted[variant]
	w.mu.Unlock()
	return &fakeInstance{w: w, variant: variant, log: o.ConsoleLog, boot: n, own: own}, nil
}

func (m *fakeMachines) AccelChoice() vm.AccelChoice { return m.choice }

type fakeInstance struct {
	w       *fakeWorld
	variant string
	log     string
	boot    int // which boot of the run, from 1
	own     int // which boot of its variant, from 1
	crashes []*console.Crash
	closed  bool
}

func (i *fakeInstance) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) (int, error) {
	if cmd == "uname -r" {
		_, err := io.WriteString(stdout, "6.1.0-fake\n")
		return 0, err
	}
	// The request is read back as ktest-readtest reads it.
	words, err := proto.SplitCommand(cmd)
	if err != nil || len(words) == 0 || words[0] != proto.ReadtestName {
		return 127, nil
	}
	req, err := proto.ParseReadtestArgs(words[1:], io.Discard)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "ktest-readtest: %v\n", err)
		return proto.ReadTestExitUsage, nil
	}
	target := string(req.Target)
	i.w.mu.Lock()
	i.w.commands = append(i.w.commands, i.variant+": "+cmd)
	i.w.requests = append(i.w.requests, req)
	i.w.mu.Unlock()
	doc := proto.TargetResult{Schema: proto.ReadTestSchema, Target: req.Target, Tests: []proto.TestResult{}}
	if req.Mode != proto.ModeCorrectness {
		// One fio run per engine; its wall time names the boot.
		engines := []proto.Engine{proto.EngineIOUring}
		switch {
		case len(req.Engines) > 0:
			engines = req.Engines
		case len(i.w.engines) > 0:
			engines = i.w.engines
		}
		for _, e := range engines {
			s := proto.RunSample{WallMS: float64(1000 * i.boot), PeakWorkers: 4}
			f := i.w.wall[i.variant+"/"+target+"/"+string(e)]
			if f == nil {
				f = i.w.wall[i.variant+"/"+target]
			}
			if f != nil {
				s.WallMS = f(i.own)
			}
			doc.Bench = append(doc.Bench, proto.EngineResult{Engine: e, Repeats: 1, Runs: []proto.RunSample{s}, Median: s, Min: s, Max: s})
		}
	}
	if req.Reuse {
		b, _ := json.Marshal(doc)
		_, err := stdout.Write(append(b, '\n'))
		return 0, err
	}
	code := 0
	switch i.w.targets[i.variant+"/"+target] {
	case pass:
		doc.Tests = append(doc.Tests, proto.TestResult{Name: "eof", Status: proto.StatusPass}, proto.TestResult{Name: "preadv", Status: proto.StatusPass})
	case failOne:
		doc.Tests = append(doc.Tests, proto.TestResult{Name: "eof", Status: proto.StatusFail, Message: "byte 4096 differs"}, proto.TestResult{Name: "preadv", Status: proto.StatusPass})
		code = proto.ReadTestExitFailed
	case crash:
		c := &console.Crash{Kind: console.KindOops, Title: "BUG: kernel NULL pointer dereference", Excerpt: "RIP: io_read+0x42"}
		i.crashes = append(i.crashes, c)
		return -1, c
	case setupFails:
		doc.Error = "mkfs: mkfs.xfs: exit status 1"
		code = proto.ReadTestExitSetupFailed
	case lockupMid, freezeMid, hostMid:
		// The progress lines the real readtest prints, then the end.
		_, _ = fmt.Fprintln(stderr, proto.RunningLine("eof", 20*time.Second))                                                                        // a fake guest's progress
		_, _ = fmt.Fprintln(stderr, proto.FinishedLine(proto.TestResult{Name: "eof", Status: proto.StatusPass, DurationMS: 12, Message: "3 reads"})) // a fake guest's progress
		_, _ = fmt.Fprintln(stderr, proto.RunningLine("preadv", 20*time.Second))                                                                     // a fake guest's progress
		switch i.w.targets[i.variant+"/"+target] {
		case lockupMid:
			c := &console.Crash{Kind: console.KindSoftLockup, Title: "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [ktest-readtest:62]", Excerpt: "RIP: 0010:ktest_lockup_spin+0x4/0x10"}
			i.crashes = append(i.crashes, c)
			return -1, c
		case freezeMid:
			return -1, &vm.GuestError{Froze: true, Title: "the guest froze", Stack: "Kernel panic - not syncing: NMI: Not continuing\nRIP: 0010:ktest_lockup_spin_irqs_off+0x4/0x10",
				Err: &testOverran{test: "preadv", timeout: 20 * time.Second, grace: testGrace}}
		default:
			return -1, &vm.InfraError{Title: "QEMU exited (signal: killed) during \"ktest-readtest\""}
		}
	}
	b, _ := json.Marshal(doc)
	_, err = stdout.Write(append(b, '\n'))
	return code, err
}

func (i *fakeInstance) Put(ctx context.Context, r io.Reader, p string, m fs.FileMode) error {
	return nil
}
func (i *fakeInstance) Get(ctx context.Context, p string, w io.Writer) error { return nil }
func (i *fakeInstance) Addr() string                                         { return "127.0.0.1:1" }
func (i *fakeInstance) ConsoleLog() string                                   { return i.log }
func (i *fakeInstance) Exited() <-chan struct{}                              { return nil }
func (i *fakeInstance) Crashes() []*console.Crash                            { return i.crashes }
func (i *fakeInstance) Close() error                                         { i.closed = true; return nil }

// miniTree makes the smallest directory kbuild.OpenTree takes for a
// kernel tree, with one source file a patch can change.
func miniTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Makefile":          "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n",
		"Kconfig":           "mainmenu \"mini\"\n",
		"arch/x86/Kconfig":  "config X86\n\tdef_bool y\n",
		"scripts/kconfig/x": "",
		"fs/read.c":         "int a;\nint b;\nint c;\nint d;\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const miniPatch = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: A Developer <dev@example.org>
Date: Mon, 1 Jun 2020 00:00:00 +0000
Subject: [PATCH 1/1] fs: read c twice

---
 fs/read.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/fs/read.c b/fs/read.c
--- a/fs/read.c
+++ b/fs/read.c
@@ -1,4 +1,5 @@
 int a;
 int b;
 int c;
+int c2;
 int d;
-- 
2.39.5
`

// errStop is a stand-in build failure.
var errStop = errors.New("fs/read.c:3:1: error: expected ';'")

// waitFor polls cond for a second: the fakes run synchronously, so this
// only guards the interrupt test.
func waitFor(cond func() bool) bool {
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
