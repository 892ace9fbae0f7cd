// Cache keys for a pipeline's build job: computed by ktest from the
// plan before anything is extracted or built, so a CI cache can be
// restored first and an unchanged tree and series build nothing.

package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/patches"
	"github.com/ktest-dev/ktest/plan"
)

// The names under which `ktest cache key` prints the keys: GitHub step
// outputs and GitLab dotenv variables, which the pipelines' cache keys
// read.
const (
	TreeKeyVar    = "KTEST_TREE_KEY"
	KernelsKeyVar = "KTEST_KERNELS_KEY"
)

// Keys are the cache keys of a plan's builds.
type Keys struct {
	// Tree names the tree's sources: for the default tree the hash its
	// extracted directory in the cache is named by (trees/<Tree>/).
	Tree string `json:"tree"`
	// Kernels is a digest of every input of the variants' kernels: the
	// tree's sources, ktest's cache format, the compiler, the config
	// fragments (quirks included) and each variant's patches, byte for
	// byte. Equal keys mean ktest looks up the same kernels; ktest still
	// checks each kernel's own key, so a stale cache only costs a build.
	Kernels string `json:"kernels"`
	// Inputs are the lines the kernels key digests, for a reader
	// wondering why the key changed.
	Inputs []string `json:"inputs"`
}

// PlanKeys computes the keys of plan p's kernels, built with the review
// replies' fixups when withFixups is set. It reads the tree's tarball
// (or keys the tree directory), the patches and fragments, and asks gcc
// its version; it extracts and builds nothing.
func PlanKeys(ctx context.Context, c *kbuild.Cache, p *plan.Plan, withFixups bool) (*Keys, error) {
	tree, err := kbuild.SourceKey(ctx, c, p.Tree)
	if err != nil {
		return nil, err
	}
	compiler, err := kbuild.Compiler(ctx)
	if err != nil {
		return nil, err
	}
	in := []string{"format " + kbuild.CacheFormat, "tree " + tree, "compiler " + compiler,
		fmt.Sprintf("fixups %t", withFixups)}
	frags, err := kconfig.Resolve(p.Fragments)
	if err != nil {
		return nil, err
	}
	for _, f := range frags {
		in = append(in, "fragment "+fragmentDigest(f))
	}
	// The tree's version, which chooses the quirks, is not known before
	// extraction: every quirk counts.
	quirks, err := kconfig.AllQuirks()
	if err != nil {
		return nil, err
	}
	for _, q := range quirks {
		in = append(in, "quirk "+fragmentDigest(q.Fragment))
	}
	for _, v := range p.Variants {
		in = append(in, "variant "+v.Name)
		for _, src := range v.Patches {
			d, err := sourceDigest(src)
			if err != nil {
				return nil, &SourceError{Source: src, Err: err}
			}
			in = append(in, "  patches "+src+" "+d)
		}
	}
	h := sha256.New()
	for _, l := range in {
		_, _ = fmt.Fprintln(h, l) // a hash never fails to write
	}
	return &Keys{Tree: tree, Kernels: hex.EncodeToString(h.Sum(nil))[:32], Inputs: in}, nil
}

// SourceError is a patch source of the plan that cannot be read: the
// user's input is wrong.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return fmt.Sprintf("patch source %s: %v", e.Source, e.Err) }
func (e *SourceError) Unwrap() error { return e.Err }

// Env is the keys as NAME=VALUE lines: appended to $GITHUB_OUTPUT they
// are step outputs, written to a file they are a GitLab dotenv report.
func (k *Keys) Env() string {
	return fmt.Sprintf("%s=%s\n%s=%s\n", TreeKeyVar, k.Tree, KernelsKeyVar, k.Kernels)
}

// fragmentDigest names a fragment by its file and its assignments, as
// kbuild's config key does.
func fragmentDigest(f *kconfig.Fragment) string {
	h := sha256.New()
	for _, a := range f.Assignments {
		_, _ = fmt.Fprintln(h, a) // a hash never fails to write
	}
	return f.File + " " + hex.EncodeToString(h.Sum(nil))[:16]
}

// sourceDigest is a digest of a patch source's bytes: a file, every file
// below a directory (with its path), or an embedded series.
func sourceDigest(src string) (string, error) {
	if name, ok, err := patches.Lookup(src); ok {
		if err != nil {
			return "", err
		}
		return treeDigest(patches.FS, name)
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return treeDigest(os.DirFS(src), ".")
	}
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func treeDigest(fsys fs.FS, root string) (string, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, p := range files {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", err
		}
		rel := strings.TrimPrefix(p, path.Clean(root)+"/")
		_, _ = fmt.Fprintf(h, "%s %x\n", rel, sha256.Sum256(data)) // a hash never fails to write
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
