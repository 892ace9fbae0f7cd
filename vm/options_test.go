package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCmdline(t *testing.T) {
	base := []string{
		"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "q35",
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{
			name: "tcg defaults",
			opts: Options{Kernel: "/k/bzImage", Accel: AccelTCG},
			want: append(append([]string(nil), base...),
				"-accel", "tcg", "-smp", "2", "-m", "1024", "-serial", "stdio",
				"-kernel", "/k/bzImage", "-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40"),
		},
		{
			name: "kvm uses the host cpu",
			opts: Options{QEMU: "/opt/qemu", Kernel: "k", Image: &Image{Path: "i.cpio"}, Accel: AccelKVM, CPUs: 4, MemoryMB: 2048},
			want: []string{
				"/opt/qemu", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
				"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "4", "-m", "2048",
				"-serial", "stdio", "-kernel", "k", "-initrd", "i.cpio", "-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40",
			},
		},
		{
			name: "devices contribute args in order, user kernel args last",
			opts: Options{
				Kernel: "k", Accel: AccelTCG, KernelArgs: []string{"loglevel=7", "hung_task_timeout_secs=30"},
				Devices: []Device{
					RNG{},
					Disk{ID: "ext4", Path: "/run/a,b.img", Serial: "ktest-ext4"},
					Net{HostPort: 40022},
					Net{ID: "out", HostPort: 8080, GuestPort: 80, Outbound: true},
					kernelArgDevice{},
				},
			},
			want: append(append([]string(nil), base...),
				"-accel", "tcg", "-smp", "2", "-m", "1024", "-serial", "stdio", "-kernel", "k",
				"-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40 dev.arg=1 loglevel=7 hung_task_timeout_secs=30",
				"-device", "virtio-rng-pci",
				"-drive", "if=none,id=ext4,file=/run/a,,b.img,format=raw,cache=unsafe",
				"-device", "virtio-blk-pci,drive=ext4,serial=ktest-ext4",
				"-netdev", "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22",
				"-device", "virtio-net-pci,netdev=net0",
				"-netdev", "user,id=out,hostfwd=tcp:127.0.0.1:8080-:80",
				"-device", "virtio-net-pci,netdev=out",
				"-device", "test-dev",
			),
		},
		{
			name: "monitor socket after the kernel, commas escaped",
			opts: Options{Kernel: "k", Accel: AccelTCG, Monitor: "/run/vm,1/qmp.sock"},
			want: append(append([]string(nil), base...),
				"-accel", "tcg", "-smp", "2", "-m", "1024", "-serial", "stdio",
				"-kernel", "k", "-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40",
				"-chardev", "socket,id=ktest-qmp,path=/run/vm,,1/qmp.sock,server=on,wait=off",
				"-mon", "chardev=ktest-qmp,mode=control"),
		},
		{
			name: "instruction clock under tcg",
			opts: Options{Kernel: "k", Accel: AccelTCG, Clock: ClockInstructions, CPUs: 1},
			want: append(append([]string(nil), base...),
				"-accel", "tcg", "-icount", "shift=3,sleep=on", "-smp", "1", "-m", "1024", "-serial", "stdio",
				"-kernel", "k", "-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40"),
		},
		{
			name: "firmware",
			opts: Options{Kernel: "k", Accel: AccelKVM, Firmware: Qboot},
			want: append(append([]string(nil), base...),
				"-accel", "kvm", "-bios", Qboot, "-cpu", "host", "-smp", "2", "-m", "1024", "-serial", "stdio",
				"-kernel", "k", "-append", "console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.Cmdline()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Cmdline:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// kernelArgDevice is a device that needs a kernel argument.
type kernelArgDevice struct{}

func (kernelArgDevice) QEMUArgs() []string   { return []string{"-device", "test-dev"} }
func (kernelArgDevice) KernelArgs() []string { return []string{"dev.arg=1"} }

func TestCmdlineValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{"no kernel", Options{Accel: AccelTCG}, []string{"no kernel image"}},
		{"auto not resolved", Options{Kernel: "k", Accel: AccelAuto}, []string{"Prober.Resolve"}},
		{"empty accel", Options{Kernel: "k"}, []string{"not resolved"}},
		{"bad accel", Options{Kernel: "k", Accel: "hvf"}, []string{`unknown accelerator "hvf"`}},
		{"negative cpus and tiny memory", Options{Kernel: "k", Accel: AccelTCG, CPUs: -1, MemoryMB: 16},
			[]string{"CPUs -1", "memory 16 MB"}},
		{"kernel arg with blank", Options{Kernel: "k", Accel: AccelTCG, KernelArgs: []string{"a b"}}, []string{`"a b"`}},
		{"kernel arg with quote", Options{Kernel: "k", Accel: AccelTCG, KernelArgs: []string{`x="y"`}}, []string{"without quotes"}},
		{"disk without path", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Disk{ID: "d"}}}, []string{`disk "d": no image path`}},
		{"disk bad id", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Disk{ID: "1x", Path: "p"}}}, []string{`disk id "1x"`}},
		{"disk long serial", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Disk{ID: "d", Path: "p", Serial: strings.Repeat("s", 21)}}}, []string{"at most 20 bytes"}},
		{"disk serial comma", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Disk{ID: "d", Path: "p", Serial: "a,b"}}}, []string{"without commas"}},
		{"net without port", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Net{}}}, []string{"host port 0 out of range"}},
		{"duplicate ids", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{Disk{ID: "net0", Path: "p"}, Net{HostPort: 1}}}, []string{`device id "net0" used twice`}},
		{"instructions on kvm", Options{Kernel: "k", Accel: AccelKVM, Clock: ClockInstructions}, []string{"needs TCG"}},
		{"clock auto not resolved", Options{Kernel: "k", Accel: AccelTCG, Clock: ClockAuto}, []string{"Clock.On"}},
		{"bad clock", Options{Kernel: "k", Accel: AccelTCG, Clock: "tsc"}, []string{`unknown clock "tsc"`}},
		{"instructions on 2 vCPUs", Options{Kernel: "k", Accel: AccelTCG, Clock: ClockInstructions, CPUs: 2}, []string{"needs one vCPU"}},
		{"nil device", Options{Kernel: "k", Accel: AccelTCG, Devices: []Device{nil}}, []string{"device 0 is nil"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.Cmdline()
			if err == nil {
				t.Fatal("Cmdline succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCmdlineQuoted(t *testing.T) {
	o := Options{Kernel: "/tmp/my kernel/bzImage", Accel: AccelTCG, KernelArgs: []string{"x=$HOME;a&b"},
		Devices: []Device{Net{HostPort: 2222}}}
	got, err := o.CmdlineQuoted()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"qemu-system-x86_64 -nodefaults ",
		` -kernel '/tmp/my kernel/bzImage' `,
		` -append 'console=ttyS0 panic=-1 unknown_nmi_panic panic_print=0x40 x=$HOME;a&b' `,
		` user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22 `,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CmdlineQuoted() = %s\nlacks %s", got, want)
		}
	}
	// A shell must split it back into exactly Cmdline's words.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words, _ := o.Cmdline()
	out, err := exec.Command(sh, "-c", "printf '%s\\n' "+strings.TrimPrefix(got, "qemu-system-x86_64 ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if back := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !reflect.DeepEqual(back, words[1:]) {
		t.Errorf("shell split the quoted line into\n%q\nwant\n%q", back, words[1:])
	}
}

func TestParseAccel(t *testing.T) {
	for _, s := range []string{"auto", "kvm", "tcg"} {
		if a, err := ParseAccel(s); err != nil || string(a) != s {
			t.Errorf("ParseAccel(%q) = %q, %v", s, a, err)
		}
	}
	if _, err := ParseAccel("KVM"); err == nil {
		t.Error("ParseAccel(KVM) succeeded")
	}
}

func TestCreateSparseImage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.img")
	if err := CreateSparseImage(p, 1<<30); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 1<<30 {
		t.Errorf("size %d, want 1 GiB", st.Size())
	}
	if err := CreateSparseImage(p, 1<<20); err == nil {
		t.Error("CreateSparseImage over an existing file succeeded")
	}
	if err := CreateSparseImage(filepath.Join(dir, "z.img"), 0); err == nil {
		t.Error("CreateSparseImage of size 0 succeeded")
	}
}
