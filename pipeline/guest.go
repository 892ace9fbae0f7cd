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
	"slices"
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

// targetDisks returns one virtio disk per target (validated by the
// plan): a sparse filesystem image, or for a raw target the file size
// and room for the pattern's tail. The guest finds each by its serial
// (diskSerial), not by its /dev/vdX position.
func targetDisks(targets []string, fileSize int64) []vm.Disk {
	var devs []vm.Disk
	for _, t := range targets {
		size := int64(fsDiskSize)
		if spec, err := proto.Target(t).Spec(); err == nil && spec.Raw() {
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
		r.recordAccel(r.machines.AccelChoice())
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
		// Bounded like every wait on the guest: one that froze right
		// after its boot must not hold the run.
		uctx, cancel := context.WithTimeout(ctx, p.Timeouts.Test.Duration)
		defer cancel()
		if _, err := inst.Run(uctx, "uname -r", &out, nil); err == nil {
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
// hung, the kernel crashed, the guest froze). A failing test is not an
// error: it is recorded and the run goes on. A failure of the host (an
// *vm.InfraError) is: nothing about the kernel follows from it.
//
// Every test is bounded on the host's side by its timeout plus
// testGrace, whatever the guest does; a crash report ends the command at
// once. When the command ends without its results (a crash, a frozen
// guest), the tests that finished keep their outcome from the guest's
// progress lines, the one running gets the crash or the frozen guest's
// stack as its evidence, and the rest of the target is not run.
//
// On a benchmark boot after the first (round > 0) it runs only the
// benchmark (of engines, or of all when nil), on the filesystem and file
// the first boot left on the variant's disk, and adds the boot's samples
// to rt.
func (r *runner) runTarget(ctx context.Context, p *plan.Plan, inst vm.Instance, rv *results.Variant, rt *results.Target, round int, engines []proto.Engine) (reboot bool, err error) {
	only := r.onlyTests(rv.Name, rt.Name)
	req := readtestRequest(p, rt.Name, only, round > 0)
	req.Engines = engines
	cmd := readtestCommand(req)
	r.logf("guest: %s", cmd)

	tctx, cancel := context.WithTimeout(ctx, p.Timeouts.Target.Duration)
	defer cancel()
	wctx, overrun := context.WithCancelCause(tctx)
	defer overrun(nil)
	progress := newTestProgress(&prefixWriter{w: r.log, prefix: "  guest: "}, testGrace, overrun)
	defer progress.stop()
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
		code, runErr = inst.Run(wctx, cmd, lw, progress)
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
	progress.stop()
	if runErr != nil && vm.HostFault(runErr) && ctx.Err() == nil {
		return true, runErr
	}
	var crash *console.Crash
	if errors.As(runErr, &crash) {
		reboot = true
	}
	doc, perr := lw.document()
	if perr != nil {
		if ctx.Err() != nil {
			return reboot, ctx.Err()
		}
		r.recordCut(p, rv, rt, only, round, progress, runErr, fmt.Errorf("no results from ktest-readtest (exit %d): %w", code, errors.Join(runErr, perr)))
		return true, nil
	}
	if crash != nil {
		running, _ := progress.state()
		rv.Crashes = append(rv.Crashes, crashRecord(crash, during(rt.Name, running)))
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

// during names where the guest was: "ext4/truncate-race", or the target
// alone outside a test.
func during(target, test string) string {
	if test == "" {
		return target
	}
	return target + "/" + test
}

// recordCut records a target whose command ended without its results:
// the kernel crashed, the guest froze or reset, or the command outlived
// its bounds. What the kernel did is recorded as a crash; the test that
// was running fails with it as evidence, and the rest of the target is
// not run. Outside a test (setup, benchmark) the target has an error.
func (r *runner) recordCut(p *plan.Plan, rv *results.Variant, rt *results.Target, only []string, round int, progress *testProgress, runErr, noResults error) {
	running, finished := progress.state()
	where := during(rt.Name, running)
	status, what, evidence := results.TestHung, noResults.Error(), ""
	var crash *console.Crash
	var ge *vm.GuestError
	switch {
	case errors.As(runErr, &crash):
		rv.Crashes = append(rv.Crashes, crashRecord(crash, where))
		what, evidence = fmt.Sprintf("%s during %s: %s", crash.Kind, where, crash.Title), crash.Excerpt
		if !lockup(crash.Kind) {
			status = results.TestFail
		}
	case errors.As(runErr, &ge) && ge.Froze:
		why := "it outlived its deadline"
		var over *testOverran
		if errors.As(ge.Err, &over) {
			why = over.Error()
		}
		what, evidence = fmt.Sprintf("the guest froze during %s: %s, and it answered nothing", where, why), ge.Stack
		rv.Crashes = append(rv.Crashes, results.Crash{Kind: crashFreeze, Title: what, Excerpt: ge.Stack, During: where})
	case errors.As(runErr, &ge):
		what, evidence = fmt.Sprintf("%s (during %s)", ge.Title, where), ge.Stack
		rv.Crashes = append(rv.Crashes, results.Crash{Kind: crashReset, Title: what, Excerpt: ge.Stack, During: where})
		status = results.TestFail
	default:
		var over *testOverran
		if errors.As(runErr, &over) {
			what = fmt.Sprintf("%s: %s; the guest still answered, and the VM was killed", where, over)
		}
	}
	r.logf("%s", what)
	if running == "" || round > 0 {
		// Setup or the benchmark: no test to blame.
		rt.Error = what
		if crash == nil && ge == nil {
			// Timed out or died without a word from the kernel: a
			// failed test, so the run fails, and a reboot.
			rt.Tests = append(rt.Tests, results.Test{Name: "readtest", Status: results.TestHung, Message: what})
		}
		return
	}
	rt.Tests = nil
	for _, f := range finished {
		rt.Tests = append(rt.Tests, convertTest(f))
	}
	rt.Tests = append(rt.Tests, results.Test{Name: running, Status: status, Message: what, Evidence: evidence})
	for _, name := range plannedTests(p, only) {
		if !slices.ContainsFunc(rt.Tests, func(t results.Test) bool { return t.Name == name }) {
			rt.Tests = append(rt.Tests, results.Test{Name: name, Status: results.TestNotRun, Message: "not run: " + what})
		}
	}
}

// Crash kinds of what the guest did without a console report.
const (
	crashFreeze = "freeze" // stopped answering; the excerpt is the NMI's stack
	crashReset  = "reset"  // reset or powered off with no report
)

// lockup reports whether a crash kind means the test never finished
// (hung) rather than failed.
func lockup(k console.Kind) bool {
	switch k {
	case console.KindSoftLockup, console.KindHardLockup, console.KindRCUStall, console.KindHungTask:
		return true
	}
	return false
}

// plannedTests are the correctness tests a target runs, in order.
func plannedTests(p *plan.Plan, only []string) []string {
	var names []string
	for _, name := range proto.CorrectnessTests {
		switch {
		case len(only) > 0 && !slices.Contains(only, name):
		case len(only) == 0 && len(p.Tests) > 0 && !slices.Contains(p.Tests, name):
		default:
			names = append(names, name)
		}
	}
	return names
}

// readtestRequest is the guest's request for one target: the plan's
// suites and sizes, or only the named correctness tests (the nightly
// re-run of new failures), or (reuse) only the benchmark on what an
// earlier boot set up.
func readtestRequest(p *plan.Plan, target string, only []string, reuse bool) proto.ReadtestRequest {
	req := proto.ReadtestRequest{
		Target: proto.Target(target), Serial: diskSerial(target), Mode: proto.ModeAll,
		Size: p.FileSizeBytes(), Repeats: p.Repeats, TestTimeout: p.Timeouts.Test.Duration, Reuse: reuse,
	}
	switch {
	case reuse:
		req.Mode = proto.ModeBench
	case len(only) > 0 || !hasSuite(p, "bench"):
		req.Mode = proto.ModeCorrectness
	case !hasSuite(p, "correctness"):
		req.Mode = proto.ModeBench
	}
	if spec, err := req.Target.Spec(); !reuse && err == nil && !spec.Raw() {
		req.MkfsFor = p.MkfsForKernel
	}
	switch {
	case len(only) > 0:
		req.Only = only
	case len(p.Tests) > 0:
		req.Only = p.Tests
	}
	return req
}

// readtestCommand is the guest command line of req.
func readtestCommand(req proto.ReadtestRequest) string {
	return vm.ShellQuote(append([]string{proto.ReadtestName}, req.Args()...)...)
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
// first boot's, so only the engines and the sample are news. engines
// are those the boot ran, nil for all.
func summarizeBench(rt *results.Target, round int, rounds string, engines []proto.Engine) string {
	ran := fmt.Sprintf("%d engines", len(rt.Bench))
	if engines != nil {
		ran = engineList(engines)
	}
	s := fmt.Sprintf("%s, sample %d of %s", ran, round+1, rounds)
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
