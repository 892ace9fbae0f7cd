package kbuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFirstError(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "build.log")
	src := "/cache/slots/1f16/src"
	text := "  CC      fs/ext4/file.o\n" +
		src + "/fs/ext4/file.c:152:9: error: 'ext4_buffered_reads' undeclared (first use in this function)\n" +
		src + "/fs/ext4/file.c:160:1: error: a later one\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "fs/ext4/file.c:152:9: error: 'ext4_buffered_reads' undeclared (first use in this function)"
	if got := firstError(log, src); got != want {
		t.Errorf("firstError = %q, want %q", got, want)
	}
	if got := firstError(filepath.Join(dir, "none"), src); got != "" {
		t.Errorf("missing log: %q", got)
	}
}
