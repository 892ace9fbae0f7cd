package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		data string
		mode os.FileMode
	}{
		{"new file in new dirs", filepath.Join(dir, "a/b/c.json"), "one", 0o644},
		{"replace", filepath.Join(dir, "a/b/c.json"), "two", 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteFile(tc.path, []byte(tc.data), tc.mode); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tc.path)
			st, _ := os.Stat(tc.path)
			if err != nil || string(got) != tc.data || st.Mode().Perm() != tc.mode {
				t.Fatalf("read %q (%v), mode %v; want %q, %v", got, err, st.Mode().Perm(), tc.data, tc.mode)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(tc.path), ".*.tmp-*"))
			if len(left) > 0 {
				t.Fatalf("temp files left: %v", left)
			}
		})
	}
}

func TestWriteFileFailureKeepsOld(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o755) }() // test cleanup: best effort
	if err := WriteFile(p, []byte("new"), 0o644); err == nil {
		t.Fatal("write into a read-only dir succeeded")
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Fatalf("old file changed to %q", got)
	}
}
