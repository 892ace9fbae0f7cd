// What is asked for and what comes back: requests, results, their
// errors, and the keys derived from them.

package kbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/kconfig"
)

// Request describes one kernel to configure or build.
type Request struct {
	Tree *Tree
	// Variant names the build in progress output, e.g. "baseline".
	Variant string
	// Overlay is the variant's sources relative to the tree: path to new
	// content, nil content meaning deleted. Empty for the tree itself.
	Overlay map[string][]byte
	// Patches names what produced the overlay, for the record only; the
	// key uses the overlay's content.
	Patches []string
	// BaseConfig is a user .config to start from; empty means tinyconfig.
	BaseConfig string
	// Fragments are merged in order on top of the base config; quirk
	// fragments for the tree's version are added after them.
	Fragments []*kconfig.Fragment
	// Jobs is make's -j; 0 means the number of CPUs.
	Jobs int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Result is a configured, and possibly built, kernel.
type Result struct {
	Key       string    `json:"key"`
	Dir       string    `json:"dir"`
	BzImage   string    `json:"bzimage,omitempty"`
	Config    string    `json:"config"`
	BuildLog  string    `json:"build_log,omitempty"`
	Cached    bool      `json:"cached"`
	Variant   string    `json:"variant"`
	Tree      string    `json:"tree"`
	TreeKey   string    `json:"tree_key"`
	Version   string    `json:"version"`
	Patches   []string  `json:"patches,omitempty"`
	Overlay   []string  `json:"overlay,omitempty"` // paths the variant changes
	Compiler  string    `json:"compiler"`
	ConfigSHA string    `json:"config_sha256"`
	Quirks    []string  `json:"quirks,omitempty"`
	Fragments []string  `json:"fragments"`
	Objects   int       `json:"objects_compiled"`
	Seconds   float64   `json:"build_seconds"`
	CPUSecs   float64   `json:"build_cpu_seconds"`
	Built     time.Time `json:"built"`
}

// ConfigError is a failed configuration step (merging, olddefconfig or
// verification).
type ConfigError struct {
	Variant string
	Err     error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config [%s]: %v", e.Variant, e.Err) }

func (e *ConfigError) Unwrap() error { return e.Err }

// BuildError is a failed make. FirstError is the first compiler error
// with its file and line, when the log has one.
type BuildError struct {
	Variant    string
	Log        string
	FirstError string
	Err        error
}

func (e *BuildError) Error() string {
	s := fmt.Sprintf("build [%s] failed: %v", e.Variant, e.Err)
	if e.FirstError != "" {
		s += "\n  first error: " + e.FirstError
	}
	return s + "\n  full log: " + e.Log
}

func (e *BuildError) Unwrap() error { return e.Err }

// Compiler returns the first line of `gcc --version`.
func Compiler(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("gcc --version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

func overlayHash(o map[string][]byte) (string, []string) {
	paths := make([]string, 0, len(o))
	for p := range o {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		if o[p] == nil {
			hashf(h, "D %s\n", p)
			continue
		}
		sum := sha256.Sum256(o[p])
		hashf(h, "M %s %x\n", p, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), paths
}

// inputs gathers everything a configuration depends on.
type inputs struct {
	fragments []*kconfig.Fragment
	quirks    []string
	baseCfg   []byte
	compiler  string
	overlay   string
	paths     []string
}

func (r *Request) inputs(ctx context.Context) (*inputs, error) {
	in := &inputs{fragments: append([]*kconfig.Fragment(nil), r.Fragments...)}
	qs, err := kconfig.Quirks(r.Tree.Version)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		in.fragments = append(in.fragments, q.Fragment)
		in.quirks = append(in.quirks, q.Name)
	}
	if r.BaseConfig != "" {
		if in.baseCfg, err = os.ReadFile(r.BaseConfig); err != nil {
			return nil, fmt.Errorf("base config: %w", err)
		}
	}
	if in.compiler, err = Compiler(ctx); err != nil {
		return nil, err
	}
	in.overlay, in.paths = overlayHash(r.Overlay)
	return in, nil
}

// configKey covers what determines the final .config, except the
// variant's Kconfig changes, which the request key covers.
func (in *inputs) configKey(t *Tree) string {
	h := sha256.New()
	hashf(h, "%s\ntree %s\ncompiler %s\nbase %x\n", cacheFormat, t.Key, in.compiler, sha256.Sum256(in.baseCfg))
	for _, f := range in.fragments {
		hashf(h, "fragment %s\n", f.File)
		for _, a := range f.Assignments {
			hashf(h, "%s\n", a)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (in *inputs) requestKey(t *Tree) string {
	return hashString(in.configKey(t) + "\noverlay " + in.overlay)
}

func fragmentNames(fs []*kconfig.Fragment) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.File)
	}
	return out
}

func (r *Request) log() io.Writer {
	if r.Log == nil {
		return io.Discard
	}
	return r.Log
}

func buildKey(t *Tree, in *inputs, cfg []byte) string {
	return hashString(fmt.Sprintf("%s\ntree %s\noverlay %s\ncompiler %s\nconfig %x\n",
		cacheFormat, t.Key, in.overlay, in.compiler, sha256.Sum256(cfg)))[:24]
}
