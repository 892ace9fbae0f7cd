package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/results"
)

// resultsStdout is the commands' stdout (results, tables, help); tests
// swap it.
var resultsStdout io.Writer = os.Stdout

func init() {
	register(&command{
		name: "report",
		summary: `Render a run's results: md (review summary), email (plain-text reply),
json (the document), junit (CI), html (self-contained page with charts).
RUN is a results.json or a run directory.`,
		usage: "RUN [--format md|json|junit|email|html] [-o FILE] [--signature 'Tested-by: Name <mail>']",
		examples: []string{
			"ktest report ktest-runs/20250301-020000-ab12",
			"ktest report --format email --signature 'Tested-by: A U Thor <a@example.org>' ktest-runs/LAST > reply.txt",
		},
		run: runReport,
	})
}

func runReport(ctx context.Context, args []string) error {
	c := commands["report"]
	fs := newFlagSet(c)
	format := fs.String("format", "md", "output `FORMAT`: "+strings.Join(results.Formats, ", "))
	out := fs.String("o", "", "write to `FILE` atomically instead of stdout")
	sig := fs.String("signature", "", "`TRAILER` line for md, email and html (default \""+results.DefaultSignature+"\")")
	pos, err := parseArgsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one RUN (results.json or run directory), got %d arguments", len(pos))
	}
	run, err := results.Load(pos[0])
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := (results.Renderer{Signature: *sig}).Render(&buf, run, *format); err != nil {
		var ufe *results.UnknownFormatError
		if errors.As(err, &ufe) {
			return usageErrorf("--format: %v", err)
		}
		return infraFailure(err)
	}
	if *out == "" {
		_, err := resultsStdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return infraFailure(fmt.Errorf("write %s: %w", *out, err))
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
