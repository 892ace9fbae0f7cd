package layers

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ktest-dev/ktest/"

// layerOf is DESIGN.md's table: a lower number is a higher layer.
var layerOf = map[string]int{
	"series": 0, "patches": 0, "apply": 0, "gitrepo": 0, "worktree": 0,
	"kconfig": 0, "plan": 0, "era": 0, "guest/proto": 0,
	"kbuild": 1, "review": 1,
	"initramfs": 2, "vm": 2, "console": 2, "remote": 2, "vmstate": 2,
	"verdict": 3, "results": 3, "report": 3, "ci": 3,
	"pipeline": 4, "cmd/ktest": 4,
}

var layerNames = []string{"input", "build", "machine", "judging and reports", "orchestration"}

// layer is the layer of a package path below the module; ok is false for
// the packages the table leaves out on purpose (helpers, the guest, tests).
func layer(rel string) (n int, ok bool) {
	if strings.HasPrefix(rel, "internal/") || strings.HasPrefix(rel, "apply/internal/") {
		return 0, false
	}
	if n, ok := layerOf[rel]; ok {
		return n, true
	}
	return 0, false
}

func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		if strings.HasPrefix(rel, "guest/") && rel != "guest/proto" {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module) && !strings.HasPrefix(imp, module+"guest/") {
					t.Errorf("the guest's %s imports the host's %s", rel, imp)
				}
			}
			continue
		}
		from, ok := layer(rel)
		if !ok {
			if _, helper := layerOf[rel]; !helper && !strings.Contains(rel, "internal/") && rel != "faults" {
				t.Errorf("package %s has no layer in DESIGN.md's table (and this test's)", rel)
			}
			continue
		}
		seen++
		for _, imp := range p.Imports {
			to, ok := layer(strings.TrimPrefix(imp, module))
			if !strings.HasPrefix(imp, module) || !ok {
				continue
			}
			if to > from {
				t.Errorf("%s (%s) imports %s (%s), a lower layer", rel, layerNames[from], strings.TrimPrefix(imp, module), layerNames[to])
			}
		}
	}
	if seen != len(layerOf) {
		t.Errorf("checked %d packages, the table names %d: a package was renamed or added without its layer", seen, len(layerOf))
	}
}
