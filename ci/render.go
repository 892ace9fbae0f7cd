package ci

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

//go:embed github.yml.tmpl gitlab.yml.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"quote":         quote,
	"join":          strings.Join,
	"shards":        func(n int) string { return shardList(n, strconv.Itoa) },
	"shardStrings":  func(n int) string { return shardList(n, func(i int) string { return strconv.Quote(strconv.Itoa(i)) }) },
	"expr":          func(e string) string { return "${{ " + e + " }}" },
	"treeKeyVar":    func() string { return TreeKeyVar },
	"kernelsKeyVar": func() string { return KernelsKeyVar },
	"imageFile":     func() string { return ImageFile },
	"keysFile":      func() string { return KeysFile },
	"setupMinutes":  func() int { return setupMinutes },
}).ParseFS(templateFS, "*.tmpl"))

// Files the jobs pass on: the guest image that the build writes (ktest
// initramfs -o) and the test jobs boot (ktest run --initramfs), and
// GitLab's dotenv report of the cache keys.
const (
	ImageFile = "ktest-guest.cpio"
	KeysFile  = "ktest-keys.env"
)

// Render writes the pipeline as its platform's YAML file.
func Render(p *Pipeline) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, string(p.Platform)+".yml.tmpl", p); err != nil {
		return nil, fmt.Errorf("rendering the %s pipeline: %w", p.Platform, err)
	}
	return buf.Bytes(), nil
}

// quote makes s a double-quoted YAML scalar: JSON strings are YAML, and
// quoting keeps "1.0" a string and "*" from being an alias.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shardList is the flow sequence of shard indexes 1 to n, each written by
// format: GitHub takes numbers, GitLab's parallel:matrix wants strings.
func shardList(n int, format func(int) string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = format(i + 1)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
