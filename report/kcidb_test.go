package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ktest-dev/ktest/results"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// kcidbSchema compiles KCIDB's own schema (testdata, copied byte for
// byte from kcidb-io) as Draft-07 with formats asserted.
func kcidbSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	sch, err := c.Compile("testdata/kcidb.v5.3.schema.json")
	if err != nil {
		t.Fatalf("compile KCIDB schema: %v", err)
	}
	return sch
}

// withSeriesApplied makes the patched variant apply the fixture's
// series, as `ktest run --series S` does, with per-variant apply stages.
func withSeriesApplied(r *results.Run) {
	v := r.Variant("patched")
	v.Patches = []string{r.Series.Source}
	for _, p := range r.Series.Patches {
		v.Applied = append(v.Applied, results.AppliedPatch{Source: r.Series.Source, ID: results.PatchLabel(p), Subject: p.Subject, SHA256: p.SHA256})
	}
	r.Stages = append([]results.Stage{{Name: "apply", Variant: "baseline", Status: results.StageOK}, {Name: "apply", Variant: "patched", Status: results.StageOK}}, r.Stages...)
}

// kcidbOf renders r and checks it against the schema and KCIDB's
// linking rules: ids of each kind unique, prefixed by the origin, and
// every build and test pointing at an object in the document.
func kcidbOf(t *testing.T, sch *jsonschema.Schema, rd Renderer, r *results.Run) kcidbDoc {
	t.Helper()
	out := render(t, rd, r, "kcidb")
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("kcidb output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("kcidb output does not validate against the KCIDB v5.3 schema: %v", err)
	}
	var doc kcidbDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	origin := results.OrDefault(rd.Origin, DefaultOrigin)
	ids := map[string]bool{}
	unique := func(kind, id string) {
		if !strings.HasPrefix(id, origin+":") {
			t.Errorf("%s id %q does not start with %q", kind, id, origin+":")
		}
		if ids[kind+" "+id] {
			t.Errorf("%s id %q appears twice", kind, id)
		}
		ids[kind+" "+id] = true
	}
	for _, c := range doc.Checkouts {
		unique("checkout", c.ID)
	}
	for _, b := range doc.Builds {
		unique("build", b.ID)
		if !ids["checkout "+b.CheckoutID] {
			t.Errorf("build %s: checkout %s not in the document", b.ID, b.CheckoutID)
		}
	}
	for _, ts := range doc.Tests {
		unique("test", ts.ID)
		if !ids["build "+ts.BuildID] {
			t.Errorf("test %s: build %s not in the document", ts.ID, ts.BuildID)
		}
	}
	return doc
}

func TestKCIDBSchema(t *testing.T) {
	sch := kcidbSchema(t)
	real, err := results.Load("../results/testdata/run-quick1.results.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		rd    Renderer
		run   *results.Run
		tests int // how many KCIDB tests
	}{
		// Per variant: the boot, 4 targets x 10 tests, 4 x 3 engines x 8 metrics.
		{"fixture", Renderer{}, fixtureRun(3), 2 * (1 + 40 + 96)},
		{"fixture applying the series, own origin", Renderer{Origin: "my_lab_2"}, func() *results.Run {
			r := fixtureRun(1)
			withSeriesApplied(r)
			return r
		}(), 2 * (1 + 40 + 96)},
		{"failures: hang, setup, crash, odd names", Renderer{}, func() *results.Run {
			r := fixtureRun(3)
			setTest(r, "patched", "ext4", "concurrent-waiters", "hung", "timed out after 60s\x00 waiting for 32 readers")
			setTest(r, "patched", "raw", "eof", "skip", "no EOF on a raw device")
			r.Variant("patched").Target("xfs").Error = "mkfs.xfs: " + strings.Repeat("x", 20000)
			r.Variant("patched").Crashes = []results.Crash{{Kind: "hung-task", Title: "INFO: task fio:231 blocked for more than 30 seconds.", Excerpt: "Call Trace:\n folio_wait_bit_common+0x2f0/0x310", During: "ext4"}}
			r.Variant("baseline").Target("btrfs").Tests[0].Name = "weird name/with.dots"
			return r
		}(), 2*(1+40+96) + 2},
		{"build failed", Renderer{}, func() *results.Run {
			r := fixtureRun(3)
			r.Complete, r.Status = false, results.StatusError
			r.Error = &results.StageFailure{Stage: "build", Variant: "patched", Message: "make: *** [Makefile:1234: vmlinux] Error 2"}
			p := r.Variant("patched")
			p.Kernel.Status, p.Boot.Status, p.Targets = results.StepFailed, results.StepPending, nil
			return r
		}(), 1 + 40 + 96},
		{"stopped at apply", Renderer{}, func() *results.Run {
			r := fixtureRun(3)
			withSeriesApplied(r)
			r.Complete, r.Status = false, results.StatusError
			r.Series.Patches[1].Status, r.Series.Patches[1].Detail = "conflict", "hunk 2 expected at line 120: found nothing like it"
			r.Stages = []results.Stage{{Name: "apply", Variant: "baseline", Status: results.StageOK}, {Name: "apply", Variant: "patched", Status: results.StageFailed}}
			r.Error = &results.StageFailure{Stage: "apply", Variant: "patched", Message: "patch 2/3 conflicts"}
			for _, v := range r.Variants {
				v.Kernel, v.Boot, v.Targets = results.Kernel{Status: results.StepPending}, results.Boot{Status: results.StepPending}, nil
			}
			return r
		}(), 0},
		{"real ktest run --quick", Renderer{}, real, 2 * (1 + 40 + 96)},
		{"real run stopped at apply", Renderer{}, loadFixture(t, "run-stopped-at-apply.results.json"), 0},
		// Per variant: the boot, 10 tests, 3 engines x 8 metrics on ext4.
		{"real ktest run --quick --targets ext4", Renderer{}, loadFixture(t, "run-quick-ext4.results.json"), 2 * (1 + 10 + 24)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := kcidbOf(t, sch, tc.rd, tc.run)
			if len(doc.Checkouts) != len(tc.run.Variants) || len(doc.Builds) != len(tc.run.Variants) || len(doc.Tests) != tc.tests {
				t.Errorf("%d checkouts, %d builds, %d tests; want %d, %d, %d",
					len(doc.Checkouts), len(doc.Builds), len(doc.Tests), len(tc.run.Variants), len(tc.run.Variants), tc.tests)
			}
		})
	}
}

// TestKCIDBMapping checks concrete entries of the fixture's document.
func TestKCIDBMapping(t *testing.T) {
	r := fixtureRun(3)
	withSeriesApplied(r)
	setTest(r, "patched", "ext4", "concurrent-waiters", "hung", "timed out: "+strings.Repeat("é", 20000)+" the end")
	setTest(r, "patched", "raw", "eof", "skip", "no EOF on a raw device")
	r.Variant("patched").Target("xfs").Error = "mount: wrong fs type"
	r.Variant("patched").Crashes = []results.Crash{{Kind: "oops", Title: "BUG: kernel NULL pointer dereference", Excerpt: "RIP: 0010:filemap_read+0x1f/0x40", During: "ext4"}}
	doc := kcidbOf(t, kcidbSchema(t), Renderer{}, r)

	key := "ktest:" + runKey(r)
	if !regexp.MustCompile(`^ktest:20250314-020000-ab12\.[0-9a-f]{8}$`).MatchString(key) {
		t.Fatalf("run key %q", key)
	}
	checkouts := map[string]*kcidbCheckout{}
	for _, c := range doc.Checkouts {
		checkouts[c.ID] = c
	}
	// The patchset hash, computed as KCIDB's shell recipe does:
	// sha256sum *.patch | cut -c-64 | sha256sum.
	hashOf := func(sums ...string) string {
		sum := sha256.Sum256([]byte(strings.Join(sums, "\n") + "\n"))
		return hex.EncodeToString(sum[:])
	}
	var series []string
	for _, p := range r.Series.Patches {
		series = append(series, p.SHA256)
	}
	wantHash := hashOf(series...)

	patched, base := checkouts[key+"/patched"], checkouts[key+"/baseline"]
	if patched == nil || base == nil {
		t.Fatalf("checkouts %v", checkouts)
	}
	if patched.PatchsetHash == nil || *patched.PatchsetHash != wantHash || patched.MessageID != "20200523185755.8494-1-axboe@kernel.dk" ||
		patched.Comment != "[PATCHSET v2 0/3] Add support for async buffered reads" || patched.Valid == nil || !*patched.Valid {
		t.Errorf("series checkout: %+v", patched)
	}
	// The baseline applies ktest's own patch: its checkout's hash covers
	// it, and says what it covers.
	if base.PatchsetHash == nil || *base.PatchsetHash != hashOf(sha256Hex("baseline-6.1 diff")) || base.MessageID != "" ||
		base.Comment != "tarball 6.1.129: 6.1 + ktest patch removing FMODE_BUF_RASYNC" {
		t.Errorf("baseline checkout: %+v", base)
	}
	if ps, ok := base.Misc["patchset"].([]any); !ok || len(ps) != 1 || ps[0].(map[string]any)["source"] != "embedded:baseline-6.1" {
		t.Errorf("baseline checkout misc: %+v", base.Misc)
	}

	builds := map[string]*kcidbBuild{}
	for _, b := range doc.Builds {
		builds[b.ID] = b
	}
	if b := builds[key+"/baseline"]; b == nil || b.Status != "PASS" || b.Duration != 1290 || b.Architecture != "x86_64" ||
		b.Compiler != "gcc 12.2.0" || b.CheckoutID != key+"/baseline" {
		t.Errorf("baseline build: %+v", b)
	}

	tests := map[string]*kcidbTest{}
	for _, ts := range doc.Tests {
		tests[ts.ID] = ts
	}
	for _, tc := range []struct {
		id, path, status, excerpt string
		number                    *kcidbNumber
	}{
		{key + "/baseline/boot", "ktest.boot", "PASS", "", nil},
		{key + "/patched/ext4/eof", "ktest.correctness.ext4.eof", "PASS", "", nil},
		{key + "/patched/ext4/concurrent-waiters", "ktest.correctness.ext4.concurrent-waiters", "FAIL", "", nil},
		{key + "/patched/raw/eof", "ktest.correctness.raw.eof", "SKIP", "no EOF on a raw device", nil},
		{key + "/patched/xfs", "ktest.setup.xfs", "ERROR", "mount: wrong fs type", nil},
		{key + "/patched/crash/1", "ktest.crash.ext4", "FAIL", "BUG: kernel NULL pointer dereference\nRIP: 0010:filemap_read+0x1f/0x40", nil},
		{key + "/patched/ext4/bench/io_uring/iops", "ktest.bench.ext4.io_uring.iops", "DONE", "", &kcidbNumber{Value: 4805, Unit: "IOPS", Prefix: "metric"}},
		{key + "/baseline/btrfs/bench/io_uring-offload/wall_ms", "ktest.bench.btrfs.io_uring-offload.wall_ms", "DONE", "", &kcidbNumber{Value: 4120 * 1.1, Unit: "ms"}},
		{key + "/patched/ext4/bench/io_uring/iowq_workers_peak", "ktest.bench.ext4.io_uring.iowq_workers_peak", "DONE", "", &kcidbNumber{Value: 0}},
	} {
		ts := tests[tc.id]
		if ts == nil {
			t.Errorf("no test %s", tc.id)
			continue
		}
		if ts.Path != tc.path || ts.Status != tc.status || tc.excerpt != "" && ts.LogExcerpt != tc.excerpt {
			t.Errorf("%s: path %q status %q excerpt %q; want %q %q %q", tc.id, ts.Path, ts.Status, ts.LogExcerpt, tc.path, tc.status, tc.excerpt)
		}
		if tc.number != nil && (ts.Number == nil || *ts.Number != *tc.number) {
			t.Errorf("%s: number %+v, want %+v", tc.id, ts.Number, tc.number)
		}
		if ts.Environment == nil || ts.Environment.Comment != "QEMU 7.2.15 (tcg) on bench1" {
			t.Errorf("%s: environment %+v", tc.id, ts.Environment)
		}
	}
	// A hang keeps ktest's own status; its long message is cut to the
	// schema's 16384 characters, keeping the end.
	hung := tests[key+"/patched/ext4/concurrent-waiters"]
	if hung.Misc["ktest_status"] != "hung" || utf8.RuneCountInString(hung.LogExcerpt) != kcidbMaxExcerpt || !strings.HasSuffix(hung.LogExcerpt, "é the end") {
		t.Errorf("hung test: misc %v, excerpt of %d characters ending %q", hung.Misc, utf8.RuneCountInString(hung.LogExcerpt), hung.LogExcerpt[len(hung.LogExcerpt)-20:])
	}
}

func TestKCIDBOrigin(t *testing.T) {
	tests := []struct {
		origin string
		ok     bool
	}{
		{"ktest", true}, {"my_lab_2", true}, {"", false}, {"My-Lab", false}, {"lab:1", false}, {"lab 1", false},
	}
	for _, tc := range tests {
		if err := ValidOrigin(tc.origin); (err == nil) != tc.ok {
			t.Errorf("ValidOrigin(%q) = %v, want ok=%v", tc.origin, err, tc.ok)
		}
	}
	if err := (Renderer{Origin: "Bad-Origin"}).Render(&strings.Builder{}, fixtureRun(1), "kcidb"); err == nil {
		t.Errorf("kcidb with origin Bad-Origin rendered")
	}
}

// TestKCIDBSchemaRejects makes sure the validation above has teeth: the
// compiled schema refuses what KCIDB refuses.
func TestKCIDBSchemaRejects(t *testing.T) {
	sch := kcidbSchema(t)
	const test = `{"id": "ktest:r/v/t", "origin": "ktest", "build_id": "ktest:r/v", %s}`
	tests := []struct{ name, doc string }{
		{"lower-case status", `"status": "pass"`},
		{"path with an empty word", `"path": "ktest..eof"`},
		{"path with a slash", `"path": "ktest.ext4/eof"`},
		{"number without value", `"status": "DONE", "number": {"unit": "ms"}`},
		{"unknown field", `"verdict": "faster"`},
		{"excerpt too long", `"log_excerpt": "` + strings.Repeat("x", kcidbMaxExcerpt+1) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"version": {"major": 5, "minor": 3}, "tests": [` + strings.Replace(test, "%s", tc.doc, 1) + `]}`
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			if sch.Validate(inst) == nil {
				t.Errorf("schema accepts %s", doc[:min(len(doc), 200)])
			}
		})
	}
	for _, bad := range []string{`"id": "Ktest:x", "origin": "ktest"`, `"id": "ktest:x", "origin": "ktest", "message_id": "not an address"`} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version": {"major": 5}, "checkouts": [{` + bad + `}]}`))
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepts checkout {%s}", bad)
		}
	}
}

// TestKCIDBPatchsetCoversEveryPatch: a checkout's patchset hash covers
// every patch applied to its variant, in order, the baseline's patch
// included; only the tree as it is has the empty hash, and a document
// that did not record a variant's patches claims no hash for it.
func TestKCIDBPatchsetCoversEveryPatch(t *testing.T) {
	sch := kcidbSchema(t)
	hashOf := func(sums ...string) string {
		sum := sha256.Sum256([]byte(strings.Join(sums, "\n") + "\n"))
		return hex.EncodeToString(sum[:])
	}
	base := sha256Hex("baseline-6.1 diff")
	fixture := fixtureRun(3)
	var series []string
	for _, p := range fixture.Series.Patches {
		series = append(series, p.SHA256)
	}
	tests := []struct {
		name              string
		mutate            func(*results.Run)
		baseline, patched *string // nil: no hash
	}{
		{"the default plan: baseline patch, stock tree", nil, ptr(hashOf(base)), ptr("")},
		{"the series on the tree", withSeriesApplied, ptr(hashOf(base)), ptr(hashOf(series...))},
		{"the baseline patch and the series on one variant", func(r *results.Run) {
			withSeriesApplied(r)
			v := r.Variant("patched")
			v.Patches = append([]string{"embedded:baseline-6.1"}, v.Patches...)
			v.Applied = append(r.Variant("baseline").Applied[:1:1], v.Applied...)
		}, ptr(hashOf(base)), ptr(hashOf(append([]string{base}, series...)...))},
		{"a document that did not record the patches", func(r *results.Run) {
			r.Variant("baseline").Applied = nil
		}, nil, ptr("")},
		{"an older document applying the series alone", func(r *results.Run) {
			withSeriesApplied(r)
			r.Variant("patched").Applied = nil
		}, ptr(hashOf(base)), ptr(hashOf(series...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			doc := kcidbOf(t, sch, Renderer{}, r)
			for i, want := range []*string{tc.baseline, tc.patched} {
				got := doc.Checkouts[i].PatchsetHash
				if (got == nil) != (want == nil) || got != nil && *got != *want {
					t.Errorf("%s: patchset_hash %v, want %v", doc.Checkouts[i].ID, deref(got), deref(want))
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "(absent)"
	}
	return *s
}

// TestKCIDBRecordedStoppedAtApply: the real run whose patched variant
// did not apply: its checkout is invalid, with the conflict as excerpt,
// and its hash covers the patch it could not apply; the other variant,
// the tree as it is, has the empty hash.
func TestKCIDBRecordedStoppedAtApply(t *testing.T) {
	r := loadFixture(t, "run-stopped-at-apply.results.json")
	doc := kcidbOf(t, kcidbSchema(t), Renderer{}, r)
	byVariant := map[string]*kcidbCheckout{}
	for _, c := range doc.Checkouts {
		byVariant[c.Misc["variant"].(string)] = c
	}
	p, b := byVariant["patched"], byVariant["baseline"]
	sum := sha256.Sum256([]byte(r.Variant("patched").Applied[0].SHA256 + "\n"))
	if p == nil || p.Valid == nil || *p.Valid || !strings.Contains(p.LogExcerpt, "hunk does not match") ||
		p.PatchsetHash == nil || *p.PatchsetHash != hex.EncodeToString(sum[:]) {
		t.Errorf("patched checkout: %+v", p)
	}
	if b == nil || b.PatchsetHash == nil || *b.PatchsetHash != "" {
		t.Errorf("baseline checkout (the tree as it is): %+v", b)
	}
	if len(doc.Tests) != 0 {
		t.Errorf("%d tests from a run that tested nothing", len(doc.Tests))
	}
}

// TestKCIDBDefaultRunBaselineHash: in KCIDB of a real run of the
// default plan, the baseline checkout (the tree plus the baseline
// patch) has a patchset hash over that patch, and only the stock tree
// has the empty one; the document validates against the schema.
func TestKCIDBDefaultRunBaselineHash(t *testing.T) {
	r := loadFixture(t, "run-quick-ext4.results.json")
	doc := kcidbOf(t, kcidbSchema(t), Renderer{}, r)
	hashes := map[string]string{}
	for _, c := range doc.Checkouts {
		if c.PatchsetHash == nil {
			t.Fatalf("checkout %s has no patchset_hash", c.ID)
		}
		hashes[c.Misc["variant"].(string)] = *c.PatchsetHash
	}
	applied := r.Variant("baseline").Applied
	if len(applied) != 1 || applied[0].Source != "embedded:baseline-6.1" {
		t.Fatalf("the recorded baseline applied %+v", applied)
	}
	sum := sha256.Sum256([]byte(applied[0].SHA256 + "\n"))
	if want := hex.EncodeToString(sum[:]); hashes["baseline"] != want {
		t.Errorf("baseline patchset_hash %q, want %q (over the baseline patch)", hashes["baseline"], want)
	}
	if hashes["patched"] != "" {
		t.Errorf("patched (stock 6.1) patchset_hash %q, want \"\"", hashes["patched"])
	}
}
