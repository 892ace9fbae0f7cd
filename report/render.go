package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/ktest-dev/ktest/results"
)

// Formats lists the formats Render accepts.
var Formats = []string{"md", "json", "junit", "email", "html", "mbox", "kcidb"}

// UnknownFormatError is returned for a format Render does not know.
type UnknownFormatError struct{ Format string }

func (e *UnknownFormatError) Error() string {
	return fmt.Sprintf("unknown format %q (want one of %s)", e.Format, strings.Join(Formats, ", "))
}

// Renderer renders runs. The zero value is ready to use.
type Renderer struct {
	// Signature is the trailer line the md, email, mbox and html
	// renderings carry, "Tested-by: " and From if empty, and
	// NoIdentitySignature if From is nil too. A bare "Name <mail>" gets
	// the "Tested-by: " key added.
	Signature string
	// From is the reviewer: the sender of the mbox reply and the
	// default Tested-by. nil when no identity is known; ktest never
	// makes one up.
	From *mail.Address
	// Origin names ktest as a CI system in the kcidb rendering,
	// DefaultOrigin if empty; see ValidOrigin.
	Origin string
}

// NoIdentitySignature stands where the Tested-by trailer goes when no
// identity is known.
const NoIdentitySignature = "(no Tested-by: no identity configured; set git config user.name/email)"

// ParseIdentity reads a reviewer identity, "Name <addr>" or "addr".
func ParseIdentity(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("identity %q: want \"Name <user@example.org>\": %w", s, err)
	}
	if _, domain, _ := strings.Cut(a.Address, "@"); domain == "" {
		return nil, fmt.Errorf("identity %q: address has no domain", s)
	}
	return a, nil
}

// plainAddress writes a as a trailer does: "Name <addr>", unencoded.
func plainAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// Render writes r to w in format (one of Formats) with a zero Renderer:
// no identity, so no Tested-by and no mbox.
func Render(w io.Writer, r *results.Run, format string) error {
	return Renderer{}.Render(w, r, format)
}

// Render writes r to w in format: "json" is the document itself, "md"
// the review summary, "email" the same as a plain-text reply, "mbox"
// that reply as a mail answering the series, "junit" JUnit XML for CI,
// "html" a self-contained page with SVG charts, "kcidb" a KCIDB v5.3
// submission.
func (rd Renderer) Render(w io.Writer, r *results.Run, format string) error {
	if r == nil {
		return fmt.Errorf("render %s: nil run", format)
	}
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "json":
		var data []byte
		data, err = json.MarshalIndent(r, "", "  ")
		if err == nil {
			_, err = bw.Write(append(data, '\n'))
		}
	case "md", "markdown":
		err = rd.markdown(bw, r)
	case "email", "text":
		err = rd.email(bw, r)
	case "junit", "xml":
		err = junit(bw, r)
	case "html":
		err = rd.html(bw, r)
	case "mbox":
		err = rd.mbox(bw, r)
	case "kcidb":
		err = rd.kcidb(bw, r)
	default:
		return &UnknownFormatError{format}
	}
	if err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	return nil
}

func (rd Renderer) signature() string {
	s := strings.TrimSpace(rd.Signature)
	if s == "" && rd.From != nil {
		s = plainAddress(rd.From)
	}
	if s == "" {
		return NoIdentitySignature
	}
	// Accept a bare "Name <mail>" and make it a trailer.
	if key, _, ok := strings.Cut(s, ":"); !ok || strings.ContainsAny(key, " <") {
		s = "Tested-by: " + s
	}
	return s
}

// command is the reproduce command, or a note that none was recorded.
func command(r *results.Run) string {
	if c := strings.TrimSpace(r.Command); c != "" {
		return c
	}
	return "# reproduce command not recorded in " + results.OrDefault(r.ID, "this run")
}
