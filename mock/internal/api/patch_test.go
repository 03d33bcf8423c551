package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// FuzzDecodePatch: any body is a checked patch or a 400 (413 and others are the handler's), never
// a panic; a checked patch has at most MaxPatchOps operations, each with only the members the
// library reads, writing only patchable fields; and the library reads from it exactly what was
// checked.
func FuzzDecodePatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","path":"/name","value":"x"}]`,
		`[{"op":"replace","path":"/accessTokenValiditySeconds","Path":"/name","value":"x"}]`,
		`[{"op":"move","From":"/id","from":"/name","path":"/scope/-"}]`,
		`[{"op":"add","path":"/scope/0","value":"a","value":"b"}]`,
		`[{"op":"test","path":"/id","value":null},{"op":"copy","from":"/scope","path":"/scope/-"}]`,
		`[{"op":"remove","path":"/expirationDate","x":{"path":"/id"}}] `,
		`[{"op":"remove","path":"/name"}` + strings.Repeat(`,{"op":"remove","path":"/name"}`, MaxPatchOps) + `]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range Versions {
			patch, err := decodePatch(v, body)
			var e *Error
			if err != nil {
				if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
					t.Fatalf("%s: %v, want a 400", v.Name, err)
				}
				continue
			}
			if len(patch) > MaxPatchOps {
				t.Fatalf("%d operations accepted", len(patch))
			}
			fields := patchable(v)
			for i, op := range patch {
				for member := range op {
					if !slices.Contains([]string{"op", "path", "from", "value"}, member) {
						t.Fatalf("operation %d hands the library a member %q", i, member)
					}
				}
				path, err := op.Path()
				if err != nil || op.Kind() != "test" && !under(path, fields) {
					t.Fatalf("%s: operation %d writes %q (%v)", v.Name, i, path, err)
				}
				if from, _ := op.From(); op.Kind() == "move" && !under(from, fields) {
					t.Fatalf("%s: operation %d moves %q", v.Name, i, from)
				}
			}
			// What the library decodes from the checked patch is that patch.
			b, err := json.Marshal(patch)
			if err != nil {
				t.Fatal(err)
			}
			again, err := jsonpatch.DecodePatch(b)
			if err != nil || len(again) != len(patch) {
				t.Fatalf("the checked patch %s does not decode as itself: %v", b, err)
			}
			for i := range again {
				p1, _ := again[i].Path()
				p2, _ := patch[i].Path()
				if again[i].Kind() != patch[i].Kind() || p1 != p2 {
					t.Fatalf("operation %d: %s %s, checked %s %s", i, again[i].Kind(), p1, patch[i].Kind(), p2)
				}
			}
		}
	})
}
