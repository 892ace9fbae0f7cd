package series

import "testing"

func TestPatchID(t *testing.T) {
	for _, tc := range []struct {
		id   PatchID
		want string
	}{
		{PatchID{Kind: KindPatch, Number: 5, Total: 12}, "05/12"},
		{PatchID{Kind: KindPatch, Number: 3, Total: 3}, "3/3"},
		{PatchID{Kind: KindPatch, Number: 2}, "2"},
		{PatchID{Kind: KindFixup, Number: 1, Total: 12}, "fixup-1"},
		{PatchID{Kind: KindRevision, Number: 6, Total: 12, Version: 4}, "rev-06/12-v4"},
		{PatchID{Kind: KindRevision, Number: 6, Total: 12}, "rev-06/12-v1"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.id, got, tc.want)
		}
	}
}
