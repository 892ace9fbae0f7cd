package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Pool makes the VMs of one run (or of one `ktest boot`): they share an
// accelerator and a clock, resolved once by a Linux boot (see Prober) and
// switched to TCG for good, once, when a KVM boot prints nothing at all
// before any boot of the pool came up. After one has, a silent KVM boot
// is an *InfraError: the pool's boots would otherwise mix KVM's times
// with TCG's, ten times slower, and a comparison of them would call the
// accelerator's change the kernel's. Pool.Start is the one way ktest
// boots a guest.
type Pool struct {
	// Want is the accelerator asked for: auto, kvm or tcg.
	Want Accel
	// Prober resolves Want; its Kernel defaults to the first kernel
	// started.
	Prober Prober
	// Clock is the guest clock asked for ("" is ClockHost); every boot
	// gets Clock.On the accelerator it runs on.
	Clock Clock
	// Log, if set, hears about a fallback to TCG.
	Log io.Writer

	mu     sync.Mutex
	choice *AccelChoice
	booted bool // a boot of the pool came up under choice
}

// Resolve probes the accelerator if that has not happened yet (booting
// kernel under KVM) and returns the accelerator choice every boot of the pool uses.
// With Want kvm on a host where KVM does not run Linux it fails with an
// *AccelError.
func (p *Pool) Resolve(ctx context.Context, kernel string) (AccelChoice, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.choice != nil {
		return *p.choice, nil
	}
	pr := p.Prober
	if pr.Kernel == "" {
		pr.Kernel = kernel
	}
	want := p.Want
	if want == AccelAuto {
		if _, err := p.Clock.On(AccelKVM); err != nil {
			// A clock KVM cannot give (instructions) asks for TCG,
			// with no probe.
			want = AccelTCG
		}
	}
	if want != AccelAuto {
		if _, err := p.Clock.On(want); err != nil {
			return AccelChoice{}, err
		}
	}
	v, err := pr.Resolve(ctx, want)
	if err != nil {
		return v, err
	}
	if want != p.Want {
		v.Reason = "TCG: the instructions clock needs it"
	}
	if v.Clock, err = p.Clock.On(v.Accel); err != nil {
		return v, err
	}
	p.choice = &v
	return v, nil
}

// AccelChoice returns the accelerator in use and why; zero before Resolve.
func (p *Pool) AccelChoice() AccelChoice {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.choice == nil {
		return AccelChoice{}
	}
	return *p.choice
}

// Start boots o (its Accel and Clock unset: the pool fills them in) and waits for
// the agent of o.Image to answer SSH. A KVM boot that prints nothing on the console
// within Options.SilenceTimeout is stopped and retried once under TCG; the
// accelerator choice then says so, the probe cache learns it, and later boots of
// the pool use TCG. With Want kvm there is no fallback. A silent TCG boot
// is a *BootError like any other.
func (p *Pool) Start(ctx context.Context, o Options) (Instance, error) {
	v, err := p.Resolve(ctx, o.Kernel)
	if err != nil {
		return nil, err
	}
	o.Accel, o.Clock = v.Accel, v.Clock
	inst, err := p.started(start(ctx, o))
	var be *BootError
	if o.Accel != AccelKVM || p.Want == AccelKVM || !errors.As(err, &be) || !be.Silent {
		return inst, err
	}
	if p.hasBooted() {
		reason := fmt.Sprintf("KVM boot of %s failed (%s) after earlier boots under KVM had come up", o.Kernel, be.Title)
		p.Prober.Record(false, reason)
		return nil, &InfraError{Title: reason + "; not retried under TCG, whose times are not KVM's: " +
			"KVM is now recorded as unusable here, so the next run uses TCG from its first boot", Output: be.Output, Err: err}
	}
	reason := fmt.Sprintf("KVM boot of %s failed (%s); retried under TCG", o.Kernel, be.Title)
	p.fallBack(reason)
	choice := p.AccelChoice()
	o.Accel, o.Clock = choice.Accel, choice.Clock
	return p.started(start(ctx, o))
}

// started notes a boot that came up, and passes start's results on.
func (p *Pool) started(inst Instance, err error) (Instance, error) {
	if err == nil {
		p.mu.Lock()
		p.booted = true
		p.mu.Unlock()
	}
	return inst, err
}

func (p *Pool) hasBooted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.booted
}

// fallBack switches the pool to TCG and records the reason in the probe
// cache, so that the next run does not try KVM again.
func (p *Pool) fallBack(reason string) {
	p.mu.Lock()
	clock, err := p.Clock.On(AccelTCG)
	if err != nil { // instructions is refused on KVM, never on TCG
		clock = ClockHost
	}
	p.choice = &AccelChoice{Accel: AccelTCG, Clock: clock, Reason: "KVM unusable, using TCG: " + reason}
	p.mu.Unlock()
	p.Prober.Record(false, reason)
	p.logf("%s", reason)
}

func (p *Pool) logf(format string, args ...any) {
	if p.Log != nil {
		_, _ = fmt.Fprintf(p.Log, "ktest: "+format+"\n", args...) // a progress line: losing one must not fail the run
	}
}
