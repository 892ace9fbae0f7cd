package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// TestReportIdentity runs `ktest report` where git knows nobody (no
// global or system config), then with an identity from --from or from
// the current repository's git config.
func TestReportIdentity(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Chdir(home)

	dir := t.TempDir()
	r := cliRun("reply", []float64{4210, 4300, 4390}, "pass")
	// A lore dump: no Message-Id to thread the reply under.
	r.Series = &results.Series{Title: "Add support for async buffered reads", Source: "002.txt",
		ReplyTo: &results.ReplyTo{Subject: "[PATCHSET v2 0/12] Add support for async buffered reads",
			From: "Jens Axboe <axboe@kernel.dk>", To: []string{"io-uring@vger.kernel.org"}}}
	withSeries := writeRun(t, dir, "series.json", r)
	noSeries := writeRun(t, dir, "plain.json", cliRun("plain", []float64{4210, 4300, 4390}, "pass"))

	tests := []struct {
		name       string
		repoConfig bool // git config user.* in the current directory's repository
		args       []string
		code       int
		stdout     []string
		stderr     []string
	}{
		{name: "mbox without identity", args: []string{withSeries, "--format", "mbox"}, code: ExitUsage,
			stderr: []string{`pass --from "Name <you@example.org>" or set git config user.name and user.email`}},
		{name: "email without identity says so", args: []string{withSeries, "--format", "email"},
			stdout: []string{"\n" + report.NoIdentitySignature + "\nktest run --plan default\n"}},
		{name: "--from", args: []string{withSeries, "--format", "mbox", "--from", "Jane Doe <jane@example.org>"},
			stdout: []string{"\nFrom: \"Jane Doe\" <jane@example.org>\n", "\nTo: \"Jens Axboe\" <axboe@kernel.dk>\n",
				"\nSubject: Re: [PATCHSET v2 0/12] Add support for async buffered reads\n", "\nTested-by: Jane Doe <jane@example.org>\n"},
			stderr: []string{"has no Message-Id: the reply has no In-Reply-To or References"}},
		{name: "bad --from", args: []string{withSeries, "--format", "md", "--from", "jane"}, code: ExitUsage,
			stderr: []string{"--from: identity \"jane\""}},
		{name: "git config of the current repository", repoConfig: true, args: []string{withSeries, "--format", "mbox"},
			stdout: []string{"\nFrom: \"Repo User\" <repo.user@example.org>\n", "\nTested-by: Repo User <repo.user@example.org>\n"}},
		{name: "mbox of a run without a series", args: []string{noSeries, "--format", "mbox", "--from", "jane@example.org"}, code: ExitUsage,
			stderr: []string{"no series message to reply to"}},
		{name: "kcidb with an origin", args: []string{noSeries, "--format", "kcidb", "--origin", "my_ci"},
			stdout: []string{`"id": "my_ci:plain.`, `"origin": "my_ci"`, `"path": "ktest.bench.ext4.io_uring.wall_ms"`}},
		{name: "kcidb origin KCIDB refuses", args: []string{noSeries, "--format", "kcidb", "--origin", "My-CI"}, code: ExitUsage,
			stderr: []string{"--origin: origin \"My-CI\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.repoConfig {
				repo := t.TempDir()
				t.Chdir(repo)
				for _, args := range [][]string{{"init", "-q"}, {"config", "user.name", "Repo User"}, {"config", "user.email", "repo.user@example.org"}} {
					if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
						t.Fatalf("git %v: %v\n%s", args, err, out)
					}
				}
			}
			code, stdout, stderr := runCLI(t, append([]string{"report"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout[:min(len(stdout), 1200)])
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, "localhost") {
				t.Errorf("a made-up address in the output")
			}
		})
	}
}
