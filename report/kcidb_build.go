package report

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/results"
)

// KCIDB checkouts and builds: one of each per variant.

func kcidbCheckoutOf(r *results.Run, v *results.Variant, id, origin string) *kcidbCheckout {
	c := &kcidbCheckout{ID: id, Origin: origin, Comment: kcidbText(checkoutComment(r, v))}
	if !r.Started.IsZero() {
		c.StartTime = r.Started.UTC().Format(time.RFC3339Nano)
	}
	misc := map[string]any{"ktest_run": r.ID, "variant": v.Name,
		"tree": map[string]string{"origin": r.Tree.Origin, "version": r.Tree.Version, "kind": r.Tree.Kind, "key": r.Tree.Key}}
	if len(v.Patches) > 0 {
		misc["patches"] = v.Patches
	}
	if len(v.Applied) > 0 {
		misc["patchset"] = v.Applied // what the hash covers, in order
	}
	// The hash covers every patch applied to this variant. ktest has
	// no URL a consumer could fetch the patches from, so it gives no
	// patchset_files rather than a partial or local list.
	switch h, ok := v.PatchsetHash(); {
	case len(v.Patches) == 0:
		empty := "" // no patches applied, as KCIDB spells it
		c.PatchsetHash = &empty
	case ok:
		c.PatchsetHash = &h
	case len(v.Applied) == 0 && isSeriesVariant(r, v) && len(v.Patches) == 1:
		// A document from before ktest recorded each variant's
		// patches: the series' own hashes are the whole patchset.
		if h, ok := r.Series.PatchsetHash(); ok {
			c.PatchsetHash = &h
		}
	}
	if isSeriesVariant(r, v) {
		s := r.Series
		misc["series"] = map[string]any{"title": s.Title, "version": s.Version, "source": s.Source, "base": s.Base}
		if s.ReplyTo != nil && validMessageID(s.ReplyTo.MessageID) {
			c.MessageID = s.ReplyTo.MessageID
		}
	}
	c.Misc = misc
	for _, st := range r.Stages {
		if st.Name != "apply" || st.Variant != v.Name {
			continue
		}
		switch st.Status {
		case results.StageOK:
			c.Valid = ptr(true)
		case results.StageFailed:
			c.Valid = ptr(false)
			c.LogExcerpt = kcidbExcerpt(applyFailure(r, v, st))
		}
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func checkoutComment(r *results.Run, v *results.Variant) string {
	if isSeriesVariant(r, v) {
		if rt := r.Series.ReplyTo; rt != nil && rt.Subject != "" {
			return rt.Subject
		}
		return r.Series.Title
	}
	tree := strings.TrimSpace(r.Tree.Kind + " " + results.OrDefault(r.Tree.Version, r.Tree.Origin))
	if v.Description == "" {
		return tree
	}
	return tree + ": " + v.Description
}

// applyFailure is what a failed apply stage says: the stage error, and
// for the series the conflicting patches' details.
func applyFailure(r *results.Run, v *results.Variant, st results.Stage) string {
	var parts []string
	if e := r.Error; e != nil && e.Stage == "apply" && e.Variant == v.Name {
		parts = append(parts, e.Message)
	} else if st.Detail != "" {
		parts = append(parts, st.Detail)
	}
	if isSeriesVariant(r, v) {
		for _, p := range r.Series.Patches {
			if p.Status == apply.PatchConflict {
				parts = append(parts, fmt.Sprintf("patch %s %s: %s", results.PatchLabel(p), p.Subject, p.Detail))
			}
		}
	}
	return strings.Join(parts, "\n")
}

// validMessageID reports whether id passes as the schema's "email"
// format: local@domain, each part plain enough.
func validMessageID(id string) bool {
	local, domain, ok := strings.Cut(id, "@")
	return ok && len(local) <= 64 && messageIDPart.MatchString(local) && messageIDDomain.MatchString(domain)
}

var (
	messageIDPart   = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*$`)
	messageIDDomain = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

func kcidbBuildOf(r *results.Run, v *results.Variant, id, origin string) *kcidbBuild {
	k := v.Kernel
	b := &kcidbBuild{ID: id, Origin: origin, CheckoutID: id, Comment: kcidbText(v.Description),
		Architecture: "x86_64", Compiler: kcidbText(r.Host.Compiler), Status: buildStatus(r, v)}
	if k.Status == results.StepOK || k.Status == results.StepFailed {
		b.Duration = k.BuildSeconds
	}
	if k.Status == results.StepFailed {
		if e := r.Error; e != nil && e.Stage == "build" && e.Variant == v.Name {
			b.LogExcerpt = kcidbExcerpt(e.Message)
		}
	}
	misc := map[string]any{"cached": k.Cached}
	for name, val := range map[string]string{"kernel_key": k.Key, "release": k.Release, "config_sha256": k.ConfigSHA256} {
		if val != "" {
			misc[name] = val
		}
	}
	if len(k.Quirks) > 0 {
		misc["quirks"] = k.Quirks
	}
	if k.Objects > 0 {
		misc["objects_compiled"] = k.Objects
	}
	b.Misc = misc
	return b
}

// buildStatus: a build that did not finish is FAIL (make or the config
// check failed: ktest cannot tell a broken tree from a broken host, and
// a kernel that did not build is the usual reading), ERROR if a signal
// cut it short, MISS if the run stopped before it, none while running.
func buildStatus(r *results.Run, v *results.Variant) string {
	switch v.Kernel.Status {
	case results.StepOK:
		return "PASS"
	case results.StepFailed:
		return "FAIL"
	case results.StepSkipped:
		return "SKIP"
	}
	for _, st := range r.Stages {
		if st.Name == "build" && st.Variant == v.Name && st.Status == results.StageInterrupted {
			return "ERROR"
		}
	}
	if r.Status == results.StatusRunning {
		return ""
	}
	return "MISS"
}
