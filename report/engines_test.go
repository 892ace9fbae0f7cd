package report

import (
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/results"
)

// TestEngineLabels: an engine added to proto.Engines gets a row in the
// A/B tables, in the guest's order, and needs its cover-letter name here.
func TestEngineLabels(t *testing.T) {
	if len(results.EngineOrder) != len(proto.Engines) {
		t.Fatalf("results.EngineOrder %v, proto.Engines %v", results.EngineOrder, proto.Engines)
	}
	seen := map[string]bool{}
	for i, e := range proto.Engines {
		if results.EngineOrder[i] != string(e) {
			t.Errorf("row %d is %s, want %s", i, results.EngineOrder[i], e)
		}
		label := engineLabel(string(e))
		if label == string(e) || seen[label] {
			t.Errorf("engine %s has no label of its own (%q)", e, label)
		}
		seen[label] = true
	}
}
