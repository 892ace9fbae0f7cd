// Package patches embeds the patch series ktest ships: the flagship
// async-buffered-reads series, the project's 6.1 baseline patch and
// test-only fault patches. See README.md.
package patches

import "embed"

// FS holds every directory of patches, e.g. "baseline-6.1/0001-....patch".
//
//go:embed */*.patch README.md
var FS embed.FS

// Well-known directories in FS.
const (
	AsyncBufferedReads = "async-buffered-reads"
	Baseline61         = "baseline-6.1"
	Faults61           = "faults-6.1"
	PerPatchHang61     = "perpatch-hang-6.1"
	PerPatchBuild61    = "perpatch-build-6.1"
)
