package series

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReplyHeaders checks what a reply to a series needs from the
// message it answers: ids, the subject as sent, author and recipients.
func TestReplyHeaders(t *testing.T) {
	r := newRepo(t)
	mbox := r.git("format-patch", "--stdout", "--thread", "--cover-letter",
		"--to=Linux FS <linux-fsdevel@vger.kernel.org>", "--cc=io-uring@vger.kernel.org", "--cc=Jörg Rödel <joro@8bytes.org>",
		r.base+"..HEAD")
	ids := regexp.MustCompile(`(?m)^Message-Id: <([^>]+)>`).FindAllStringSubmatch(mbox, -1)
	if len(ids) != 6 {
		t.Fatalf("%d Message-Ids in format-patch output", len(ids))
	}
	threaded := filepath.Join(t.TempDir(), "thread.mbox")
	writeFile(t, threaded, mbox)

	tests := []struct {
		name, path          string
		msgID, subject      string
		author              string
		to, cc, patch1Cc    []string
		patch1InReplyTo     string
		patch1ReferencesEnd string
	}{
		{
			name: "format-patch thread", path: threaded,
			msgID: ids[0][1], subject: "[PATCH 0/5] *** SUBJECT HERE ***", author: "Jens Axboe <axboe@kernel.dk>",
			to:              []string{"Linux FS <linux-fsdevel@vger.kernel.org>"},
			cc:              []string{"io-uring@vger.kernel.org", "Jörg Rödel <joro@8bytes.org>"},
			patch1Cc:        []string{"io-uring@vger.kernel.org", "Jörg Rödel <joro@8bytes.org>"},
			patch1InReplyTo: ids[0][1], patch1ReferencesEnd: ids[0][1],
		},
		{
			// Lore shows "io-uring" and "Jens Axboe": the addresses come
			// from other messages of the same thread.
			name: "lore dump", path: "../testdata/seeds/002_001cfc21aac17572.txt",
			subject: "[PATCHSET v2 0/12] Add support for async buffered reads", author: "Jens Axboe <axboe@kernel.dk>",
			to:       []string{"io-uring@vger.kernel.org"},
			cc:       []string{"linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org", "linux-mm@kvack.org"},
			patch1Cc: []string{"linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org", "linux-mm@kvack.org", "Jens Axboe <axboe@kernel.dk>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			root := s.Root()
			if root != s.Cover {
				t.Fatalf("Root is not the cover letter")
			}
			if root.MessageID != tc.msgID || root.RawSubject != tc.subject || root.Author != tc.author {
				t.Errorf("root: id %q subject %q author %q; want %q %q %q", root.MessageID, root.RawSubject, root.Author, tc.msgID, tc.subject, tc.author)
			}
			if !slices.Equal(root.To, tc.to) || !slices.Equal(root.Cc, tc.cc) {
				t.Errorf("root: To %q Cc %q; want %q %q", root.To, root.Cc, tc.to, tc.cc)
			}
			p1 := s.Patches[0]
			if !slices.Equal(p1.Cc, tc.patch1Cc) || p1.InReplyTo != tc.patch1InReplyTo {
				t.Errorf("patch 1: Cc %q In-Reply-To %q; want %q %q", p1.Cc, p1.InReplyTo, tc.patch1Cc, tc.patch1InReplyTo)
			}
			if n := len(p1.References); tc.patch1ReferencesEnd != "" && (n == 0 || p1.References[n-1] != tc.patch1ReferencesEnd) {
				t.Errorf("patch 1: References %q, want them to end with %q", p1.References, tc.patch1ReferencesEnd)
			}
		})
	}
}

// TestLoreRecipients reads the To/Cc block of lore thread dumps: one
// line with "; +Cc:", or To and Cc lines continued after a comma.
func TestLoreRecipients(t *testing.T) {
	name, data := readSeed(t, "002")
	msgs, _, err := readMessages(name, data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		author string
		to, cc []string
	}{
		{"Chris Panayis", []string{"Jens Axboe", "io-uring"}, []string{"linux-fsdevel", "linux-kernel", "linux-mm"}},
		{"Trond Myklebust", []string{"axboe@kernel.dk", "io-uring@vger.kernel.org"},
			[]string{"linux-mm@kvack.org", "linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org"}},
	}
	for _, tc := range tests {
		t.Run(tc.author, func(t *testing.T) {
			i := slices.IndexFunc(msgs, func(m *message) bool { return strings.HasPrefix(m.author, tc.author) })
			if i < 0 {
				t.Fatalf("no message from %s", tc.author)
			}
			if m := msgs[i]; !slices.Equal(m.to, tc.to) || !slices.Equal(m.cc, tc.cc) {
				t.Errorf("To %q Cc %q; want %q %q", m.to, m.cc, tc.to, tc.cc)
			}
		})
	}
}
