package vm

import (
	"errors"
	"os"

	"github.com/ktest-dev/ktest/remote"
)

// Image is a guest initramfs and the SSH keys built into it: the guest
// agent presents Keys.HostSigner and accepts Keys.ClientSigner, so a VM
// booted with the image is reached with exactly these keys.
type Image struct {
	Path string
	Keys *remote.Keys
	// BenchTool names the benchmark program the image carries, as
	// "fio-3.33, static": runs whose images carry different ones do not
	// measure alike (a dynamic fio's start-up is in its CPU figures).
	BenchTool string
}

// Remove deletes the image file: a per-run image holds the guest's
// private host key, and is 24–98 MiB.
func (im *Image) Remove() error {
	if im == nil || im.Path == "" {
		return nil
	}
	if err := os.Remove(im.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
