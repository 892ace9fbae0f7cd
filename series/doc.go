// Package series reads a kernel patch series as maintainers receive it and
// tells a good series from a damaged one.
//
// Inputs ([Load], [Parse]):
//
//   - an mbox: `git format-patch --stdout`, b4 am output (mboxrd, `>From`
//     escaping), a mailing-list archive; quoted-printable and base64 bodies
//     and simple MIME attachments are decoded as their headers say;
//   - a lore.kernel.org flat thread dump (`* [PATCH NN/MM] ...`, thread
//     lines, `From: Name @ date UTC`, `^ permalink raw reply`);
//   - one mail with headers, a `git show`/`git log -p` output, or a
//     header-less "commit message + diff" text;
//   - a plain unified diff, git-style or `diff -u` (-p1 `orig/x new/x` or -p0
//     `x.orig x`); paths are always normalised to -p1-relative names;
//   - a directory of .patch/.diff/.mbox/.eml/.cover files (format-patch
//     or b4 output), ordered by N/M, then by file name; a message without
//     N/M in "0005-....patch" is patch 5; a file without those extensions
//     is read when it holds a diff, and every file skipped is named in a
//     note (README, a quilt series file, hidden files, subdirectories);
//   - "-" for standard input. Gzip-compressed input is decompressed;
//   - "embedded:NAME", a series ktest ships (package patches), read from
//     the binary.
//
// [Options.Load] is the one entry point every command and the pipeline
// read a series through; load.go lays out the path a read takes.
//
// A series separates what to apply from what reviewers said: [Series.Patches]
// are the patches to apply, [Series.Fixups] are incremental diffs posted in
// replies, [Series.Revisions] are postings not applied. Trailers (Acked-by,
// Reviewed-by, ...) given in replies are attached to the patch replied to,
// or to every patch when the reply is to the cover letter, with FromReply
// set.
//
// # Revisions
//
// An input may hold several versions of a series, or of one patch of it
// (a resend of 06/12 as v5). ktest takes them as b4 does: the version
// applied, V, is the newest present, or the one asked for
// ([Options.Version], `--use-version`, b4's -v). A patch number V lacks
// is taken from the newest earlier version that has it and counts the
// series' patches alike (a partial resend); a version newer than V is
// never applied. A version comes from the subject, else from the cover
// letter or thread root the message answers, and honours the author's
// correction ("this one is v3, obviously, not v2"). Within one version
// the later of two different diffs wins; two nothing orders (no dates,
// or the same) are an [*AmbiguousError]. [Series.Choices] say, patch by
// patch, what was applied and why; [Series.RevisionLines] say it in
// words. A number of V's series no posting fills is a hole
// ([Series.Missing]); [Series.Complete] makes it an error, which apply
// and run report unless told to apply without it.
//
// Damage is diagnosed before go-gitdiff sees a diff, so that the error says
// what happened to the mail rather than "invalid line operation": every hunk
// is walked against its header counts, and lines without a ' ', '+' or '-'
// prefix, CRLF line ends, quoted-printable artefacts, flattened newlines,
// truncation and binary data are reported as a [*DamageError] naming the
// file, the line, the patch and the reason.
//
// # JSON schema ktest.series/v1
//
// [Summarize] returns the stable machine-readable form printed by
// `ktest series show --json`. Field names never change within v1; fields may
// be added.
//
//	{
//	  "schema":    "ktest.series/v1",
//	  "source":    string,        // file or directory given
//	  "format":    string,        // "lore-thread", "mbox", "mail", "git-show", "text", "diff", "directory"
//	  "title":     string,
//	  "version":   int,           // vN applied, after any correction by the author
//	  "base":      string,        // base-commit from the series, "" if none
//	  "tree":      string,        // "url branch" the cover says to pull from, "" if none
//	  "cover":     patch | null,
//	  "patches":   [patch],       // what is applied, in order
//	  "fixups":    [patch],       // incremental diffs from replies
//	  "revisions": [patch],       // postings not applied: earlier versions and sends, or newer than the version asked for
//	  "versions":  [int],         // the versions the input holds, ascending ("version" is the one applied)
//	  "choices":   [string],      // which posting of each patch is applied and why, in words
//	  "missing":   [int],         // patch numbers of the applied version that nothing fills (holes)
//	  "apply":     [string],      // ids of what `--with-fixups` or not would apply, in order
//	  "warnings":  [string],
//	  "notes":     [string]
//	}
//	patch = {
//	  "id":          string,      // "05/12", "fixup-1", "rev-06/12-v4", "cover"
//	  "kind":        "cover" | "patch" | "fixup" | "revision",
//	  "number":      int, "total": int,
//	  "version":     int,         // the version it was posted as (a patch taken from an earlier version keeps its own)
//	  "revision_of": int,         // fixups and revisions: the patch number; 0 if unknown
//	  "subject":     string, "author": string,
//	  "date":        string,      // RFC 3339, "" if unknown
//	  "message_id":  string,
//	  "source":      string, "line": int,
//	  "note":        string,      // fixups: the reviewer's sentence introducing the diff
//	  "files":       [{"path": string, "old_path": string, "status": string,
//	                   "added": int, "deleted": int, "binary": bool}],
//	  "added": int, "deleted": int,
//	  "trailers":    [{"key": string, "value": string, "from_reply": bool}]
//	}
package series
