package pipeline

import (
	"context"
	"io"

	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// Parts are what a run drives besides its plan and tree: the kernel
// builder, the guest image and the machines. Each nil field gets the
// real one; tests of the stage bookkeeping give fakes.
type Parts struct {
	// Build returns a variant's kernel, built or cached.
	Build func(ctx context.Context, c *kbuild.Cache, req kbuild.Request) (*kbuild.Result, error)
	// GuestImage makes the run's guest image with new keys.
	GuestImage func(ctx context.Context, o initramfs.Options) (*vm.Image, error)
	// Machines returns what boots the run's guests for the accelerator
	// asked for.
	Machines func(want vm.Accel, clock vm.Clock, p vm.Prober, log io.Writer) Machines
	// Checkpatch reviews one patch (a format-patch mail) with the
	// tree's scripts/checkpatch.pl; a failure to run it is reported in
	// the result, not as an error.
	Checkpatch func(ctx context.Context, treeDir string, patch []byte, name string) *results.Checkpatch
}

// Machines boots guests on one accelerator: *vm.Pool.
type Machines interface {
	Resolve(ctx context.Context, kernel string) (vm.AccelChoice, error)
	Start(ctx context.Context, o vm.Options) (vm.Instance, error)
	AccelChoice() vm.AccelChoice
}

func (p Parts) orReal() Parts {
	if p.Build == nil {
		p.Build = kbuild.Build
	}
	if p.GuestImage == nil {
		p.GuestImage = initramfs.Build
	}
	if p.Checkpatch == nil {
		p.Checkpatch = checkpatch
	}
	if p.Machines == nil {
		p.Machines = func(want vm.Accel, clock vm.Clock, pr vm.Prober, log io.Writer) Machines {
			return &vm.Pool{Want: want, Clock: clock, Prober: pr, Log: log}
		}
	}
	return p
}
