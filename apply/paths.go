package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxSymlinkHops bounds symlink resolution, as the kernel's MAXSYMLINKS.
const maxSymlinkHops = 40

// resolvePath checks a path named by a diff and returns the path inside
// tree it refers to, with symlinks in the tree followed as long as they
// stay inside it. reason is non-empty when the path is unsafe.
//
// Refused: empty names, absolute names, ".." components, ".git"
// components (a patch must never reach git's hooks or config), and any
// symlink that is absolute or climbs out of the tree. If tree cannot read
// links (not an fs.ReadLinkFS) no symlinks are visible and none are
// followed.
func resolvePath(tree fs.FS, name string) (resolved, reason string) {
	if name == "" {
		return "", "empty path"
	}
	if strings.HasPrefix(name, "/") {
		return "", "absolute path"
	}
	if strings.ContainsRune(name, 0) {
		return "", "NUL byte in path"
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", "'..' component"
		}
		if strings.EqualFold(part, ".git") {
			return "", "inside .git"
		}
	}
	clean := path.Clean(name)
	if clean == "." || !fs.ValidPath(clean) {
		return "", "does not name a file in the tree"
	}

	rl, ok := tree.(fs.ReadLinkFS)
	if !ok {
		return clean, ""
	}
	parts := strings.Split(clean, "/")
	resolved = "."
	for hops, i := 0, 0; i < len(parts); i++ {
		cand := path.Join(resolved, parts[i])
		fi, err := rl.Lstat(cand)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// The rest does not exist yet (a file the series creates).
				return path.Join(append([]string{cand}, parts[i+1:]...)...), ""
			}
			// ENOTDIR and friends: leave it to the reader to report.
			return path.Join(append([]string{cand}, parts[i+1:]...)...), ""
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = cand
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", "too many levels of symbolic links"
		}
		target, err := rl.ReadLink(cand)
		if err != nil {
			return "", fmt.Sprintf("cannot read symlink %s: %v", cand, err)
		}
		if path.IsAbs(target) {
			return "", fmt.Sprintf("%s is a symlink to %s, outside the tree", cand, target)
		}
		next := path.Join(append([]string{path.Dir(cand), target}, parts[i+1:]...)...)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", fmt.Sprintf("%s is a symlink to %s, outside the tree", cand, target)
		}
		if next == "." {
			return "", fmt.Sprintf("%s is a symlink to the tree root", cand)
		}
		parts, resolved, i = strings.Split(next, "/"), ".", -1
	}
	return resolved, ""
}
