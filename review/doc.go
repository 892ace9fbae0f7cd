// Package review holds the per-patch review checks that need no boot,
// starting with the tree's own checkpatch.pl on one patch.
//
// Checkpatch runs scripts/checkpatch.pl of the tree under review (never
// a copy of ours, so the rules are those of the kernel the patch is
// for) and parses its report into counts and items. checkpatch's exit
// status is part of the result, not an error: it exits 1 whenever it
// finds something. A tree without the script gives a
// *CheckpatchNotAvailableError.
package review
