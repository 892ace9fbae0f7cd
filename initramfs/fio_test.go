package initramfs

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestFioString(t *testing.T) {
	for _, tc := range []struct {
		fio  fioBinary
		want string
	}{
		{fioBinary{version: "fio-3.33", static: true}, "fio-3.33, static"},
		{fioBinary{version: "fio-3.33"}, "fio-3.33, dynamic"},
	} {
		if got := tc.fio.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.fio, got, tc.want)
		}
	}
}

// TestFindFio checks the choice on this host: StaticFio when
// scripts/build-fio.sh installed it (and then it must be static), else the
// host's fio, whose libraries the image then carries.
func TestFindFio(t *testing.T) {
	f, err := findFio(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.version, "fio-") {
		t.Errorf("version %q", f.version)
	}
	_, statErr := os.Stat(StaticFio)
	switch {
	case statErr == nil && (f.hostPath != StaticFio || !f.static):
		t.Errorf("%s is installed, but the image would carry %s (static %v)", StaticFio, f.hostPath, f.static)
	case statErr != nil && f.hostPath == StaticFio:
		t.Errorf("chose %s, which is not installed", StaticFio)
	}
	t.Logf("the image carries %s from %s", f, f.hostPath)
}
