package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

func reportCommand() *command {
	return &command{
		name: "report",
		summary: `Render a run's results for review, mail, CI or KernelCI.
The formats: md (review summary), email (plain-text reply), mbox (that reply
as a mail answering the series' cover letter, for git send-email or a mail
client), json (the document), junit (CI), html (self-contained page with
charts), kcidb (a KernelCI KCIDB v5.3 submission).
RUN is a results.json or a run directory. The Tested-by line and the mbox
sender are --from, else git config user.name and user.email.`,
		usage: "RUN [--format md|json|junit|email|html|mbox|kcidb] [-o FILE] [--from 'Name <mail>'] [--signature 'Tested-by: Name <mail>'] [--origin NAME]",
		examples: []string{
			"ktest report ktest-runs/20250301-020000-ab12",
			"ktest report --format mbox --from 'A U Thor <a@example.org>' \\",
			"    ktest-runs/LAST > reply.mbox",
			"ktest report --format kcidb --origin my_ci ktest-runs/LAST > kcidb.json",
		},
		run: runReport,
	}
}

func runReport(ctx context.Context, e env, args []string) error {
	c := commands["report"]
	fs := newFlagSet(c, e.Stdout)
	format := fs.String("format", "md", "output `FORMAT`: "+strings.Join(report.Formats, ", "))
	out := fs.String("o", "", "write to `FILE` atomically instead of stdout")
	from := fs.String("from", "", "reviewer identity `\"NAME <MAIL>\"`: the mbox sender and the Tested-by (default: git config user.name and user.email)")
	sig := fs.String("signature", "", "`TRAILER` line for md, email, mbox and html (default \"Tested-by: \" and the identity)")
	origin := fs.String("origin", report.DefaultOrigin, "KCIDB origin `NAME` (the CI system's name: a-z, 0-9, _) for --format kcidb")
	pos, err := parseArgsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one RUN (results.json or run directory), got %d arguments", len(pos))
	}
	if err := report.ValidOrigin(*origin); err != nil {
		return usageErrorf("--origin: %v", err)
	}
	// -o writes a file, never directories: a mistyped path is an error.
	if dir := filepath.Dir(*out); *out != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return usageErrorf("-o %s: no directory %s to write it in", *out, dir)
		}
	}
	who, err := identity(ctx, *from)
	switch {
	case err != nil && (*from != "" || *format == "mbox"):
		return badInput(err)
	case err != nil:
		say(e.Stderr, "ktest report: warning: %v; no Tested-by line\n", err)
	case who == nil && *format == "mbox":
		return badInput(errNoIdentity)
	}
	run, err := results.Load(pos[0])
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := (report.Renderer{Signature: *sig, From: who, Origin: *origin}).Render(&buf, run, *format); err != nil {
		var ufe *report.UnknownFormatError
		switch {
		case errors.As(err, &ufe):
			return usageErrorf("--format: %v", err)
		case errors.Is(err, report.ErrNoMessage):
			return badInput(fmt.Errorf("%s: %w (a series read from a plain diff, or a run recorded by an older ktest); use --format email", pos[0], err))
		}
		return infraFailure(err)
	}
	if *format == "mbox" && run.Series.ReplyTo.MessageID == "" {
		say(e.Stderr, "ktest report: note: the series source (%s) has no Message-Id: the reply has no In-Reply-To or References and will not be threaded\n", run.Series.Source)
	}
	if *out == "" {
		_, err := e.Stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return nil
}

// parseArgsAnywhere parses flags that may come before, between or after
// the positional arguments ("ktest report RUN --format md"), which the
// flag package alone stops at. "--" ends flag parsing.
func parseArgsAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
