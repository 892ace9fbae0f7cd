package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
)

func init() {
	register(&command{
		name: "kernel",
		summary: `Configure and build kernels (subcommands: config, build).
  config  start from tinyconfig (or --config), merge fragments, olddefconfig,
          and verify every requested option's final value
  build   build bzImage out of tree, cached; variants rebuild incrementally`,
		usage: "config|build [flags]",
		run:   runKernel,
	})
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
}

func (k *kernelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.tree, "tree", "", "kernel source tree, git or plain (default: Debian's linux-source-6.1, extracted into the cache)")
	fs.StringVar(&k.config, "config", "", "start from this .config instead of tinyconfig")
	fs.Var(&k.fragments, "fragment", "extra config fragment file to merge (repeatable)")
	fs.Var(&k.with, "with", "optional built-in fragments: lockdep, kasan (comma-separated)")
	fs.BoolVar(&k.noDebug, "no-debug", false, "leave out the debug fragment (hung-task and soft-lockup detectors)")
	fs.StringVar(&k.cacheDir, "cache", "", "cache directory (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	fs.IntVar(&k.jobs, "j", 0, "make jobs (default: number of CPUs)")
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
func (k *kernelFlags) request(ctx context.Context, cache *kbuild.Cache, variant string) (kbuild.Request, error) {
	frags, err := kconfig.Resolve(k.fragmentSpecs())
	if err != nil {
		return kbuild.Request{}, badInput(err)
	}
	if k.config != "" {
		if _, err := os.Stat(k.config); err != nil {
			return kbuild.Request{}, badInput(fmt.Errorf("--config: %w", err))
		}
	}
	tree, err := k.openTree(ctx, cache)
	if err != nil {
		return kbuild.Request{}, err
	}
	return kbuild.Request{Tree: tree, Variant: variant, BaseConfig: k.config, Fragments: frags,
		Jobs: k.jobs, Log: os.Stderr}, nil
}

func (k *kernelFlags) openTree(ctx context.Context, cache *kbuild.Cache) (*kbuild.Tree, error) {
	if k.tree == "" {
		t, err := kbuild.DefaultTree(ctx, cache, os.Stderr)
		return t, infraFailure(err)
	}
	t, err := kbuild.OpenTree(ctx, k.tree)
	var nt *kbuild.NotATreeError
	if errors.As(err, &nt) {
		return nil, badInput(err)
	}
	return t, infraFailure(err)
}

func runKernel(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "config" && args[0] != "build") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(os.Stderr, "usage: ktest kernel config|build [flags]\n\nRun 'ktest kernel config -h' or 'ktest kernel build -h'.")
			return errHelp
		}
		return usageErrorf("usage: ktest kernel config|build [flags]")
	}
	sub := args[0]
	c := &command{name: "kernel " + sub, usage: "[flags]"}
	if sub == "config" {
		c.summary = "Generate and verify the kernel .config: tinyconfig (or --config) + fragments + olddefconfig,\nthen check every requested option kept its value."
	} else {
		c.summary = "Build bzImage out of tree (O=), cached by tree content, patches, final .config and compiler."
	}
	fs := newFlagSet(c)
	var kf kernelFlags
	kf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	out := fs.String("o", "", "config: also copy the final .config to this file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cache, err := kbuild.OpenCache(kf.cacheDir)
	if err != nil {
		return infraFailure(err)
	}
	req, err := kf.request(ctx, cache, "tree")
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
			return infraFailure(err)
		}
		if err := writeFileAtomic(*out, data, 0o644); err != nil {
			return infraFailure(err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
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
