package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/initramfs"
)

func initramfsCommand() *command {
	return &command{
		name: "initramfs",
		summary: `Build the guest image ktest boots, or find it in the cache.
It prints the image's path. The image holds u-root's init and busybox,
ktest's SSH agent and read tests, and the host's fio and mkfs tools with
their libraries; it is cached by content and built with Go from ktest's
source tree. -o FILE copies it, for a CI job that runs
'ktest run --initramfs FILE' or 'ktest boot --initramfs FILE' on a machine
without Go.`,
		usage: "[-o FILE] [--cache DIR]",
		examples: []string{
			"ktest initramfs",
			"ktest initramfs -o ktest-guest.cpio   # a CI build job's artifact",
		},
		run: runInitramfs,
	}
}

func runInitramfs(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(commands["initramfs"], e.Stdout)
	out := fs.String("o", "", "copy the image to `FILE` (replaced if it exists)")
	dir := fs.String("cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *out != "" {
		if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
			return usageErrorf("-o %s: no directory %s to write it in", *out, filepath.Dir(*out))
		}
	}
	base, err := initramfs.BuildBase(ctx, initramfs.Options{CacheDir: *dir, Log: e.Stderr})
	if err != nil {
		return infraFailure(fmt.Errorf("guest image: %w", err))
	}
	path := base.Path
	if *out != "" {
		if err := initramfs.Export(base.Path, *out); err != nil {
			return fmt.Errorf("-o %s: %w", *out, err)
		}
		path = *out
	}
	_, err = fmt.Fprintln(e.Stdout, path)
	return err
}
