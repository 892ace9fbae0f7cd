package vm

import (
	"strings"
	"testing"
)

func TestClockOn(t *testing.T) {
	for _, tc := range []struct {
		want    Clock
		accel   Accel
		got     Clock
		errPart string
	}{
		{ClockAuto, AccelTCG, ClockInstructions, ""},
		{ClockAuto, AccelKVM, ClockHost, ""},
		{"", AccelTCG, ClockHost, ""},
		{ClockHost, AccelTCG, ClockHost, ""},
		{ClockHost, AccelKVM, ClockHost, ""},
		{ClockInstructions, AccelTCG, ClockInstructions, ""},
		{ClockInstructions, AccelKVM, "", "needs TCG"},
		{"tsc", AccelTCG, "", `unknown clock "tsc"`},
	} {
		got, err := tc.want.On(tc.accel)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%q.On(%s) = %q, %v; want an error mentioning %q", tc.want, tc.accel, got, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.got {
			t.Errorf("%q.On(%s) = %q, %v; want %q", tc.want, tc.accel, got, err, tc.got)
		}
	}
}

// TestClockOnCPUs: icount stalls a multi-CPU guest at SMP bring-up, so
// with more than one vCPU auto is the host's clock and instructions is
// refused.
func TestClockOnCPUs(t *testing.T) {
	for _, tc := range []struct {
		want Clock
		cpus int
		got  Clock
		err  bool
	}{
		{ClockAuto, 1, ClockAuto, false},
		{ClockAuto, 2, ClockHost, false},
		{ClockInstructions, 1, ClockInstructions, false},
		{ClockInstructions, 2, "", true},
		{ClockHost, 4, ClockHost, false},
	} {
		got, err := tc.want.OnCPUs(tc.cpus)
		if (err != nil) != tc.err || got != tc.got {
			t.Errorf("%q.OnCPUs(%d) = %q, %v; want %q (error %v)", tc.want, tc.cpus, got, err, tc.got, tc.err)
		}
	}
}

func TestParseClock(t *testing.T) {
	for _, c := range Clocks {
		if got, err := ParseClock(string(c)); err != nil || got != c {
			t.Errorf("ParseClock(%q) = %q, %v", c, got, err)
		}
	}
	if _, err := ParseClock("icount"); err == nil || !strings.Contains(err.Error(), "want auto, host or instructions") {
		t.Errorf("ParseClock(icount) error = %v", err)
	}
}
