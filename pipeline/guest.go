package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// fsDiskSize is the sparse image size for filesystem targets: mkfs.xfs
// refuses filesystems under 300 MB, and the images cost nothing until
// written.
const fsDiskSize = 1 << 30

// targetDisks returns one virtio disk per target. The guest finds each
// by its serial (diskSerial), not by its /dev/vdX position.
func targetDisks(targets []string, fileSize int64) []vm.Disk {
	var devs []vm.Disk
	for _, t := range targets {
		size := int64(fsDiskSize)
		if t == "raw" {
			size = fileSize + 4<<20
		}
		devs = append(devs, vm.Disk{ID: t, Serial: diskSerial(t), Size: size})
	}
	return devs
}

func diskSerial(target string) string { return "ktest-" + target }

// wanted reports whether a target runs under cfg.Only.
func (r *runner) wanted(variant, target string) bool {
	if len(r.cfg.Only) == 0 {
		return true
	}
	for _, o := range r.cfg.Only {
		if o.Variant == variant && o.Target == target {
			return true
		}
	}
	return false
}

func (r *runner) onlyTests(variant, target string) []string {
	var names []string
	for _, o := range r.cfg.Only {
		if o.Variant == variant && o.Target == target {
			names = append(names, o.Test)
		}
	}
	return names
}

// boot starts the variant's kernel with its disks for benchmark round
// round (0: the first boot, which also runs correctness).
func (r *runner) boot(ctx context.Context, p *plan.Plan, v plan.Variant, rv *results.Variant, round int) (vm.Instance, error) {
	var inst vm.Instance
	err := r.stage(ctx, "boot", v.Name, func(ctx context.Context) (string, error) {
		k := r.kernels[v.Name]
		if err := os.MkdirAll(filepath.Join(r.cfg.OutDir, v.Name), 0o755); err != nil {
			return "", err
		}
		disks, err := r.disks.of(v.Name)
		if err != nil {
			return "", err
		}
		opts := vm.Options{
			Kernel: k.BzImage, Image: r.image, CPUs: p.CPUs, MemoryMB: p.MemoryMB,
			Devices:     append(disks, vm.Net{}, vm.RNG{}),
			ConsoleLog:  filepath.Join(r.cfg.OutDir, v.Name, fmt.Sprintf("console-%d.log", len(r.run.Stages))),
			BootTimeout: p.Timeouts.Boot.Duration,
			KernelArgs:  p.KernelArgs,
		}
		if r.cfg.Verbose {
			// Start prints the command it runs, with the port it picked.
			opts.Trace = &prefixWriter{w: r.log, prefix: "ktest: qemu: "}
		}
		start := time.Now()
		inst, err = r.machines.Start(ctx, opts)
		// A silent KVM boot makes the pool fall back to TCG: the run
		// records what really ran.
		verdict := r.machines.Verdict()
		r.run.Accel, r.run.AccelReason = string(verdict.Accel), verdict.Reason
		r.run.BootOrder = append(r.run.BootOrder, v.Name)
		b := results.Boot{Status: results.StepOK, Seconds: time.Since(start).Seconds()}
		if err != nil {
			b.Status = results.StepFailed
			var be *vm.BootError
			if errors.As(err, &be) && be.Crash != nil {
				rv.Crashes = append(rv.Crashes, crashRecord(be.Crash, "boot"))
			}
		}
		rv.Boots = append(rv.Boots, b)
		if round == 0 || err != nil {
			rv.Boot = b
		}
		if err != nil {
			return "", err
		}
		var out bytes.Buffer
		if _, err := inst.Run(ctx, "uname -r", &out, nil); err == nil {
			rv.Kernel.Release = strings.TrimSpace(out.String())
		}
		what := "first boot"
		if round > 0 {
			what = fmt.Sprintf("benchmark boot %d of %s", round+1, r.roundsText(p, round))
		}
		return fmt.Sprintf("%s, %s, SSH ready in %.1f s, console %s", what, rv.Kernel.Release, b.Seconds, opts.ConsoleLog), nil
	})
	return inst, err
}

func crashRecord(c *console.Crash, during string) results.Crash {
	return results.Crash{Kind: c.Kind.String(), Title: c.Title, Excerpt: c.Excerpt, During: during}
}

// runTarget runs ktest-readtest for one target and converts its JSON. It
// returns reboot=true when the guest can no longer be trusted (a test
// hung, or the kernel crashed). A failing test is not an error: it is
// recorded and the run goes on.
// On a benchmark boot after the first (round > 0) it runs only the
// benchmark, on the filesystem and file the first boot left on the
// variant's disk, and adds the boot's samples to rt.
func (r *runner) runTarget(ctx context.Context, p *plan.Plan, inst vm.Instance, rv *results.Variant, rt *results.Target, round int) (reboot bool, err error) {
	cmd := readtestCommand(p, rt.Name, r.onlyTests(rv.Name, rt.Name), round > 0)
	r.logf("guest: %s", cmd)

	tctx, cancel := context.WithTimeout(ctx, p.Timeouts.Target.Duration)
	defer cancel()
	// The readtest prints its document as one line; when a test hangs,
	// a thread stuck in the kernel may keep the process from exiting, so
	// the line is taken as soon as it is complete and the command is
	// given a short grace period before it is abandoned.
	lw := &lineWatcher{done: make(chan struct{})}
	runDone := make(chan struct{})
	var code int
	var runErr error
	go func() {
		defer close(runDone)
		code, runErr = inst.Run(tctx, cmd, lw, &prefixWriter{w: r.log, prefix: "  guest: "})
	}()
	select {
	case <-runDone:
	case <-lw.done:
		select {
		case <-runDone:
		case <-time.After(15 * time.Second):
			r.logf("guest: ktest-readtest printed its results but did not exit; abandoning it (the VM will be rebooted)")
			cancel()
			<-runDone
			reboot = true
		}
	}
	var crash *console.Crash
	if errors.As(runErr, &crash) {
		rv.Crashes = append(rv.Crashes, crashRecord(crash, rt.Name))
		reboot = true
	}
	doc, perr := lw.document()
	if perr != nil {
		if ctx.Err() != nil {
			return reboot, ctx.Err()
		}
		rt.Error = fmt.Sprintf("no results from ktest-readtest (exit %d): %v", code, errors.Join(runErr, perr))
		if crash == nil {
			// Timed out or died without a crash report: record it as a
			// failed test so the run fails, and reboot.
			rt.Tests = append(rt.Tests, results.Test{Name: "readtest", Status: results.TestHung, Message: rt.Error})
		}
		return true, nil
	}
	if round > 0 {
		mergeBench(doc, rt)
	} else {
		convertTarget(doc, rt)
	}
	for _, t := range doc.Tests {
		if t.Status == proto.StatusHung {
			reboot = true
		}
	}
	if code == proto.ReadTestExitSetupFailed && rt.Error == "" {
		rt.Error = "setup failed (mkfs, mount or writing the test file)"
	}
	return reboot, nil
}

// readtestCommand is the guest command line that runs one target: the
// plan's suites and sizes, or only the named correctness tests (the
// nightly re-run of new failures), or (reuse) only the benchmark on what
// an earlier boot set up.
func readtestCommand(p *plan.Plan, target string, only []string, reuse bool) string {
	mode := "all"
	switch {
	case reuse:
		mode = "bench"
	case len(only) > 0 || !hasSuite(p, "bench"):
		mode = "correctness"
	case !hasSuite(p, "correctness"):
		mode = "bench"
	}
	args := []string{"ktest-readtest", "--fs", target, "--serial", diskSerial(target), "--mode", mode,
		"--size", p.FileSize, "--repeats", fmt.Sprint(p.Repeats),
		"--timeout-per-test", p.Timeouts.Test.Duration.String()}
	if reuse {
		args = append(args, "--reuse")
	} else if p.MkfsForKernel != "" && target != "raw" {
		args = append(args, "--mkfs-for", p.MkfsForKernel)
	}
	switch {
	case len(only) > 0:
		args = append(args, "--only", strings.Join(only, ","))
	case len(p.Tests) > 0:
		args = append(args, "--only", strings.Join(p.Tests, ","))
	}
	return vm.ShellQuote(args...)
}

func hasSuite(p *plan.Plan, s string) bool {
	for _, x := range p.Suites {
		if x == s {
			return true
		}
	}
	return false
}

func summarizeTarget(rt *results.Target) string {
	pass, fail := 0, 0
	for _, t := range rt.Tests {
		if t.Status == results.TestPass {
			pass++
		} else if t.Status.Failing() {
			fail++
		}
	}
	s := fmt.Sprintf("%d passed, %d failed, %d engines", pass, fail, len(rt.Bench))
	if rt.Error != "" {
		s += "; " + rt.Error
	}
	return s
}

// summarizeBench is a benchmark-only boot's line: its tests are the
// first boot's, so only the engines and the sample are news.
func summarizeBench(rt *results.Target, round int, rounds string) string {
	s := fmt.Sprintf("%d engines, sample %d of %s", len(rt.Bench), round+1, rounds)
	if rt.Error != "" {
		s += "; " + rt.Error
	}
	return s
}

// lineWatcher collects stdout and signals when the first complete
// readtest JSON line has arrived.
type lineWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	once sync.Once
}

func (l *lineWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if _, err := l.find(); err == nil {
		l.once.Do(func() { close(l.done) })
	}
	return len(p), nil
}

func (l *lineWatcher) find() (*proto.TargetResult, error) {
	for _, line := range strings.Split(l.buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var doc proto.TargetResult
		if json.Unmarshal([]byte(line), &doc) == nil && doc.Schema == proto.ReadTestSchema {
			return &doc, nil
		}
	}
	return nil, fmt.Errorf("no %s document in %d bytes of output", proto.ReadTestSchema, l.buf.Len())
}

func (l *lineWatcher) document() (*proto.TargetResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.find()
}

// prefixWriter prefixes each line, for guest progress on the host log.
type prefixWriter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i]) // a log's copy: best effort, as logf
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}
