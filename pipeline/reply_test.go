package pipeline

import (
	"bytes"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
)

// git runs git in dir with no user or system config, as a fixed author.
func git(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Jens Axboe", "GIT_AUTHOR_EMAIL=axboe@kernel.dk",
		"GIT_COMMITTER_NAME=Jens Axboe", "GIT_COMMITTER_EMAIL=axboe@kernel.dk")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// threadedMbox makes a three-patch series with a cover letter in a
// scratch repository and returns `git format-patch --thread` output.
func threadedMbox(t *testing.T) string {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, nil, "init", "-q", "-b", "master")
	file := filepath.Join(dir, "mm", "filemap.c")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	text := "int filemap(void)\n{\n\treturn 0;\n}\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, nil, "add", "-A")
	git(t, dir, nil, "commit", "-q", "-m", "base")
	for _, subject := range []string{"mm: allow read-ahead with IOCB_NOWAIT set", "mm: add support for async page locking", "io_uring: support true async buffered reads"} {
		text = strings.Replace(text, "\treturn 0;\n", "\tstep();\n\treturn 0;\n", 1)
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, nil, "commit", "-q", "-a", "-m", subject+"\n\nSigned-off-by: Jens Axboe <axboe@kernel.dk>")
	}
	return git(t, dir, nil, "format-patch", "--stdout", "--thread", "--cover-letter",
		"--to=io-uring@vger.kernel.org", "--cc=linux-fsdevel@vger.kernel.org", "--cc=Matthew Wilcox <willy@infradead.org>", "HEAD~3")
}

// TestReplyMbox renders `ktest report --format mbox` for a series read
// from a threaded mbox and from a lore thread dump, and reads the reply
// back with net/mail and git mailinfo.
func TestReplyMbox(t *testing.T) {
	mbox := threadedMbox(t)
	coverID := regexp.MustCompile(`(?m)^Message-Id: <([^>]+)>`).FindStringSubmatch(mbox)[1]
	threaded := filepath.Join(t.TempDir(), "series.mbox")
	if err := os.WriteFile(threaded, []byte(mbox), 0o644); err != nil {
		t.Fatal(err)
	}

	me := &mail.Address{Name: "Jane Reviewer", Address: "jane@example.org"}
	tests := []struct {
		name, source, subject string
		inReplyTo, references string
		to                    []string
		cc                    []string
		unthreaded            bool
	}{
		{
			name: "format-patch thread", source: threaded, subject: "Re: [PATCH 0/3] *** SUBJECT HERE ***",
			inReplyTo: "<" + coverID + ">", references: "<" + coverID + ">",
			to: []string{"axboe@kernel.dk"}, cc: []string{"io-uring@vger.kernel.org", "linux-fsdevel@vger.kernel.org", "willy@infradead.org"},
		},
		{
			// A lore dump keeps no Message-Id: the reply is addressed
			// but cannot be threaded, and says so.
			name: "lore dump", source: "../testdata/seeds/002_001cfc21aac17572.txt",
			subject:    "Re: [PATCHSET v2 0/12] Add support for async buffered reads",
			to:         []string{"axboe@kernel.dk"},
			cc:         []string{"io-uring@vger.kernel.org", "linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org", "linux-mm@kvack.org"},
			unthreaded: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := series.Load(tc.source)
			if err != nil {
				t.Fatal(err)
			}
			run, err := results.Load("../results/testdata/run-quick1.results.json")
			if err != nil {
				t.Fatal(err)
			}
			run.Series = seriesRecord(s, tc.source, false, true)
			var out bytes.Buffer
			if err := (report.Renderer{From: me}).Render(&out, run, "mbox"); err != nil {
				t.Fatal(err)
			}
			sep, msgText, _ := strings.Cut(out.String(), "\n")
			if !regexp.MustCompile(`^From jane@example\.org \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`).MatchString(sep) {
				t.Errorf("mbox separator %q", sep)
			}
			msg, err := mail.ReadMessage(strings.NewReader(msgText))
			if err != nil {
				t.Fatalf("net/mail cannot read the reply: %v\n%s", err, msgText)
			}
			h := msg.Header
			if h.Get("Subject") != tc.subject || h.Get("In-Reply-To") != tc.inReplyTo || h.Get("References") != tc.references {
				t.Errorf("Subject %q In-Reply-To %q References %q; want %q %q %q",
					h.Get("Subject"), h.Get("In-Reply-To"), h.Get("References"), tc.subject, tc.inReplyTo, tc.references)
			}
			if got := addresses(t, h, "To"); !slices.Equal(got, tc.to) {
				t.Errorf("To %q, want %q", got, tc.to)
			}
			if got := addresses(t, h, "Cc"); !slices.Equal(got, tc.cc) {
				t.Errorf("Cc %q, want %q", got, tc.cc)
			}
			if from := addresses(t, h, "From"); !slices.Equal(from, []string{"jane@example.org"}) {
				t.Errorf("From %q", from)
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if id := h.Get("Message-Id"); !regexp.MustCompile(`^<\d{14}\.[0-9a-f]{16}\.ktest@example\.org>$`).MatchString(id) {
				t.Errorf("Message-Id %q", id)
			}
			body := new(bytes.Buffer)
			if _, err := body.ReadFrom(msg.Body); err != nil {
				t.Fatal(err)
			}
			note := strings.HasPrefix(body.String(), "[ktest: this reply cannot be threaded")
			// A quick run (one boot a side) shows figures only: the
			// reply ends saying so, with no trailer, then the command.
			flat := strings.Join(strings.Fields(body.String()), " ")
			if note != tc.unthreaded || strings.Contains(flat, "Tested-by:") ||
				!strings.HasSuffix(flat, "No Tested-by from this run: figures only: 1 boot per side, no change can be called (3 needed). ktest run --quick") {
				t.Errorf("body (cannot-thread note %v, want %v):\n%s", note, tc.unthreaded, body)
			}

			// git am's parser takes it as a mail from the reviewer.
			dir := t.TempDir()
			info := git(t, dir, out.Bytes(), "mailinfo", filepath.Join(dir, "msg"), filepath.Join(dir, "patch"))
			wantSubject := strings.TrimPrefix(tc.subject[strings.Index(tc.subject, "]")+1:], " ")
			for _, want := range []string{"Author: Jane Reviewer\n", "Email: jane@example.org\n", "Subject: " + wantSubject + "\n"} {
				if !strings.Contains(info, want) {
					t.Errorf("git mailinfo output lacks %q:\n%s", want, info)
				}
			}
		})
	}
}

// addresses reads an address-list header, giving the bare addresses.
func addresses(t *testing.T, h mail.Header, key string) []string {
	t.Helper()
	list, err := h.AddressList(key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}
