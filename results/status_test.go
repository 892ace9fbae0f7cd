package results

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestTestID(t *testing.T) {
	tests := []struct {
		in   string
		want TestID
		bad  bool
	}{
		{"baseline/ext4/eof", TestID{"baseline", "ext4", "eof"}, false},
		{"patched/raw/bench-io_uring", TestID{"patched", "raw", "bench-io_uring"}, false},
		{"a/b/c/d", TestID{"a", "b", "c/d"}, false}, // the test name keeps the rest
		{"a/b", TestID{}, true},
		{"a//c", TestID{}, true},
		{"", TestID{}, true},
	}
	for _, tc := range tests {
		got, err := ParseTestID(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseTestID(%q) = %v, %v", tc.in, got, err)
		}
		if !tc.bad && got.String() != tc.in {
			t.Errorf("%q round-trips to %q", tc.in, got)
		}
	}
	// JSON keeps the "variant/target/test" strings of schema v1.
	b, err := json.Marshal([]TestID{{"baseline", "ext4", "eof"}})
	if err != nil || string(b) != `["baseline/ext4/eof"]` {
		t.Errorf("marshal: %s, %v", b, err)
	}
	var back []TestID
	if err := json.Unmarshal(b, &back); err != nil || back[0] != (TestID{"baseline", "ext4", "eof"}) {
		t.Errorf("unmarshal: %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`["nope"]`), &back); err == nil {
		t.Error("a bad id unmarshalled")
	}
}

func TestTestStatusFailing(t *testing.T) {
	for s, want := range map[TestStatus]bool{TestPass: false, TestSkip: false, TestFail: true, TestHung: true, "weird": true} {
		if s.Failing() != want {
			t.Errorf("%q.Failing() = %v", s, !want)
		}
	}
}

// TestConfirmFailures is the nightly re-run policy: a new failure that
// passes when re-run is flaky and not counted; one that fails again, or
// that the re-run did not run, stays.
func TestConfirmFailures(t *testing.T) {
	ids := []TestID{{"patched", "ext4", "eof"}, {"patched", "ext4", "truncate-race"}, {"patched", "xfs", "eof"}}
	rerun := fixtureRun(1)
	setTest(rerun, "patched", "ext4", "eof", "pass", "")
	setTest(rerun, "patched", "ext4", "truncate-race", "hung", "again")
	rerun.Variant("patched").Targets = slices.DeleteFunc(rerun.Variant("patched").Targets, func(t *Target) bool { return t.Name == "xfs" })

	c := &Comparison{NewFailures: slices.Clone(ids)}
	var asked []TestID
	err := c.ConfirmFailures(func(only []TestID) (*Run, error) {
		asked = only
		return rerun, nil
	})
	if err != nil || !slices.Equal(asked, ids) {
		t.Fatalf("re-run asked for %v, err %v", asked, err)
	}
	if !slices.Equal(c.NewFailures, ids[1:]) || !slices.Equal(c.Flaky, ids[:1]) {
		t.Errorf("new failures %v, flaky %v", c.NewFailures, c.Flaky)
	}

	// A re-run that produced nothing keeps every failure and says why.
	c = &Comparison{NewFailures: slices.Clone(ids)}
	boom := errors.New("boot failed")
	if err := c.ConfirmFailures(func([]TestID) (*Run, error) { return nil, boom }); !errors.Is(err, boom) || len(c.NewFailures) != 3 {
		t.Errorf("failed re-run: %v, %v", err, c.NewFailures)
	}
	// Nothing to confirm: no re-run.
	c = &Comparison{}
	if err := c.ConfirmFailures(func([]TestID) (*Run, error) { t.Error("re-ran nothing"); return nil, nil }); err != nil {
		t.Error(err)
	}
}
