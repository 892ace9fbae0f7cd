package report

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// ErrNoIdentity is returned for an mbox reply without Renderer.From:
// ktest does not send mail under a made-up address.
var ErrNoIdentity = errors.New("no sender identity for the reply")

// ErrNoMessage is returned for an mbox reply to a run that records no
// series message to answer: no series, or one read from a plain diff,
// or a document written before ktest kept the message.
var ErrNoMessage = errors.New("the run records no series message to reply to")

// mbox writes the email rendering as a reply to the series' cover letter
// (or first patch): one message in an mbox, ready for git send-email or a
// mail client. Headers the answered message lacks are left out and the
// body starts with a note saying what to fill in by hand.
func (rd Renderer) mbox(w io.Writer, r *results.Run) error {
	if rd.From == nil {
		return ErrNoIdentity
	}
	if r.Series == nil || r.Series.ReplyTo == nil || strings.TrimSpace(r.Series.ReplyTo.Subject) == "" {
		return ErrNoMessage
	}
	rt := r.Series.ReplyTo
	var body strings.Builder
	if err := rd.email(&body, r); err != nil {
		return err
	}
	to, cc, unknown := replyRecipients(rt, rd.From)
	var notes emailText
	if rt.MessageID == "" {
		notes.para("[ktest: this reply cannot be threaded: the series source has no Message-Id (lore thread dumps and pasted commits keep none). Add In-Reply-To by hand, or reply from the archive.]")
	}
	if len(unknown) > 0 {
		notes.para("[ktest: no address known for " + strings.Join(unknown, ", ") + "; add them by hand.]")
	}
	if len(to) == 0 {
		notes.para("[ktest: the answered message names nobody to reply to; add To by hand.]")
	}

	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "From %s %s\n", rd.From.Address, now.UTC().Format("Mon Jan _2 15:04:05 2006"))
	header(&b, "From", addressList([]*mail.Address{rd.From}))
	header(&b, "To", addressList(to))
	header(&b, "Cc", addressList(cc))
	header(&b, "Subject", mime.QEncoding.Encode("utf-8", "Re: "+replyMarks.ReplaceAllString(strings.TrimSpace(rt.Subject), "")))
	header(&b, "Date", now.Format(time.RFC1123Z))
	id, err := newMessageID(now, rd.From.Address)
	if err != nil {
		return err
	}
	header(&b, "Message-Id", id)
	if rt.MessageID != "" {
		header(&b, "In-Reply-To", "<"+rt.MessageID+">")
		refs := make([]string, 0, len(rt.References)+1)
		for _, ref := range append(append([]string(nil), rt.References...), rt.MessageID) {
			refs = append(refs, "<"+ref+">")
		}
		header(&b, "References", strings.Join(refs, " "))
	}
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n")
	if len(notes.out) > 0 {
		b.WriteString(strings.Join(notes.out, "\n") + "\n\n")
	}
	b.WriteString(mboxEscape.ReplaceAllString(body.String(), ">$1"))
	b.WriteString("\n")
	_, err = io.WriteString(w, b.String())
	return err
}

var (
	replyMarks = regexp.MustCompile(`(?i)^((re|aw|sv|antw)\s*:\s*)+`)
	// mboxEscape is mboxrd quoting: a body line reading as a separator.
	mboxEscape = regexp.MustCompile(`(?m)^(>*From )`)
)

// replyRecipients addresses a reply: To the author, Cc what the
// answered message was sent to (To the lists if the author's address
// is unknown); the sender and duplicates left out. Entries without an
// address (a lore dump's bare names) are returned as unknown.
func replyRecipients(rt *results.ReplyTo, self *mail.Address) (to, cc []*mail.Address, unknown []string) {
	seen := map[string]bool{strings.ToLower(self.Address): true}
	add := func(dst *[]*mail.Address, v string) {
		a, err := mail.ParseAddress(v)
		if err != nil || !strings.Contains(a.Address, "@") {
			if v = strings.TrimSpace(v); v != "" && !seen["name:"+v] {
				seen["name:"+v] = true
				unknown = append(unknown, v)
			}
			return
		}
		if k := strings.ToLower(a.Address); !seen[k] {
			seen[k] = true
			*dst = append(*dst, a)
		}
	}
	add(&to, rt.From)
	rest := append(append([]string(nil), rt.To...), rt.Cc...)
	if len(to) == 0 {
		for _, v := range rt.To {
			add(&to, v)
		}
		rest = rt.Cc
	}
	for _, v := range rest {
		add(&cc, v)
	}
	return to, cc, unknown
}

// addressList writes addresses for a header: a bare address as is, a
// named one quoted and encoded as net/mail does.
func addressList(as []*mail.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.Address
		if a.Name != "" {
			s[i] = a.String()
		}
	}
	return strings.Join(s, ", ")
}

// header writes "Name: value" folded at spaces before column 78; an
// empty value writes nothing.
func header(b *strings.Builder, name, value string) {
	if value == "" {
		return
	}
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		if i > 0 && len(line)+1+len(word) > 78 && strings.TrimSpace(line) != name+":" {
			b.WriteString(line + "\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}

// newMessageID makes a Message-Id at the sender's domain, so it is as
// unique as the sender's own mail.
func newMessageID(now time.Time, from string) (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	_, domain, _ := strings.Cut(from, "@")
	return fmt.Sprintf("<%s.%s.ktest@%s>", now.UTC().Format("20060102150405"), hex.EncodeToString(rnd[:]), domain), nil
}
