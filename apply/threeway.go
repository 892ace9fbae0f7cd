package apply

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// Ancestors gives the three-way merge what it needs: the file a diff was
// made against, named by the blob id on its "index" line, and a merge of
// two changes to one base (git merge-file, in package gitrepo). Pure
// callers leave Options.Ancestors nil and get no three-way merge.
type Ancestors interface {
	// Blob returns the content of the blob whose id starts with prefix;
	// ok is false when there is no such blob, or several.
	Blob(prefix string) (content []byte, ok bool, err error)
	// Merge3 merges the change from base to theirs into ours; clean is
	// false when the two changes conflict.
	Merge3(ours, base, theirs []byte) (merged []byte, clean bool, err error)
}

// A three-way merge is what `git am -3` and `b4 shazam` do when a patch
// does not apply: take the file the patch was made against (its blob),
// apply the patch there, where it applies exactly, and merge that change
// into the tree's file. ktest does it for a file with a hunk in
// conflict, and marks those hunks merged; if the merge conflicts too,
// the conflicts stand.
//
// A series' later patch names a blob that only exists once its earlier
// patches are applied to their own blobs; such blobs are derived here,
// and a derived blob counts only when its git id matches the prefix.

// revision is what one patch of the series did to a path, kept so a
// later patch's pre-image blob can be derived.
type revision struct {
	oldOID, newOID string
	hunks          []*hunk
}

// ancestor finds the content of blob oid for path: in the repository,
// or by replaying the series' earlier patches of path on theirs.
func (a *applier) ancestor(path, oid string, depth int) ([]byte, bool, error) {
	if oid == "" || strings.Trim(oid, "0") == "" || depth > 64 {
		return nil, false, nil
	}
	b, ok, err := a.opts.Ancestors.Blob(oid)
	if err != nil || ok {
		return b, ok, err
	}
	revs := a.history[path]
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		if !strings.HasPrefix(oid, r.newOID) && !strings.HasPrefix(r.newOID, oid) {
			continue
		}
		base, ok, err := a.ancestor(path, r.oldOID, depth+1)
		if err != nil || !ok {
			return nil, false, err
		}
		if theirs, ok := replay(base, r.hunks); ok && strings.HasPrefix(blobID(theirs), oid) {
			return theirs, true, nil
		}
	}
	return nil, false, nil
}

// replay applies hunks to the file they were made against, where each
// must fit at its header's line: anything else means the blob is not
// that file.
func replay(base []byte, hunks []*hunk) ([]byte, bool) {
	lines, reps := patchLines(fileLines(base), hunks, fileFacts{diffed: true})
	for _, r := range reps {
		if r.Status != StatusExact {
			return nil, false
		}
	}
	return joinLines(lines), true
}

// blobID is the git blob id of content.
func blobID(content []byte) string {
	h := sha1.New()
	_, _ = fmt.Fprintf(h, "blob %d\x00", len(content)) // a hash never fails to write
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// merge3 tries a three-way merge of op's change into cur, the file as
// the series has it so far. ok reports a clean merge; why says, when it
// is not, what stood in the way.
func (a *applier) merge3(op *fileOp, cur []byte) (merged []byte, ok bool, why string, err error) {
	if a.opts.Ancestors == nil || a.opts.Reverse {
		return nil, false, "", nil
	}
	base, found, err := a.ancestor(op.oldPath, op.oldOID, 0)
	if err != nil {
		return nil, false, "", err
	}
	if !found {
		if op.oldOID == "" {
			return nil, false, "", nil
		}
		return nil, false, fmt.Sprintf("no three-way merge: the tree's repository lacks blob %s, the file the patch was made against", op.oldOID), nil
	}
	theirs, exact := replay(base, op.hunks)
	if !exact {
		return nil, false, fmt.Sprintf("no three-way merge: the patch does not apply to blob %s, which its index line names", op.oldOID), nil
	}
	merged, clean, err := a.opts.Ancestors.Merge3(cur, base, theirs)
	if err != nil {
		return nil, false, "", err
	}
	if !clean {
		return nil, false, fmt.Sprintf("a three-way merge with blob %s conflicts too", op.oldOID), nil
	}
	return merged, true, "", nil
}
