package series

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSummaryJSON checks the ktest.series/v1 field names and the apply
// order with and without fixups on the flagship thread.
func TestSummaryJSON(t *testing.T) {
	s, err := Load(seedPath(t, "002"))
	if err != nil {
		t.Fatal(err)
	}
	for _, withFixups := range []bool{false, true} {
		data, err := json.Marshal(Summarize(s, withFixups))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Schema  string `json:"schema"`
			Version int    `json:"version"`
			Cover   struct {
				ID, Kind string
				Total    int
			} `json:"cover"`
			Patches []struct {
				ID       string                  `json:"id"`
				Files    []struct{ Path string } `json:"files"`
				Trailers []struct {
					Key       string `json:"key"`
					FromReply bool   `json:"from_reply"`
				} `json:"trailers"`
			} `json:"patches"`
			Fixups []struct {
				ID         string `json:"id"`
				RevisionOf int    `json:"revision_of"`
				Note       string `json:"note"`
			} `json:"fixups"`
			Revisions []struct {
				ID string `json:"id"`
			} `json:"revisions"`
			Versions []int    `json:"versions"`
			Choices  []string `json:"choices"`
			Missing  []int    `json:"missing"`
			Apply    []string `json:"apply"`
			Warnings []string `json:"warnings"`
			Notes    []string `json:"notes"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if got.Schema != "ktest.series/v1" || got.Version != 5 || got.Cover.ID != "cover" || got.Cover.Total != 12 {
			t.Errorf("schema %q version %d cover %+v", got.Schema, got.Version, got.Cover)
		}
		if len(got.Patches) != 12 || got.Patches[4].ID != "05/12" || got.Patches[4].Files[0].Path != "mm/filemap.c" || got.Patches[0].Trailers[0].Key != "Signed-off-by" {
			t.Errorf("patches %+v", got.Patches)
		}
		if len(got.Fixups) != 2 || got.Fixups[0].ID != "fixup-1" || got.Fixups[1].RevisionOf != 12 {
			t.Errorf("fixups %+v", got.Fixups)
		}
		if len(got.Revisions) != 2 || got.Revisions[0].ID != "rev-06/12-v3" || got.Revisions[1].ID != "rev-06/12-v4" {
			t.Errorf("revisions %+v", got.Revisions)
		}
		if fmt.Sprint(got.Versions) != "[3 4 5]" || len(got.Missing) != 0 ||
			!slices.Contains(got.Choices, "06/12: v5 (2020-05-26) supersedes v3 (2020-05-23) and v4 (2020-05-24)") {
			t.Errorf("versions %v missing %v choices %q", got.Versions, got.Missing, got.Choices)
		}
		want := "01/12 02/12 03/12 04/12 05/12 06/12 07/12 08/12 09/12 10/12 11/12 12/12"
		if withFixups {
			want += " fixup-1 fixup-2"
		}
		if strings.Join(got.Apply, " ") != want || got.Warnings == nil || len(got.Notes) == 0 {
			t.Errorf("apply %v warnings %v notes %v", got.Apply, got.Warnings, got.Notes)
		}
	}
}
