package report

import (
	"fmt"
	"strings"

	"github.com/ktest-dev/ktest/results"
)

// trailer is the reply's last line before the reproduce command: the
// signature when the run earned it, else a sentence saying why there is
// none. That sentence never reads as a trailer ("Key: value" at the
// start of a line), so b4 and patchwork cannot pick it up.
func (rd Renderer) trailer(r *results.Run) string {
	sig := rd.signature()
	why := r.WhyNoTrailer()
	if why == "" {
		return sig
	}
	key := "Tested-by"
	if k, _, ok := strings.Cut(sig, ":"); ok && sig != NoIdentitySignature {
		key = k
	}
	return fmt.Sprintf("No %s from this run: %s.", key, strings.TrimSuffix(why, "."))
}
