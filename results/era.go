package results

import (
	"fmt"
	"strings"
)

// Era is where a tree keeps the async-buffered-reads series' flag, and
// the baseline patch that removed it for the default plan's baseline
// variant.
type Era struct {
	Name     string `json:"name"`     // "f_mode" or "fop_flags"
	Flag     string `json:"flag"`     // FMODE_BUF_RASYNC or FOP_BUFFER_RASYNC
	Baseline string `json:"baseline"` // "embedded:baseline-6.12"
	// Stock are the lines of the tree that advertise the flag
	// ("path:line: text"), which the baseline must remove.
	Stock []string `json:"stock"`
	// Verified: a scan of the baseline variant's applied tree found no
	// line left advertising the flag.
	Verified bool `json:"verified"`
}

// String says it in one line, for the renderings.
func (e *Era) String() string {
	files := make([]string, 0, len(e.Stock))
	for _, s := range e.Stock {
		path, _, _ := strings.Cut(s, ":")
		files = append(files, path)
	}
	s := fmt.Sprintf("%s (%s), baseline %s removes it from %d place(s): %s", e.Name, e.Flag, e.Baseline, len(e.Stock), strings.Join(files, ", "))
	if e.Verified {
		s += "; verified: no file of the baseline's tree still advertises it"
	} else {
		s += "; not verified"
	}
	return s
}
