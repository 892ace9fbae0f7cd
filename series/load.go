package series

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ktest-dev/ktest/patches"
)

// Reading a series, from the one entry point down:
//
//	Options.Load(src)        load.go: "-", "embedded:NAME", a directory or a file
//	  Options.loadDir        dir.go: a directory's files, each a source of messages
//	  Options.Parse          load.go: one file's bytes
//	    readMessages         mail.go: split into messages, headers and subjects
//	                         (subject.go) decoded
//	    assemble             assemble.go: places each message in the series
//	      analyse            analyse.go: a message's diff, trailers and review
//	                         text; damage found by diffscan.go (damage.go)
//	      choose             revisions.go: which posting of each patch applies
//
// Load and Parse are these with the default Options.

// Options choose among what an input holds.
type Options struct {
	// Version is the version to apply (b4's -v): 0 takes the newest
	// version present; any other must be present, else Load fails with a
	// *VersionError listing the versions there are.
	Version int
}

// Load reads a series from a file (mbox, lore flat-thread dump, git-show
// style mail, plain unified diff, git or `diff -u`, -p1 or -p0), from a
// directory of patch files (format-patch output, ordered by N/M then
// name), from "-" (stdin), or from "embedded:NAME", a series ktest ships
// (package patches), taking the newest version of every patch.
// Damaged input yields a *DamageError.
func Load(src string) (*Series, error) { return Options{}.Load(src) }

// Parse reads a series from data; name is used in errors and as Source.
func Parse(name string, data []byte) (*Series, error) { return Options{}.Parse(name, data) }

// Load is [Load] with these options. An embedded series is named by its
// source ("embedded:NAME/0001-....patch"), which outlives any copy; an
// unknown name is a *patches.UnknownError.
func (o Options) Load(src string) (*Series, error) {
	if src == "-" {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return o.Parse("<stdin>", data)
	}
	if dir, ok, err := patches.Lookup(src); ok {
		if err != nil {
			return nil, err
		}
		return o.loadDir(patches.FS, dir, src)
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, &SourceError{Source: src, Err: err}
	}
	if st.IsDir() {
		return o.loadDir(os.DirFS(src), ".", filepath.Clean(src))
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, &SourceError{Source: src, Err: err}
	}
	return o.Parse(src, data)
}

// Parse is [Parse] with these options.
func (o Options) Parse(name string, data []byte) (*Series, error) {
	msgs, format, err := readMessages(name, data)
	if err != nil {
		return nil, err
	}
	return assemble(name, format, msgs, o)
}

// SourceError is a series source that cannot be read: a path that does
// not exist or is not readable. It is the user's input that is wrong.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return "load series: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }
