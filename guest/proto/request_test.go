package proto

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadtestRequestArgs(t *testing.T) {
	tests := []struct {
		name string
		req  ReadtestRequest
		want string
	}{
		{"the host's first boot", ReadtestRequest{Target: TargetXFS, Serial: "ktest-xfs", Mode: ModeAll, Size: 16 << 20, Repeats: 1, TestTimeout: 90 * time.Second},
			"--target xfs --serial ktest-xfs --mode all --size 16M --repeats 1 --timeout-per-test 1m30s"},
		{"a benchmark boot", ReadtestRequest{Target: TargetRaw, Serial: "ktest-raw", Mode: ModeBench, Size: 16 << 20, Repeats: 3, TestTimeout: time.Minute, Reuse: true},
			"--target raw --serial ktest-raw --mode bench --size 16M --repeats 3 --timeout-per-test 1m0s --reuse"},
		{"an adaptive boot", ReadtestRequest{Target: TargetExt4, Serial: "ktest-ext4", Mode: ModeBench, Size: 24 << 20, Repeats: 1, Engines: []Engine{EnginePsync, EngineIOUring}, Reuse: true},
			"--target ext4 --serial ktest-ext4 --mode bench --size 24M --repeats 1 --engines psync,io_uring --reuse"},
		{"a re-run of two tests for an old kernel", ReadtestRequest{Target: TargetBtrfs, Serial: "ktest-btrfs", Mode: ModeCorrectness, MkfsFor: "5.4", Only: []string{"truncate-race", "eof"}},
			"--target btrfs --serial ktest-btrfs --mode correctness --mkfs-for 5.4 --only truncate-race,eof"},
		{"every field", ReadtestRequest{Target: TargetExt4, Device: "/dev/vdb", Mode: ModeAll, Size: 1234567, Repeats: 2, TestTimeout: time.Second,
			MkfsProfile: "ext4/3.18", Only: []string{"eof"}, Seed: 77, RunTimeout: time.Hour, Fio: "/usr/bin/fio", Mnt: "/tmp/m b",
			KeepCaches: true, KeepMounted: true, Reads: 256},
			"--target ext4 --dev /dev/vdb --mode all --size 1234567 --repeats 2 --timeout-per-test 1s --mkfs-profile ext4/3.18 --only eof --seed 77 " +
				"--timeout-per-run 1h0m0s --fio /usr/bin/fio --mnt /tmp/m b --drop-caches=false --keep-mounted --reads 256"},
		{"only what is needed", ReadtestRequest{Target: TargetRaw, Device: "/dev/vdc"}, "--target raw --dev /dev/vdc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.req.Args()
			if got := strings.Join(args, " "); got != tc.want {
				t.Errorf("Args:\ngot  %s\nwant %s", got, tc.want)
			}
			back, err := ParseReadtestArgs(args, io.Discard)
			if err != nil {
				t.Fatalf("ParseReadtestArgs(%q): %v", args, err)
			}
			if !reflect.DeepEqual(back, tc.req) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", back, tc.req)
			}
		})
	}
}

func TestParseReadtestArgsErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   string
		errHas string
	}{
		{"no target", "--dev /dev/vdb", "--target"},
		{"unknown fs", "--fs ntfs --dev /dev/vdb", `unknown target "ntfs"`},
		{"no dev", "--fs ext4", "give one of --dev and --serial"},
		{"dev and serial", "--target ext4 --dev x --serial s", "give one of --dev and --serial"},
		{"both mkfs flags", "--target xfs --dev x --mkfs-profile xfs/lts_5.4 --mkfs-for 5.4", "at most one"},
		{"bad mode", "--target raw --dev x --mode fast", "--mode"},
		{"reuse without bench", "--target raw --dev x --reuse", "--reuse is for --mode bench"},
		{"bad size", "--target raw --dev x --size lots", "--size"},
		{"tiny size", "--target raw --dev x --size 4K", "at least 64K"},
		{"zero repeats", "--target raw --dev x --repeats 0", "--repeats 0: must be positive"},
		{"negative reads", "--target raw --dev x --reads -1", "--reads -1: must be positive"},
		{"zero timeout", "--target raw --dev x --timeout-per-test 0s", "--timeout-per-test 0s: must be positive"},
		{"unknown test", "--target raw --dev x --only eof,nope", `unknown test "nope"`},
		{"unknown engine", "--target raw --dev x --engines psync,aio", `unknown engine "aio"`},
		{"engine twice", "--target raw --dev x --engines io_uring,io_uring", "io_uring named twice"},
		{"engines without a benchmark", "--target raw --dev x --mode correctness --engines psync", "--engines is for the benchmark"},
		{"extra args", "--target raw --dev x more", "unexpected"},
		{"unknown flag", "--bogus", "bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var usage strings.Builder
			_, err := ParseReadtestArgs(strings.Fields(tc.args), &usage)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %v, want one containing %q", err, tc.errHas)
			}
		})
	}
	var usage strings.Builder
	if _, err := ParseReadtestArgs([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) || !strings.Contains(usage.String(), "ext4|xfs|btrfs|raw") {
		t.Errorf("-h: %v, usage %q", err, usage.String())
	}
}

// TestWithDefaults pins the defaults a bare request runs with, and
// that they are themselves a valid request.
func TestWithDefaults(t *testing.T) {
	got := ReadtestRequest{Target: TargetRaw, Device: "/dev/vdb"}.WithDefaults()
	want := ReadtestRequest{Target: TargetRaw, Device: "/dev/vdb", Mode: ModeAll, Size: 64 << 20, Repeats: 3,
		TestTimeout: time.Minute, RunTimeout: 10 * time.Minute, Fio: "fio", Mnt: "/mnt", Reads: 4096}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	if again := got.WithDefaults(); !reflect.DeepEqual(again, got) {
		t.Errorf("defaults twice: %+v", again)
	}
}

// FuzzReadtestRequest checks that every valid request survives the
// command line: ParseReadtestArgs(r.Args()) == r.
func FuzzReadtestRequest(f *testing.F) {
	f.Add("ext4", "", "ktest-ext4", "all", int64(16<<20), 1, int64(90*time.Second), false, "", "", "eof,preadv", uint64(0), "", false, 0)
	f.Add("raw", "/dev/vdb", "", "bench", int64(0), 3, int64(0), true, "", "", "", uint64(77), "/mnt x", true, 4096)
	f.Add("xfs", "", "s", "correctness", int64(1<<30+5), 0, int64(time.Millisecond), false, "5.4", "", "", uint64(1<<63), "", false, 1)
	f.Fuzz(func(t *testing.T, target, dev, serial, mode string, size int64, repeats int, timeout int64, reuse bool,
		mkfsFor, mkfsProfile, only string, seed uint64, mnt string, keep bool, reads int) {
		r := ReadtestRequest{
			Target: Target(target), Device: dev, Serial: serial, Mode: Mode(mode), Size: size, Repeats: repeats,
			TestTimeout: time.Duration(timeout), Reuse: reuse, MkfsFor: mkfsFor, MkfsProfile: mkfsProfile,
			Seed: seed, Mnt: mnt, KeepCaches: keep, KeepMounted: keep, Reads: reads,
		}
		if only != "" {
			r.Only = strings.Split(only, ",")
		}
		if r.Validate() != nil {
			return
		}
		back, err := ParseReadtestArgs(r.Args(), io.Discard)
		if err != nil {
			t.Fatalf("%+v: Args %q do not parse: %v", r, r.Args(), err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip of %q:\ngot  %+v\nwant %+v", r.Args(), back, r)
		}
	})
}
