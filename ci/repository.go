package ci

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
)

// Repository is where a pipeline's jobs fetch ktest from.
type Repository struct {
	// URL is the git URL GitLab's jobs fetch.
	URL string
	// GitHub is OWNER/NAME, what actions/checkout takes; empty for a
	// repository elsewhere.
	GitHub string
}

// String is the repository as --ktest-repo takes it.
func (r Repository) String() string {
	if r.GitHub != "" && r.URL == "https://github.com/"+r.GitHub+".git" {
		return r.GitHub
	}
	return r.URL
}

// defaultModule is ktest's module path when the binary does not record
// one.
const defaultModule = "github.com/ktest-dev/ktest"

// ModuleRepository is the default repository: the one ktest's module path
// names, as this binary's build recorded it, so a fork that renames its
// module fetches itself by default.
var ModuleRepository = moduleRepository()

func moduleRepository() Repository {
	path := defaultModule
	if bi, ok := debug.ReadBuildInfo(); ok && strings.Count(bi.Main.Path, "/") >= 2 {
		path = bi.Main.Path
	}
	r, err := RepositoryOf(path)
	if err != nil {
		r, _ = RepositoryOf(defaultModule)
	}
	return r
}

var (
	// URLs and names are written into YAML and shell unquoted.
	repoURLRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~:/@+-]*$`)
	ownerNameRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)$`)
	githubURLRE = regexp.MustCompile(`^https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(\.git)?/?$`)
	majorRE     = regexp.MustCompile(`/v[0-9]+$`)
)

// RepositoryOf is the repository a module path names: github.com/O/N is
// GitHub's O/N; another host's path is fetched over https.
func RepositoryOf(modulePath string) (Repository, error) {
	path := majorRE.ReplaceAllString(modulePath, "")
	if rest, ok := strings.CutPrefix(path, "github.com/"); ok {
		return ParseRepository(rest)
	}
	return ParseRepository("https://" + path + ".git")
}

// ParseRepository reads --ktest-repo: GitHub's OWNER/NAME, or a git URL
// (https, ssh, git@host:path, file).
func ParseRepository(s string) (Repository, error) {
	if m := ownerNameRE.FindStringSubmatch(s); m != nil && m[2] != "." && m[2] != ".." {
		return Repository{URL: "https://github.com/" + s + ".git", GitHub: s}, nil
	}
	r := Repository{URL: s}
	if m := githubURLRE.FindStringSubmatch(s); m != nil {
		r.GitHub = m[1]
	}
	return r, r.validate()
}

func (r Repository) validate() error {
	if !repoURLRE.MatchString(r.URL) || strings.Contains(r.URL, "..") || !strings.ContainsAny(r.URL, ":/") {
		return fmt.Errorf("ktest repository %q: want GitHub's OWNER/NAME or a git URL (letters, digits and . _ ~ : / @ + -)", r.URL)
	}
	return nil
}
