package plan

import (
	"errors"
	"slices"
	"testing"
)

// Every refusal of an override, with the message the user reads after
// "ktest run: ".
func TestOverridesRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Overrides
		want string
	}{
		{"accelerator", Overrides{Accel: "hvf"}, `--accel: unknown accelerator "hvf": want auto, kvm or tcg`},
		{"clock", Overrides{Clock: "tsc"}, `--clock: unknown clock "tsc": want auto, host or instructions`},
		{"instructions on kvm", Overrides{Accel: "kvm", Clock: "instructions"},
			"the plan with the command line's overrides: embedded:default.toml: clock instructions counts TCG's instructions, and accel is kvm: use auto or host"},
		{"unknown target", Overrides{Targets: []string{"ext4", "zfs"}}, `unknown target "zfs" (known: ext4, xfs, btrfs, raw)`},
		{"size", Overrides{Size: "lots"}, `--size: bad size "lots": want e.g. 64M`},
		{"two early stops", Overrides{PerPatch: true, FirstBad: true, Bisect: true}, "--first-bad and --bisect are two ways to stop early: choose one"},
		{"first-bad alone", Overrides{FirstBad: true}, "--first-bad and --bisect tune --per-patch"},
		{"bisect alone", Overrides{Bisect: true}, "--first-bad and --bisect tune --per-patch"},
		{"shard not K/N", Overrides{Shard: "2"}, `--shard: "2": want K/N, e.g. 1/2`},
		{"shard past N", Overrides{Shard: "3/2"}, "--shard: shard 3/2: want K/N with 1 <= K <= N"},
		{"more shards than targets", Overrides{Targets: []string{"ext4"}, Shard: "1/2"}, "--shard: shard 1/2: the plan has only 1 targets"},
		{"per-patch without a series", Overrides{PerPatch: true},
			"the plan with the command line's overrides: embedded:default.toml: per_patch: a per-patch run needs a series the plan applies, as its last variant's last patches (give one with --series S)"},
		{"boots over the limit", Overrides{Boots: 21},
			"the plan with the command line's overrides: embedded:default.toml: max_boots must be from boots (21) to 20, got 21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Apply(Default())
			var oe *OverrideError
			if !errors.As(err, &oe) || err.Error() != tc.want {
				t.Fatalf("Apply = %v (%T)\nwant *OverrideError %q", err, err, tc.want)
			}
		})
	}
}

// What each override changes in the default plan.
func TestOverridesApplied(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     Overrides
		check func(p *Plan) bool
	}{
		{"nothing", Overrides{}, func(p *Plan) bool { return p.Name == Default().Name && p.Sharding == nil }},
		{"tree", Overrides{Tree: "/src/linux"}, func(p *Plan) bool { return p.Tree == "/src/linux" }},
		{"series", Overrides{Tree: "/src/linux", Series: "s.mbox"}, func(p *Plan) bool {
			return p.Name == "series s.mbox on /src/linux" && p.Variants[1].Patches[0] == "s.mbox"
		}},
		{"quick", Overrides{Quick: true}, func(p *Plan) bool { return p.FileSize == QuickFileSize && p.Boots == 1 && p.MaxBoots == 1 }},
		{"quick then boots", Overrides{Quick: true, Boots: 4}, func(p *Plan) bool { return p.Boots == 4 && p.MaxBoots == 4 }},
		{"accel", Overrides{Accel: "tcg"}, func(p *Plan) bool { return p.Accel == "tcg" }},
		{"targets", Overrides{Targets: []string{"xfs"}}, func(p *Plan) bool { return slices.Equal(p.Targets, []string{"xfs"}) }},
		{"repeats", Overrides{Repeats: 5}, func(p *Plan) bool { return p.Repeats == 5 }},
		{"aa", Overrides{AA: true}, func(p *Plan) bool { return p.Variants[0].Name == "first" && p.Variants[1].Name == "second" }},
		{"size", Overrides{Size: "64M"}, func(p *Plan) bool { return p.FileSize == "64M" }},
		{"per-patch", Overrides{Series: "s.mbox", PerPatch: true}, func(p *Plan) bool { return p.PerPatch.Mode == PerPatchEvery }},
		{"first-bad", Overrides{Series: "s.mbox", PerPatch: true, FirstBad: true}, func(p *Plan) bool { return p.PerPatch.Mode == PerPatchFirstBad }},
		{"bisect", Overrides{Series: "s.mbox", PerPatch: true, Bisect: true}, func(p *Plan) bool { return p.PerPatch.Mode == PerPatchBisect }},
		{"shard", Overrides{Shard: "2/2"}, func(p *Plan) bool {
			return slices.Equal(p.Targets, []string{"btrfs", "raw"}) && p.Sharding.K == 2 && p.Sharding.N == 2 &&
				slices.Equal(p.Sharding.PlanTargets, []string{"ext4", "xfs", "btrfs", "raw"})
		}},
		{"shard of the targets given", Overrides{Targets: []string{"xfs", "raw"}, Shard: "1/2"}, func(p *Plan) bool {
			return slices.Equal(p.Targets, []string{"xfs"}) && slices.Equal(p.Sharding.PlanTargets, []string{"xfs", "raw"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			if err := tc.o.Apply(p); err != nil {
				t.Fatal(err)
			}
			if !tc.check(p) {
				t.Errorf("%+v did not apply: %+v", tc.o, p)
			}
		})
	}
}

// A plan whose per_patch table asks for it takes --first-bad alone.
func TestOverridesTunePlanPerPatch(t *testing.T) {
	p := Default()
	p.ForSeries("s.mbox")
	p.PerPatch = NewPerPatch(PerPatchEvery)
	if err := (Overrides{Bisect: true}).Apply(p); err != nil || p.PerPatch.Mode != PerPatchBisect {
		t.Fatalf("Apply = %v, mode %q; want bisect", err, p.PerPatch.Mode)
	}
}
