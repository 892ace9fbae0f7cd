package kbuild

import "path/filepath"

// FindCheckout returns the kernel tree dir is in, as `git am` and `b4
// shazam` find the repository they work on: dir itself or its nearest
// parent that CheckTree accepts. ok is false when there is none.
func FindCheckout(dir string) (tree string, ok bool, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if t, err := CheckTree(d); err == nil {
			return t.Dir, true, nil
		}
		if filepath.Dir(d) == d {
			return "", false, nil
		}
	}
}
