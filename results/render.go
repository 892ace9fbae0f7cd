package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats lists the formats Render accepts.
var Formats = []string{"md", "json", "junit", "email", "html"}

// UnknownFormatError is returned for a format Render does not know.
type UnknownFormatError struct{ Format string }

func (e *UnknownFormatError) Error() string {
	return fmt.Sprintf("unknown format %q (want one of %s)", e.Format, strings.Join(Formats, ", "))
}

// Renderer renders runs. The zero value is ready to use.
type Renderer struct {
	// Signature is the trailer line the md, email and html renderings
	// carry, DefaultSignature if empty. Set it to the reviewer's own
	// "Tested-by: Name <mail>" to reply under their name; a bare
	// "Name <mail>" gets the "Tested-by: " key added.
	Signature string
}

// Render writes r to w in format (one of Formats) with the default
// signature.
func Render(w io.Writer, r *Run, format string) error {
	return Renderer{}.Render(w, r, format)
}

// Render writes r to w in format: "json" is the document itself, "md"
// the review summary, "email" the same as a plain-text reply, "junit"
// JUnit XML for CI, "html" a self-contained page with SVG charts.
func (rd Renderer) Render(w io.Writer, r *Run, format string) error {
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
			bw.Write(data)
			bw.WriteByte('\n')
		}
	case "md", "markdown":
		err = rd.markdown(bw, r)
	case "email", "text":
		err = rd.email(bw, r)
	case "junit", "xml":
		err = junit(bw, r)
	case "html":
		err = rd.html(bw, r)
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
	if s == "" {
		return DefaultSignature
	}
	// Accept a bare "Name <mail>" and make it a trailer.
	if key, _, ok := strings.Cut(s, ":"); !ok || strings.ContainsAny(key, " <") {
		s = "Tested-by: " + s
	}
	return s
}

// command is the reproduce command, or a note that none was recorded.
func command(r *Run) string {
	if c := strings.TrimSpace(r.Command); c != "" {
		return c
	}
	return "# reproduce command not recorded in " + orDefault(r.ID, "this run")
}
