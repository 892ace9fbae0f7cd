package kbuild_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/pipeline"
)

// These tests build real kernels in the real cache, so CI on the same
// machine reuses them: a cold machine pays one ~10 minute build.

func openCache(t *testing.T) *kbuild.Cache {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a real kernel")
	}
	if _, err := os.Stat(kbuild.DefaultTarball); err != nil {
		t.Fatalf("%s missing: run 'make setup'", kbuild.DefaultTarball)
	}
	c, err := kbuild.OpenCache("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var ccRE = regexp.MustCompile(`^\s+CC\s+(\S+\.o)$`)

// compiled lists the C objects a build log shows were compiled.
func compiled(t *testing.T, log string) []string {
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // test cleanup: best effort
	var objs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := ccRE.FindStringSubmatch(sc.Text()); m != nil {
			objs = append(objs, m[1])
		}
	}
	sort.Strings(objs)
	return objs
}

// TestVariantRebuildsOnlyTouchedFiles builds the default kernel (or finds
// it cached), then a variant: the 6.1 baseline patch plus a per-run
// marker, so the variant is never a cache hit and its build log proves
// what was recompiled.
func TestVariantRebuildsOnlyTouchedFiles(t *testing.T) {
	c := openCache(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	base, err := kbuild.DefaultKernel(ctx, c, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(base.BzImage); err != nil || st.Size() < 1<<20 {
		t.Fatalf("bzImage %s: %v", base.BzImage, err)
	}
	tree, err := kbuild.DefaultTree(ctx, c, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	overlay, res, err := pipeline.Overlay(ctx, tree.Dir, []string{"embedded:baseline-6.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Patches) != 1 || len(overlay) != 4 {
		t.Fatalf("baseline patch: %d patches, %d files changed", len(res.Patches), len(overlay))
	}
	frags, _ := kconfig.Resolve(kconfig.DefaultFragments)
	build := func(marker string) (*kbuild.Result, time.Duration) {
		ov := maps.Clone(overlay)
		ov["fs/ext4/file.c"] = append(slices.Clone(overlay["fs/ext4/file.c"]), marker...)
		start := time.Now()
		v, err := kbuild.Build(ctx, c, kbuild.Request{Tree: tree, Variant: "variant", Overlay: ov, Fragments: frags, Log: testLog{t}})
		if err != nil {
			t.Fatal(err)
		}
		if v.Cached || v.Key == base.Key {
			t.Fatalf("variant was not rebuilt (cached=%v key=%s)", v.Cached, v.Key)
		}
		// One-off kernels: keep the shared cache from growing every run.
		t.Cleanup(func() {
			if err := c.Remove(v.Key); err != nil {
				t.Error(err)
			}
		})
		return v, time.Since(start)
	}
	// The first build switches the slot from whatever it held last (the
	// pipeline's baseline, a fault kernel...) to this variant; the second
	// differs from it in fs/ext4/file.c only, so that must be the only
	// source recompiled.
	nonce := time.Now().UnixNano()
	build(fmt.Sprintf("\n/* ktest test marker %d a */\n", nonce))
	v, elapsed := build(fmt.Sprintf("\n/* ktest test marker %d b */\n", nonce))
	overlay["fs/ext4/file.c"] = append(overlay["fs/ext4/file.c"], fmt.Sprintf("\n/* ktest test marker %d b */\n", nonce)...)
	got := compiled(t, v.BuildLog)
	var sources []string
	for _, o := range got {
		if !strings.HasPrefix(o, "arch/x86/boot/") && !strings.HasPrefix(o, "init/version") {
			sources = append(sources, o)
		}
	}
	if strings.Join(sources, " ") != "fs/ext4/file.o" {
		t.Errorf("variant recompiled %v, want only fs/ext4/file.o (all: %v)", sources, got)
	}
	t.Logf("variant build: %s wall, %d objects; tree build took %.0f s", elapsed.Round(time.Second), v.Objects, base.Seconds)

	// A second request for the same variant is a cache hit without make.
	start := time.Now()
	again, err := kbuild.Build(ctx, c, kbuild.Request{Tree: tree, Variant: "variant", Overlay: overlay, Fragments: frags})
	if err != nil || !again.Cached || again.Key != v.Key {
		t.Fatalf("second build: cached=%v key=%v err=%v", again != nil && again.Cached, again, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cache hit took %s, want <= 2s", d)
	}
}

// TestConfigNamesUnmetDependency asks for options whose dependencies are
// unmet on the real 6.1 Kconfig and checks the report names the option,
// the fragment line and the dependency.
func TestConfigNamesUnmetDependency(t *testing.T) {
	c := openCache(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tree, err := kbuild.DefaultTree(ctx, c, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	frag, err := kconfig.ParseFragment("bad.config", []byte("CONFIG_KASAN=y\n# CONFIG_NETDEVICES is not set\n"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := kconfig.Embedded("base")
	_, err = kbuild.Configure(ctx, c, kbuild.Request{Tree: tree, Variant: "bad", Fragments: []*kconfig.Fragment{base, frag}, Log: testLog{t}})
	var ve *kconfig.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Configure = %v, want a VerifyError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.config:1: CONFIG_KASAN=y requested", "SLUB=n",
		"kconfig/fragments/base.config:", "CONFIG_VIRTIO_NET=y requested", `"if NETDEVICES"`, "NETDEVICES=n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
