package report

import (
	"strings"
	"testing"
)

// TestEmailShowsWhatMarkdownShows: both read the series line, its
// warnings and its notes from the one outline, so a reply carries what
// the summary does.
func TestEmailShowsWhatMarkdownShows(t *testing.T) {
	r := fixtureRun(3)
	r.Series.Warnings = []string{"patch 2/3 has no Signed-off-by"}
	r.Series.Notes = []string{"base v6.1 is a guess"}
	md := render(t, Renderer{}, r, "md")
	email := strings.Join(strings.Fields(render(t, Renderer{}, r, "email")), " ")
	for _, want := range []struct{ md, email string }{
		{"from `002_001cfc21aac17572.txt`", "from 002_001cfc21aac17572.txt"},
		{"**Warning:** patch 2/3 has no Signed-off-by", "Warning: patch 2/3 has no Signed-off-by"},
		{"**Note:** base v6.1 is a guess", "Note: base v6.1 is a guess"},
	} {
		if !strings.Contains(md, want.md) {
			t.Errorf("md lacks %q", want.md)
		}
		if !strings.Contains(email, want.email) {
			t.Errorf("email lacks %q", want.email)
		}
	}
}

// TestWorkload: the benchmark's description names the file size, the fio
// the guests ran and what a time under the instruction clock is, each
// only when the run recorded it.
func TestWorkload(t *testing.T) {
	for _, tc := range []struct {
		pair benchPair
		want string
	}{
		{benchPair{}, "Random 4 KiB reads at QD32, cold cache."},
		{benchPair{FileSize: "24M", Tool: "fio-3.33, static"}, "Random 4 KiB reads at QD32, cold cache, 24M file; fio-3.33, static."},
		{benchPair{FileSize: "24M", Clock: "instructions"}, "Random 4 KiB reads at QD32, cold cache, 24M file. " + instructionClock},
		{benchPair{Clock: "host"}, "Random 4 KiB reads at QD32, cold cache."},
	} {
		if got := tc.pair.workload(); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.pair, got, tc.want)
		}
	}
}
