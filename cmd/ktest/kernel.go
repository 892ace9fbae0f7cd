package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/pipeline"
)

func kernelCommand() *command {
	return &command{
		name: "kernel",
		summary: `Configure and build kernels (subcommands: config, build).
  config  start from tinyconfig (or --config), merge fragments, olddefconfig,
          and verify every requested option's final value
  build   build bzImage out of tree, cached; variants rebuild incrementally`,
		usage: "config|build [flags]",
		examples: []string{
			"ktest kernel build                 # the default 6.1 kernel",
			"ktest kernel config --tree ~/src/linux --with lockdep -o /tmp/lockdep.config",
			"ktest kernel build -h              # a subcommand's flags",
		},
		run: runKernel,
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// kernelFlags are shared by every command that configures or builds.
type kernelFlags struct {
	tree      string
	config    string
	fragments stringList
	with      stringList
	noDebug   bool
	cacheDir  string
	jobs      int
	patches   stringList
}

func (k *kernelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.tree, "tree", "", "the kernel source tree in `DIR`, git or plain, or debian:X for Debian's linux-source-X\n(default: Debian's linux-source-6.1, extracted into the cache)")
	fs.StringVar(&k.config, "config", "", "start from the .config in `FILE` instead of tinyconfig")
	fs.Var(&k.fragments, "fragment", "extra config fragment `FILE` to merge (repeatable)")
	fs.Var(&k.with, "with", "optional built-in fragments, a comma-separated `LIST` of: lockdep, kasan")
	fs.BoolVar(&k.noDebug, "no-debug", false, "leave out the debug fragment (hung-task and soft-lockup detectors)")
	fs.StringVar(&k.cacheDir, "cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	fs.IntVar(&k.jobs, "j", 0, "make jobs (default: number of CPUs)")
	fs.Var(&k.patches, "patch", "build a variant: apply this `SERIES` (file, directory, or embedded:DIR such as\nembedded:baseline-6.1) in memory and rebuild only what it touches (repeatable)")
}

// fragmentSpecs lists the fragments to merge, built-ins first.
func (k *kernelFlags) fragmentSpecs() []string {
	specs := []string{"base"}
	if !k.noDebug {
		specs = append(specs, "debug")
	}
	specs = append(specs, k.with...)
	return append(specs, k.fragments...)
}

// request resolves the tree and fragments into a build request. Bad
// trees and fragments are the user's input: exit 2.
func (k *kernelFlags) request(ctx context.Context, log io.Writer, cache *kbuild.Cache, variant string) (kbuild.Request, error) {
	for _, p := range k.patches {
		if err := checkEmbedded(p); err != nil {
			return kbuild.Request{}, err
		}
	}
	frags, err := kconfig.Resolve(k.fragmentSpecs())
	if err != nil {
		return kbuild.Request{}, badInput(err)
	}
	if k.config != "" {
		if _, err := os.Stat(k.config); err != nil {
			return kbuild.Request{}, badInput(fmt.Errorf("--config: %w", err))
		}
	}
	tree, err := kbuild.OpenSpec(ctx, cache, k.tree, log)
	if err != nil {
		return kbuild.Request{}, err
	}
	req := kbuild.Request{Tree: tree, Variant: variant, BaseConfig: k.config, Fragments: frags,
		Jobs: k.jobs, Log: log, Patches: k.patches}
	if len(k.patches) > 0 {
		req.Overlay, _, err = pipeline.Overlay(ctx, tree.Dir, k.patches, false)
		if err != nil {
			return kbuild.Request{}, applyError(err)
		}
	}
	return req, nil
}

// applyError is a failed apply: damaged input and unsafe paths are the
// user's (exitCode says 2), a conflict is an apply failure (3).
func applyError(err error) error {
	if isBadInput(err) {
		return err
	}
	return infraFailure(fmt.Errorf("apply: %w", err))
}

func runKernel(ctx context.Context, e env, args []string) error {
	if _, err := groupHelp(e.Stdout, commands["kernel"], []string{"config", "build"}, args); err != nil {
		return err
	}
	sub := args[0]
	c := &command{name: "kernel " + sub, usage: "[flags]"}
	if sub == "config" {
		c.summary = "Generate and verify the kernel .config: tinyconfig (or --config) + fragments + olddefconfig,\nthen check every requested option kept its value."
		c.examples = []string{
			"ktest kernel config               # the default tree and fragments",
			"ktest kernel config --tree ~/src/linux --fragment my.config -o /tmp/.config",
		}
	} else {
		c.summary = "Build bzImage out of tree (O=), cached by tree content, patches, final .config and compiler."
		c.examples = []string{
			"ktest kernel build --with kasan",
			"ktest kernel build --tree ~/src/linux --patch series.mbox",
			"                                  # a variant, rebuilt incrementally",
		}
	}
	fs := newFlagSet(c, e.Stdout)
	var kf kernelFlags
	kf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	out := new(string)
	if sub == "config" {
		fs.StringVar(out, "o", "", "also copy the final .config to `FILE`")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cache, err := kbuild.OpenCache(kf.cacheDir)
	if err != nil {
		return err
	}
	variant := "tree"
	if len(kf.patches) > 0 {
		variant = "variant"
	}
	req, err := kf.request(ctx, e.Stderr, cache, variant)
	if err != nil {
		return err
	}
	var res *kbuild.Result
	if sub == "config" {
		res, err = kbuild.Configure(ctx, cache, req)
	} else {
		res, err = kbuild.Build(ctx, cache, req)
	}
	if err != nil {
		return infraFailure(err)
	}
	if sub == "config" && *out != "" {
		data, err := os.ReadFile(res.Config)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*out, data, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if sub == "config" {
		fmt.Printf("%s\n", res.Config)
	} else {
		fmt.Printf("%s\n", res.BzImage)
	}
	return nil
}
