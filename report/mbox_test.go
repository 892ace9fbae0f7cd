package report

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// readReply renders the fixture as an mbox reply and reads it back.
func readReply(t *testing.T, rd Renderer, r *results.Run) (raw string, msg *mail.Message, body string) {
	t.Helper()
	raw = render(t, rd, r, "mbox")
	_, text, _ := strings.Cut(raw, "\n") // the mbox separator
	msg, err := mail.ReadMessage(strings.NewReader(text))
	if err != nil {
		t.Fatalf("net/mail cannot read the reply: %v\n%s", err, raw)
	}
	b, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw, msg, string(b)
}

func addrs(t *testing.T, h mail.Header, key string) []string {
	t.Helper()
	if h.Get(key) == "" {
		return nil
	}
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

func TestMboxReply(t *testing.T) {
	lists := []string{"io-uring@vger.kernel.org", "linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org", "linux-mm@kvack.org"}
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("Reviewer Number %d <reviewer.number.%d@example.org>", i+1, i+1)
	}
	tests := []struct {
		name                     string
		from                     *mail.Address
		mutate                   func(*results.ReplyTo)
		subject, inReplyTo, refs string
		to, cc                   []string
		notes                    []string // body lines before the report
	}{
		{
			name: "cover letter", from: testIdentity,
			subject:   "Re: [PATCHSET v2 0/3] Add support for async buffered reads",
			inReplyTo: "<20200523185755.8494-1-axboe@kernel.dk>", refs: "<20200523185755.8494-1-axboe@kernel.dk>",
			to: []string{"axboe@kernel.dk"}, cc: lists,
		},
		{
			name: "a v2 sent in reply to v1 keeps the chain", from: testIdentity,
			mutate:    func(rt *results.ReplyTo) { rt.References = []string{"v1-cover@kernel.dk", "v1-reply@example.org"} },
			subject:   "Re: [PATCHSET v2 0/3] Add support for async buffered reads",
			inReplyTo: "<20200523185755.8494-1-axboe@kernel.dk>", refs: "<v1-cover@kernel.dk> <v1-reply@example.org> <20200523185755.8494-1-axboe@kernel.dk>",
			to: []string{"axboe@kernel.dk"}, cc: lists,
		},
		{
			// Testing one's own series: nobody is sent a copy of their
			// own mail, the lists get it.
			name: "the sender is the author", from: &mail.Address{Name: "Jens Axboe", Address: "Axboe@kernel.dk"},
			subject:   "Re: [PATCHSET v2 0/3] Add support for async buffered reads",
			inReplyTo: "<20200523185755.8494-1-axboe@kernel.dk>", refs: "<20200523185755.8494-1-axboe@kernel.dk>",
			to: lists[:1], cc: lists[1:],
		},
		{
			name: "no ids, names without addresses", from: testIdentity,
			mutate: func(rt *results.ReplyTo) {
				rt.MessageID, rt.From, rt.To, rt.Cc = "", "Jens Axboe", []string{"io-uring"}, []string{"linux-mm@kvack.org", "io-uring"}
			},
			subject: "Re: [PATCHSET v2 0/3] Add support for async buffered reads",
			cc:      []string{"linux-mm@kvack.org"},
			notes: []string{
				"[ktest: this reply cannot be threaded: the series source has no",
				"Message-Id (lore thread dumps and pasted commits keep none). Add",
				"In-Reply-To by hand, or reply from the archive.]",
				"[ktest: no address known for Jens Axboe, io-uring; add them by hand.]",
				"[ktest: the answered message names nobody to reply to; add To by hand.]",
			},
		},
		{
			name: "Re: once, non-ASCII subject, many Cc", from: testIdentity,
			mutate:    func(rt *results.ReplyTo) { rt.Subject, rt.Cc = "RE: re: [PATCH] iommu: Jörg's tidy-up", many },
			subject:   "Re: [PATCH] iommu: Jörg's tidy-up",
			inReplyTo: "<20200523185755.8494-1-axboe@kernel.dk>", refs: "<20200523185755.8494-1-axboe@kernel.dk>",
			to: []string{"axboe@kernel.dk"},
			cc: append(lists[:1:1], func() (out []string) {
				for i := range many {
					out = append(out, fmt.Sprintf("reviewer.number.%d@example.org", i+1))
				}
				return out
			}()...),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			if tc.mutate != nil {
				tc.mutate(r.Series.ReplyTo)
			}
			raw, msg, body := readReply(t, Renderer{From: tc.from}, r)
			h := msg.Header
			subject, err := new(mail.AddressParser).WordDecoder.DecodeHeader(h.Get("Subject"))
			if err != nil || subject != tc.subject || h.Get("In-Reply-To") != tc.inReplyTo || h.Get("References") != tc.refs {
				t.Errorf("Subject %q (%v) In-Reply-To %q References %q; want %q %q %q", subject, err, h.Get("In-Reply-To"), h.Get("References"), tc.subject, tc.inReplyTo, tc.refs)
			}
			if got := addrs(t, h, "To"); !slices.Equal(got, tc.to) {
				t.Errorf("To %q, want %q", got, tc.to)
			}
			if got := addrs(t, h, "Cc"); !slices.Equal(got, tc.cc) {
				t.Errorf("Cc %q, want %q", got, tc.cc)
			}
			if got := addrs(t, h, "From"); !slices.Equal(got, []string{tc.from.Address}) {
				t.Errorf("From %q", got)
			}
			header, _, _ := strings.Cut(raw, "\n\n")
			for _, l := range strings.Split(header, "\n") {
				if len(l) > 78 || strings.ContainsFunc(l, func(r rune) bool { return r > 0x7e }) {
					t.Errorf("header line not 7-bit or of %d columns: %q", len(l), l)
				}
			}
			// The body is the notes, then the email rendering.
			want := strings.Join(tc.notes, "\n")
			if want != "" {
				want += "\n\n"
			}
			if want += render(t, Renderer{From: tc.from}, r, "email") + "\n"; body != want {
				t.Errorf("body starts:\n%s\nwant:\n%s", body[:min(len(body), 400)], want[:min(len(want), 400)])
			}
		})
	}
}

func TestMboxRefuses(t *testing.T) {
	tests := []struct {
		name   string
		from   *mail.Address
		mutate func(*results.Run)
		want   error
	}{
		{"no identity", nil, nil, ErrNoIdentity},
		{"no series", testIdentity, func(r *results.Run) { r.Series = nil }, ErrNoMessage},
		{"a plain diff: no message", testIdentity, func(r *results.Run) { r.Series.ReplyTo = nil }, ErrNoMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(1)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			var b strings.Builder
			if err := (Renderer{From: tc.from}).Render(&b, r, "mbox"); !errors.Is(err, tc.want) || b.Len() != 0 {
				t.Errorf("Render = %v with %d bytes, want %v and nothing written", err, b.Len(), tc.want)
			}
		})
	}
}

// TestMboxEscapesFrom checks mboxrd quoting: a body line reading as a
// message separator gets a ">".
func TestMboxEscapesFrom(t *testing.T) {
	r := fixtureRun(1)
	// "Warning: " and 60 characters fill the line: "From here" wraps
	// to the start of the next.
	r.Series.Warnings = []string{strings.Repeat("x", 60) + " From here on patch 3 is missing"}
	raw := render(t, Renderer{From: testIdentity}, r, "mbox")
	if !strings.Contains(raw, "\n>From here on patch 3") || strings.Contains(raw, "\nFrom here") {
		t.Errorf("a body line starting with From is not escaped:\n%s", raw[:min(len(raw), 1500)])
	}
}
