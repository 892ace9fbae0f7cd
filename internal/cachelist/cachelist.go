// Package cachelist is what `ktest cache ls` and `ktest cache gc` say of
// the cache: its listing, gathered from kbuild and initramfs, and the
// text of both.
package cachelist

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
)

// Listing is what `cache ls --json` prints: every list an array, empty
// or not, so `jq '.kernels[]'` works on an empty cache.
type Listing struct {
	Dir     string             `json:"dir"`
	Trees   []kbuild.TreeEntry `json:"trees"`
	Kernels []kbuild.Entry     `json:"kernels"`
	Slots   []kbuild.SlotEntry `json:"slots"`
	Images  []initramfs.Image  `json:"images"`
	Bytes   int64              `json:"bytes"`
}

// Collect lists the cache's extracted trees, kernels, build slots and
// guest images, and their total size.
func Collect(cache *kbuild.Cache) (*Listing, error) {
	l := &Listing{Dir: cache.Dir}
	var err error
	if l.Trees, err = cache.Trees(); err != nil {
		return nil, err
	}
	if l.Kernels, err = cache.Kernels(); err != nil {
		return nil, err
	}
	if l.Slots, err = cache.Slots(); err != nil {
		return nil, err
	}
	if l.Images, err = initramfs.Images(cache.Dir); err != nil {
		return nil, err
	}
	l.Trees, l.Kernels, l.Slots, l.Images = NonNil(l.Trees), NonNil(l.Kernels), NonNil(l.Slots), NonNil(l.Images)
	for _, t := range l.Trees {
		l.Bytes += t.Bytes
	}
	for _, k := range l.Kernels {
		l.Bytes += k.Bytes
	}
	for _, s := range l.Slots {
		l.Bytes += s.Bytes
	}
	for _, i := range l.Images {
		l.Bytes += i.Bytes
	}
	return l, nil
}

// NonNil makes a nil list an empty one, which JSON prints as [].
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WriteText prints a table per kind of entry, fitted to width.
func (l *Listing) WriteText(w io.Writer, width int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cache %s: %s\n", l.Dir, termfmt.Bytes(l.Bytes))
	// Extracted trees; slots hardlink their files, so slots' sizes do not
	// count them again.
	tt := termfmt.NewTable(termfmt.Column{Header: "TREE", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "FROM", Shrink: 1, Min: 10, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "EXTRACTED", Shrink: 2, Min: 10})
	for _, t := range l.Trees {
		tt.Row(t.Dir, t.Version, t.Tarball, termfmt.Bytes(t.Bytes), t.Extracted.Format(time.DateTime))
	}
	// Keys stay whole: they are what 'ktest cache rm' takes.
	kt := termfmt.NewTable(termfmt.Column{Header: "KERNEL"}, termfmt.Column{Header: "VARIANT", Shrink: 1, Min: 7},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "OBJECTS", Right: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, k := range l.Kernels {
		kt.Row(k.Key, k.Variant, k.Version, fmt.Sprint(k.Objects), termfmt.Bytes(k.Bytes), k.LastUsed.Format(time.DateTime))
	}
	st := termfmt.NewTable(termfmt.Column{Header: "BUILD SLOT", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, s := range l.Slots {
		st.Row(s.Dir, termfmt.Bytes(s.Bytes), s.LastUsed.Format(time.DateTime))
	}
	it := termfmt.NewTable(termfmt.Column{Header: "GUEST IMAGE", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "LAYER"}, termfmt.Column{Header: "SIZE", Right: true},
		termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, i := range l.Images {
		it.Row(i.Path, i.Layer, termfmt.Bytes(i.Bytes), i.LastUsed.Format(time.DateTime))
	}
	sections := []struct {
		what string
		n    int
		t    *termfmt.Table
	}{{"extracted trees", len(l.Trees), tt}, {"kernels", len(l.Kernels), kt}, {"build slots", len(l.Slots), st}, {"guest images", len(l.Images), it}}
	for _, s := range sections {
		b.WriteString("\n")
		if s.n == 0 {
			fmt.Fprintf(&b, "no %s\n", s.what)
			continue
		}
		if err := s.t.Write(&b, width); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteGC says what a garbage collection removed, or would remove.
func WriteGC(w io.Writer, rep *kbuild.GCReport, dryRun bool) error {
	var b strings.Builder
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	for _, k := range rep.Kernels {
		fmt.Fprintf(&b, "%s kernel %s (%s, last used %s)\n", verb, k.Key, k.Variant, k.LastUsed.Format(time.DateOnly))
	}
	for _, s := range rep.Slots {
		fmt.Fprintf(&b, "%s build slot %s (last used %s)\n", verb, s.Dir, s.LastUsed.Format(time.DateOnly))
	}
	fmt.Fprintf(&b, "%s %d kernel(s), %d slot(s), %d boot log(s), %d era scan(s), %d leftover(s), %d stale index(es), %d index(es) of removed trees: %s\n",
		verb, len(rep.Kernels), len(rep.Slots), rep.BootLogs, rep.EraScans, rep.Temps, rep.Indexes, rep.TreeIndexes, termfmt.Bytes(rep.Bytes))
	_, err := io.WriteString(w, b.String())
	return err
}
