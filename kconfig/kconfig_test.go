package kconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFragment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string // Assignment.String() of each
		errLine int      // 0: no error
		errWant string
	}{
		{name: "assignments", in: "# c\n\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"x y\"\nCONFIG_E=0x10\nCONFIG_F=-3\n",
			want: []string{"CONFIG_A=y", "CONFIG_B=m", "# CONFIG_C is not set", `CONFIG_D="x y"`, "CONFIG_E=0x10", "CONFIG_F=-3"}},
		{name: "crlf and trailing space tolerated", in: "CONFIG_A=y \r\n", want: []string{"CONFIG_A=y"}},
		{name: "missing prefix", in: "CONFIG_A=y\nVIRTIO=y\n", errLine: 2, errWant: "expected CONFIG_NAME=value"},
		{name: "bad value", in: "CONFIG_A=yes\n", errLine: 1, errWant: "value must be"},
		{name: "unterminated string", in: "CONFIG_A=\"x\n", errLine: 1, errWant: "value must be"},
		{name: "duplicate", in: "CONFIG_A=y\n# CONFIG_A is not set\n", errLine: 2, errWant: "already set on line 1"},
		{name: "binary", in: "CONFIG_A=y\x00\x01", errLine: 1, errWant: "binary data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFragment("frag.config", []byte(tc.in))
			if tc.errLine != 0 {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line != tc.errLine || !strings.Contains(se.Error(), tc.errWant) || se.File != "frag.config" {
					t.Fatalf("err = %v, want SyntaxError at frag.config:%d containing %q", err, tc.errLine, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range f.Assignments {
				got = append(got, a.String())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuiltinFragmentsParse(t *testing.T) {
	for _, name := range Builtin {
		f, err := Embedded(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f.Assignments) == 0 {
			t.Fatalf("%s: empty", name)
		}
	}
	base, _ := Embedded("base")
	want := map[string]string{"IO_URING": "y", "EXT4_FS": "y", "XFS_FS": "y", "BTRFS_FS": "y",
		"SYSVIPC": "y", "ADVISE_SYSCALLS": "y", "VIRTIO_BLK": "y", "HW_RANDOM_VIRTIO": "y", "DEVTMPFS": "y"}
	for _, a := range base.Assignments {
		if v, ok := want[a.Symbol]; ok && v == a.Value {
			delete(want, a.Symbol)
		}
	}
	if len(want) > 0 {
		t.Fatalf("base fragment lacks %v", want)
	}
}

func TestMergeLaterFragmentWins(t *testing.T) {
	base := []byte("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n")
	f1, _ := ParseFragment("one.config", []byte("CONFIG_B=y\nCONFIG_D=y\n"))
	f2, _ := ParseFragment("two.config", []byte("# CONFIG_D is not set\nCONFIG_A=m\n"))
	out, reqs := Merge(base, f1, f2)
	c := ParseConfig(out)
	for sym, want := range map[string]string{"A": "m", "B": "y", "C": "y", "D": "n"} {
		if got := c.Get(sym); got != want {
			t.Errorf("CONFIG_%s = %s, want %s", sym, got, want)
		}
	}
	if strings.Count(string(out), "CONFIG_A") != 1 {
		t.Errorf("CONFIG_A appears more than once:\n%s", out)
	}
	var where []string
	for _, r := range reqs {
		where = append(where, r.Symbol+"@"+r.File)
	}
	if got := strings.Join(where, " "); got != "B@one.config D@two.config A@two.config" {
		t.Errorf("requests = %s", got)
	}
}

func TestVerify(t *testing.T) {
	f, _ := ParseFragment("frag.config", []byte("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=0x1F\nCONFIG_S=\"s\"\n"))
	for _, tc := range []struct {
		name    string
		final   string
		dropped []string
	}{
		{"all kept", "CONFIG_A=y\nCONFIG_N=0x1f\nCONFIG_S=\"s\"\n", nil},
		{"absent is not set", "CONFIG_A=y\nCONFIG_N=0x1F\nCONFIG_S=\"s\"\n", nil},
		{"dropped y", "# CONFIG_A is not set\nCONFIG_N=0x1F\nCONFIG_S=\"s\"\n", []string{"A"}},
		{"forced on", "CONFIG_A=y\nCONFIG_B=y\nCONFIG_N=0x1F\nCONFIG_S=\"s\"\n", []string{"B"}},
		{"value changed", "CONFIG_A=m\nCONFIG_N=0x20\n", []string{"A", "N", "S"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(ParseConfig([]byte(tc.final)), f.Assignments, func(sym, want string) string { return "because " + sym })
			var ve *VerifyError
			if tc.dropped == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, d := range ve.Dropped {
				got = append(got, d.Symbol)
				if !strings.Contains(d.String(), "frag.config:") || !strings.Contains(d.String(), "because "+d.Symbol) {
					t.Errorf("report lacks file:line or reason: %s", d)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.dropped, ",") {
				t.Fatalf("dropped %v, want %v", got, tc.dropped)
			}
		})
	}
}

// writeTree writes a miniature Kconfig tree in the real language.
func writeTree(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestExplain(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"Kconfig": `mainmenu "test"
source "arch/$(SRCARCH)/Kconfig"
source "drivers/Kconfig"
config MODULES
	bool "modules"
`,
		"arch/x86/Kconfig": `config PCI
	bool "PCI support"
	help
	  if this help text were parsed, it
	  would open an "if" block: depends on NOTHING
`,
		"drivers/Kconfig": `menuconfig VIRTIO_MENU
	bool "Virtio drivers"
	default y

if VIRTIO_MENU
config VIRTIO_PCI
	tristate "PCI driver for virtio devices"
	depends on PCI && \
		   !BROKEN
	select VIRTIO
endif

config VIRTIO
	tristate

menu "Network"
	depends on NET
config VIRTIO_NET
	tristate "virtio net"
endmenu
`,
	})
	deps, err := ScanDeps(dir, "x86")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sym, want, final string
		contains               []string
	}{
		{"if block and depends", "VIRTIO_PCI", "y", "# CONFIG_VIRTIO_MENU is not set\n# CONFIG_PCI is not set\n",
			[]string{`inside "if VIRTIO_MENU"`, "VIRTIO_MENU=n", "depends on PCI && !BROKEN", "PCI=n"}},
		{"only the unmet clause", "VIRTIO_PCI", "y", "CONFIG_VIRTIO_MENU=y\n",
			[]string{"depends on PCI && !BROKEN (PCI=n, BROKEN=n"}},
		{"menu dependency", "VIRTIO_NET", "y", "", []string{"menu that depends on NET", "NET=n"}},
		{"no prompt", "VIRTIO", "y", "", []string{"has no prompt", "selects it"}},
		{"selected cannot be off", "VIRTIO", "n", "CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n", []string{"selected by CONFIG_VIRTIO_PCI"}},
		{"module without modules", "VIRTIO_NET", "m", "", []string{"modules are disabled"}},
		{"unknown symbol", "VIRTIO_NETT", "y", "", []string{"does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := deps.Explain(ParseConfig([]byte(tc.final)), tc.sym, tc.want)
			for _, c := range tc.contains {
				if !strings.Contains(got, c) {
					t.Errorf("Explain(%s) = %q, want it to contain %q", tc.sym, got, c)
				}
			}
		})
	}
	if _, ok := deps.defs["NOTHING"]; ok {
		t.Error("help text was parsed as Kconfig")
	}
}

func TestEvalExpr(t *testing.T) {
	c := ParseConfig([]byte("CONFIG_Y=y\nCONFIG_M=m\nCONFIG_NUM=64\nCONFIG_STR=\"abc\"\n"))
	for expr, want := range map[string]int{
		"Y": 2, "M": 1, "N": 0, "!Y": 0, "!N": 2, "Y && M": 1, "N || M": 1,
		"(Y || N) && !N": 2, "NUM = 64": 2, "NUM > 100": 0, "NUM >= 64": 2, `STR = "abc"`: 2,
		"Y != n": 2, "M = m": 2,
	} {
		if got := evalExpr(expr, c); got != want {
			t.Errorf("eval(%q) = %d, want %d", expr, got, want)
		}
	}
}

func TestQuirksByVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    bool
	}{{"5.8.0", true}, {"5.11.22", true}, {"5.12", false}, {"6.1.192", false}, {"3.19", false}} {
		v, err := ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := Quirks(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(qs) > 0; got != tc.want {
			t.Errorf("Quirks(%s) = %d quirks, want any=%v", tc.version, len(qs), tc.want)
		}
	}
}
