package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// JUnit XML, the subset CI systems (Jenkins, GitLab, GitHub actions)
// read. Exported so callers and tests can read a report back.
type (
	JUnitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}
	JUnitSuite struct {
		Name       string           `xml:"name,attr"`
		Tests      int              `xml:"tests,attr"`
		Failures   int              `xml:"failures,attr"`
		Errors     int              `xml:"errors,attr"`
		Skipped    int              `xml:"skipped,attr"`
		Time       string           `xml:"time,attr"`
		Timestamp  string           `xml:"timestamp,attr,omitempty"`
		Properties *JUnitProperties `xml:"properties,omitempty"`
		Cases      []JUnitCase      `xml:"testcase"`
	}
	JUnitProperties struct {
		Property []JUnitProperty `xml:"property"`
	}
	JUnitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	JUnitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *JUnitProblem `xml:"failure,omitempty"`
		Error     *JUnitProblem `xml:"error,omitempty"`
		Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	}
	JUnitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	}
	JUnitSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
)

// JUnit builds the JUnit view of a run: a "series" suite with one case
// per patch (conflicts fail), one "<variant>/stages" suite per variant
// (and "run/stages" for stages outside a variant) whose cases are the
// pipeline stages (infrastructure failures are errors) and the kernel's
// crashes (failures), and one "<variant>/<target>" suite per target
// with a case per correctness test (fail and hung are failures, skip is
// skipped) plus a "setup" error case if the target failed to set up.
// The root's time is the run's wall time (Finished-Started), or the sum
// of the suites' times for a run that has not finished.
func JUnit(r *results.Run) *JUnitSuites {
	root := &JUnitSuites{Name: "ktest " + r.ID}
	var total float64
	add := func(s *JUnitSuite, secs float64) {
		if len(s.Cases) == 0 {
			return
		}
		s.Time = junitTime(secs)
		if !r.Started.IsZero() {
			s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Error != nil:
				s.Errors++
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		total += secs
		root.Suites = append(root.Suites, *s)
	}

	if sr := r.Series; sr != nil && len(sr.Patches) > 0 {
		s := &JUnitSuite{Name: "series"}
		for i, p := range sr.Patches {
			c := JUnitCase{Name: strings.TrimSpace(results.PatchLabel(p) + " " + p.Subject), Classname: "ktest.series", Time: junitTime(0)}
			if c.Name == "" {
				c.Name = fmt.Sprintf("patch %d", i+1)
			}
			if p.Status == apply.PatchConflict {
				c.Failure = &JUnitProblem{Message: "conflict: " + hunkText(p), Type: "conflict", Body: p.Detail}
			}
			s.Cases = append(s.Cases, c)
		}
		add(s, 0)
	}

	if s := junitPerPatch(r); s != nil {
		add(s, 0)
	}

	order, stages := stagesByVariant(r)
	for _, name := range order {
		group := results.OrDefault(name, "run")
		s := &JUnitSuite{Name: group + "/stages"}
		var secs float64
		for _, st := range stages[name] {
			s.Cases = append(s.Cases, stageCase(group, st))
			secs += st.Seconds
		}
		if v := r.Variant(name); v != nil {
			if len(stages[name]) == 0 {
				// A document without stage records still says how the
				// build and boot went.
				s.Cases = append(s.Cases,
					stageCase(group, results.Stage{Name: "build", Status: v.Kernel.Status.Stage(), Seconds: v.Kernel.BuildSeconds}),
					stageCase(group, results.Stage{Name: "boot", Status: v.Boot.Status.Stage(), Seconds: v.Boot.Seconds}))
				secs += v.Kernel.BuildSeconds + v.Boot.Seconds
			}
			s.Properties = &JUnitProperties{[]JUnitProperty{
				{"description", v.Description},
				{"kernel.release", v.Kernel.Release},
				{"accel", r.Accel},
			}}
			for _, c := range v.Crashes {
				s.Cases = append(s.Cases, JUnitCase{
					Name: "crash: " + c.Kind + ": " + c.Title, Classname: "ktest." + group + ".kernel", Time: junitTime(0),
					Failure: &JUnitProblem{Message: c.Kind + ": " + c.Title + during(c.During), Type: c.Kind, Body: c.Excerpt},
				})
			}
		}
		add(s, secs)
	}

	for _, v := range r.Variants {
		for _, t := range v.Targets {
			add(targetSuite(v, t))
		}
	}
	// Suites overlap in time (the tests stage contains the tests), so
	// the total is the run's wall time when it is known.
	if !r.Started.IsZero() && r.Finished.After(r.Started) {
		total = r.Finished.Sub(r.Started).Seconds()
	}
	root.Time = junitTime(total)
	return root
}

// stagesByVariant groups the run's stages by variant, in first-seen
// order, then variants without stages; "" is the run.
func stagesByVariant(r *results.Run) (order []string, stages map[string][]results.Stage) {
	stages = map[string][]results.Stage{}
	all := r.Stages
	if e := r.Error; e != nil && !slices.ContainsFunc(all, func(s results.Stage) bool {
		return s.Name == e.Stage && s.Variant == e.Variant && s.Status != results.StageOK
	}) {
		// The stopping error must show in CI even if no stage record
		// was written for it.
		status := results.StageFailed
		if r.Status == results.StatusInterrupted {
			status = results.StageInterrupted
		}
		all = append(slices.Clone(all), results.Stage{Name: e.Stage, Variant: e.Variant, Status: status, Detail: e.Message, Fault: e.Fault})
	}
	for _, st := range all {
		if _, ok := stages[st.Variant]; !ok {
			order = append(order, st.Variant)
		}
		stages[st.Variant] = append(stages[st.Variant], st)
	}
	for _, v := range r.Variants {
		if _, ok := stages[v.Name]; !ok {
			order = append(order, v.Name)
		}
	}
	return order, stages
}

// targetSuite is one target's tests on one variant, and their seconds.
func targetSuite(v *results.Variant, t *results.Target) (*JUnitSuite, float64) {
	s := &JUnitSuite{Name: v.Name + "/" + t.Name}
	class := "ktest." + v.Name + "." + t.Name
	if t.Error != "" {
		s.Cases = append(s.Cases, JUnitCase{Name: "setup", Classname: class, Time: junitTime(0),
			Error: &JUnitProblem{Message: termfmt.FirstLine(t.Error), Type: "setup", Body: t.Error}})
	}
	var secs float64
	for _, tc := range t.Tests {
		c := JUnitCase{Name: tc.Name, Classname: class, Time: junitTime(tc.DurationMS / 1000)}
		secs += tc.DurationMS / 1000
		switch tc.Status {
		case results.TestPass:
		case results.TestSkip:
			c.Skipped = &JUnitSkipped{Message: tc.Message}
		case results.TestNotRun:
			c.Skipped = &JUnitSkipped{Message: tc.Message}
		default: // fail, hung, anything unknown
			body := tc.Message
			if tc.Evidence != "" {
				body += "\n\n" + tc.Evidence
			}
			c.Failure = &JUnitProblem{Message: string(tc.Status) + ": " + termfmt.FirstLine(tc.Message), Type: string(tc.Status), Body: body}
		}
		s.Cases = append(s.Cases, c)
	}
	return s, secs
}

// stageCase is a pipeline stage as a test case: a stage the kernel
// failed (its fault) is a failure; other failed and interrupted stages
// are errors (the host or ktest, not the kernel's behaviour); skipped
// or unfinished ones are skipped.
func stageCase(group string, st results.Stage) JUnitCase {
	c := JUnitCase{Name: st.Name, Classname: "ktest." + group + ".stages", Time: junitTime(st.Seconds)}
	switch {
	case st.Status == results.StageOK:
	case st.Status == results.StageFailed && st.Fault == results.FaultKernel:
		c.Failure = &JUnitProblem{Message: st.Name + " " + string(st.Status) + during(termfmt.FirstLine(st.Detail)), Type: string(st.Fault), Body: st.Detail}
	case st.Status.Stopped():
		c.Error = &JUnitProblem{Message: st.Name + " " + string(st.Status) + during(termfmt.FirstLine(st.Detail)), Type: string(st.Status), Body: st.Detail}
	default:
		c.Skipped = &JUnitSkipped{Message: "stage " + results.OrDefault(string(st.Status), "not run")}
	}
	return c
}

func during(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func junitTime(secs float64) string { return fmt.Sprintf("%.3f", secs) }

func junit(w io.Writer, r *results.Run) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnit(r)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
