// Package cachedir names ktest's cache directory, outside any repository
// so that CI runs on the same machine reuse kernels and images.
package cachedir

import (
	"os"
	"path/filepath"
)

// BootLogs is the cache subdirectory where `ktest boot` keeps the console
// log of a failed boot, one directory per boot; cache gc ages them out.
const BootLogs = "boot-logs"

// EraScans is the cache subdirectory where a run keeps the era scan of a
// tree's content (which lines advertise the series' flag), one JSON file
// per tree key and flag; reading one marks it used, and cache gc ages
// out those unused for its --older-than.
const EraScans = "eras"

// Dir is $KTEST_CACHE, else $XDG_CACHE_HOME/ktest, else ~/.cache/ktest
// (or a ktest-cache dir in the temp dir when there is no home).
func Dir() string {
	if d := os.Getenv("KTEST_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "ktest")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ktest-cache")
	}
	return filepath.Join(home, ".cache", "ktest")
}
