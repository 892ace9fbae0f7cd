// Package review holds the per-patch review checks that need no boot:
// the tree's own checkpatch.pl on one patch, and the compiler warnings a
// patch adds to the files it touches.
//
// Checkpatch runs scripts/checkpatch.pl of the tree under review (never
// a copy of ours, so the rules are those of the kernel the patch is
// for) and parses its report into counts and items. checkpatch's exit
// status is part of the result, not an error: it exits 1 whenever it
// finds something. A tree without the script gives a
// *CheckpatchNotAvailableError.
//
// ParseWarnings reads gcc diagnostics out of a kernel build log (make
// output, in tree or with O=, including ktest's build slots) with paths
// made relative to the source root; NewWarnings compares two such lists
// by file, flag and message, never by line, since a patch that adds
// lines moves every warning below them. The "before" log must be one in
// which the touched files were compiled (a full build, as a cache miss
// of the baseline writes): an incremental log that recompiled nothing
// of a file has no warnings for it, and everything the "after" log
// says about that file would look new.
package review
