package results

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// PatchsetHash is KCIDB's patchset hash: the sha256 over the
// newline-terminated hex sha256 of each patch, in order ("sha256sum
// *.patch | cut -c-64 | sha256sum"). ok is false if a patch's hash was
// not recorded.
func (s *Series) PatchsetHash() (hash string, ok bool) {
	sums := make([]string, len(s.Patches))
	for i, p := range s.Patches {
		sums[i] = p.SHA256
	}
	return patchsetHash(sums)
}

// PatchsetHash is the KCIDB patchset hash of every patch applied to the
// variant, the baseline's patches included; ok is false when none was
// recorded (a pristine tree's hash is "", which KCIDB spells so).
func (v *Variant) PatchsetHash() (hash string, ok bool) {
	sums := make([]string, len(v.Applied))
	for i, p := range v.Applied {
		sums[i] = p.SHA256
	}
	return patchsetHash(sums)
}

// patchsetHash is the sha256 over each hex sha256 and a newline; ok is
// false for no hashes or one that is not a sha256.
func patchsetHash(sums []string) (hash string, ok bool) {
	h := sha256.New()
	for _, sum := range sums {
		if len(sum) != 64 {
			return "", false
		}
		_, _ = fmt.Fprintf(h, "%s\n", sum) // a hash.Hash never returns an error
	}
	return hex.EncodeToString(h.Sum(nil)), len(sums) > 0
}
