// Command gen writes the differential apply corpus (package difftest)
// from a real kernel tree: for every drift kind, small edits of real
// functions, the patch git makes of each, a base that drifted in that
// way, and the right answer. The output is deterministic given the
// tree, -seed and -n.
//
// From the repository's root, with Debian's linux-source-6.1 installed:
//
//	go run ./apply/internal/difftest/gen -tarball /usr/src/linux-source-6.1.tar.xz
//
// or -tree DIR for an extracted tree (read only). It replaces every
// *.txtar in -out and reads seed 003 from -seeds.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ktest-dev/ktest/apply/internal/difftest"
)

// dirs are where the cases come from, each drawn equally often.
var dirs = []string{"fs", "mm", "block", "io_uring", "include/linux"}

func main() {
	tree := flag.String("tree", "", "an extracted kernel tree (read only)")
	tarball := flag.String("tarball", "", "a linux-source tarball to extract the tree from (into a temp dir)")
	seed := flag.Uint64("seed", 1, "random seed")
	n := flag.Int("n", 28, "cases per kind")
	out := flag.String("out", "apply/testdata/differential", "where the *.txtar cases go (replaced)")
	seeds := flag.String("seeds", "testdata/seeds", "the project's seed documents (for seed 003)")
	flag.Parse()
	if err := run(*tree, *tarball, *seed, *n, *out, *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(tree, tarball string, seed uint64, n int, out, seeds string) error {
	if (tree == "") == (tarball == "") {
		return fmt.Errorf("give -tree DIR or -tarball FILE")
	}
	if tarball != "" {
		tmp, err := os.MkdirTemp("", "difftest-tree-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }() // best-effort cleanup: the error that brought us here is the one to report
		if tree, err = extract(tarball, tmp); err != nil {
			return err
		}
	}
	version, err := kernelVersion(tree)
	if err != nil {
		return err
	}
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x6b74657374)), version: version, byDir: map[string][]*source{}}
	if err := g.load(tree); err != nil {
		return err
	}
	if g.differ, err = newDiffer(); err != nil {
		return err
	}
	defer g.differ.close()

	var cases []*difftest.Case
	for ki, k := range difftest.Kinds {
		if k.Name == "seed-003" {
			c, err := seed003(tree, seeds, version)
			if err != nil {
				return err
			}
			c.Name = fmt.Sprintf("%02d-%s", ki+1, k.Name)
			cases = append(cases, c)
			continue
		}
		made, tries := 0, 0
		for made < n {
			tries++
			if tries > 200*n {
				return fmt.Errorf("kind %s: only %d cases after %d tries", k.Name, made, tries)
			}
			c, err := g.build(k)
			if err != nil {
				continue // this file or site cannot carry the kind; draw again
			}
			made++
			c.Name = fmt.Sprintf("%02d-%s-%02d", ki+1, k.Name, made)
			cases = append(cases, c)
		}
		fmt.Fprintf(os.Stderr, "gen: %-18s %d cases (%d draws)\n", k.Name, made, tries)
	}
	return write(out, cases)
}

func write(out string, cases []*difftest.Case) error {
	old, err := filepath.Glob(filepath.Join(out, "*.txtar"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	total := 0
	for _, c := range cases {
		b, err := c.Marshal()
		if err != nil {
			return err
		}
		// What the harness will read must be what was meant.
		back, err := difftest.Parse(c.Name, b)
		if err != nil {
			return err
		}
		if back.Want == difftest.WantApply || back.Want == difftest.WantApplyOrRefuse {
			if _, err := back.Intended(); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(out, c.Name+".txtar"), b, 0o644); err != nil {
			return err
		}
		total += len(b)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d cases, %d bytes, to %s\n", len(cases), total, out)
	return nil
}

// extract unpacks the parts of a linux-source tarball the cases come
// from into tmp and returns the tree's root there.
func extract(tarball, tmp string) (string, error) {
	list, err := exec.Command("tar", "-tJf", tarball).Output()
	if err != nil {
		return "", fmt.Errorf("list %s: %w", tarball, err)
	}
	top, _, _ := strings.Cut(string(list), "/")
	members := []string{top + "/Makefile"}
	for _, d := range dirs {
		members = append(members, top+"/"+d)
	}
	fmt.Fprintf(os.Stderr, "gen: extracting %s from %s\n", strings.Join(append(dirs, "Makefile"), ", "), tarball)
	if out, err := exec.Command("tar", append([]string{"-xJf", tarball, "-C", tmp}, members...)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("extract %s: %v\n%s", tarball, err, out)
	}
	return filepath.Join(tmp, top), nil
}

var versionRe = regexp.MustCompile(`(?m)^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)$`)

func kernelVersion(tree string) (string, error) {
	b, err := os.ReadFile(filepath.Join(tree, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("not a kernel tree: %w", err)
	}
	v := map[string]string{}
	for _, m := range versionRe.FindAllStringSubmatch(string(b), 3) {
		v[m[1]] = m[2]
	}
	return fmt.Sprintf("Linux %s.%s.%s", v["VERSION"], v["PATCHLEVEL"], v["SUBLEVEL"]), nil
}

// load reads the C files under dirs (headers under include/linux),
// keeping those with enough functions to cut cases from.
func (g *gen) load(tree string) error {
	for _, d := range dirs {
		root := filepath.Join(tree, d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !(strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h")) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !utf8.Valid(b) || strings.Contains(string(b), "\r") || len(b) == 0 || b[len(b)-1] != '\n' {
				return nil
			}
			rel, _ := filepath.Rel(tree, p)
			s := &source{path: filepath.ToSlash(rel), lines: difftest.SplitLines(b)}
			s.funcs = parseFuncs(s.lines)
			for _, f := range s.funcs {
				if f.len() >= minFuncLen && f.len() <= maxFuncLen && f.sig > 0 {
					s.sites = append(s.sites, f)
				}
			}
			if len(s.funcs) >= 2 && len(s.sites) > 0 {
				g.byDir[d] = append(g.byDir[d], s)
			}
			return nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(g.byDir[d], func(a, b *source) int { return strings.Compare(a.path, b.path) })
		if len(g.byDir[d]) == 0 {
			return fmt.Errorf("%s: no C files with functions", root)
		}
	}
	return nil
}
