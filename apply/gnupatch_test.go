package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
)

// TestAgainstGNUPatch generates random files, random edits and randomly
// shifted or mutated targets, and compares the result with GNU patch run
// with the same fuzz limit (-F2, and -f so it never guesses "reversed").
// Whenever both apply the diff, the bytes must be identical. ktest
// refuses more, by design (see the placement rule in place.go): a hunk
// without context away from its header's line (git apply refuses -U0
// diffs altogether), a fit whose kept context is only "}" and blank
// lines (with -U1, fuzz 1 keeps no context at all), and a hunk that
// fits in several places. Those refusals are logged; with the usual
// context (-u, -U5) they must stay rare. 300 rounds: both applied 236,
// neither 23, only GNU 40 (none with -u or -U5), only ktest 1 (a -U0
// hunk whose added lines already stand at its header's line: ktest
// calls it already applied, GNU patch without -N a failure).
func TestAgainstGNUPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("GNU patch not installed")
	}
	rounds := 300
	if testing.Short() {
		rounds = 40
	}
	rng := rand.New(rand.NewPCG(1, 2))
	common := []string{"}\n", "\n", "\treturn 0;\n", "\t}\n", "{\n", "\tint ret;\n"}
	line := func() string {
		if rng.IntN(10) < 3 {
			return common[rng.IntN(len(common))]
		}
		return fmt.Sprintf("\tcall_%d(%d);\n", rng.IntN(1_000_000), rng.IntN(100))
	}
	lines := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = line()
		}
		return out
	}

	dir := t.TempDir()
	var both, onlyGNU, onlyGNUWithContext, onlyOurs, neither int
	for round := range rounds {
		base := lines(20 + rng.IntN(200))
		after := slices.Clone(base)
		for range 1 + rng.IntN(5) {
			at := rng.IntN(len(after))
			switch rng.IntN(3) {
			case 0:
				after = slices.Replace(after, at, min(at+1+rng.IntN(3), len(after)), lines(1+rng.IntN(3))...)
			case 1:
				after = slices.Delete(after, at, min(at+1+rng.IntN(3), len(after)))
			default:
				after = slices.Insert(after, at, lines(1+rng.IntN(3))...)
			}
		}
		unified := []string{"-u", "-U0", "-U1", "-U5"}[rng.IntN(4)]
		files, diff := gnuDiff(t, "f.c", text(base), text(after), unified)
		if len(files) == 0 {
			continue
		}
		target := slices.Clone(base)
		for range rng.IntN(4) {
			at := rng.IntN(len(target) + 1)
			if rng.IntN(2) == 0 {
				target = slices.Insert(target, at, lines(1+rng.IntN(8))...)
			} else if at < len(target) {
				target[at] = line()
			}
		}

		res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(target))}}, []Patch{{Name: "p", Files: files}}, Options{MaxFuzz: 2})
		ours := err == nil

		tf, df, of := filepath.Join(dir, "target"), filepath.Join(dir, "diff"), filepath.Join(dir, "out")
		must(t, os.WriteFile(tf, []byte(text(target)), 0o644))
		must(t, os.WriteFile(df, []byte(diff), 0o644))
		if err := os.Remove(of); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err) // the previous case's output, if any
		}
		cmd := exec.Command("patch", "-f", "-s", "-F2", "--no-backup-if-mismatch", "--reject-file=-", "-o", of, tf, "-i", df)
		out, gerr := cmd.CombinedOutput()
		var ee *exec.ExitError
		if gerr != nil && !errors.As(gerr, &ee) {
			t.Fatalf("patch: %v", gerr)
		}
		gnu := gerr == nil

		switch {
		case ours && gnu:
			both++
			want, err := os.ReadFile(of)
			must(t, err)
			got := text(target)
			if c := res.Changes["f.c"]; c != nil {
				got = string(c.Content)
			}
			if got != string(want) {
				t.Errorf("round %d (%s): results differ\ndiff:\n%s\nours: %v\ngnu:\n%s", round, unified, diff, statuses(res), out)
			}
		case gnu:
			onlyGNU++
			if unified == "-u" || unified == "-U5" {
				onlyGNUWithContext++
			}
			t.Logf("round %d (%s): only GNU patch applied it: %v\n%s", round, unified, err, diff)
		case ours:
			onlyOurs++
			t.Logf("round %d (%s): only ktest applied it (%v); GNU: %s\n%s", round, unified, statuses(res), out, diff)
		default:
			neither++
		}
	}
	t.Logf("%d rounds: both applied %d, neither %d, only GNU %d (%d with -u or -U5), only ktest %d",
		rounds, both, neither, onlyGNU, onlyGNUWithContext, onlyOurs)
	if onlyGNUWithContext > rounds/20 || onlyOurs > rounds/100 {
		t.Errorf("ktest and GNU patch disagree on %d (only GNU, usual context) + %d (only ktest) of %d rounds",
			onlyGNUWithContext, onlyOurs, rounds)
	}
}
