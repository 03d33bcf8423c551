package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/iscmock/iscmock/mock/internal/store"
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
			ops, err := decodePatch(v, body)
			var e *Error
			if err != nil {
				if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
					t.Fatalf("%s: %v, want a 400", v.Name, err)
				}
				continue
			}
			if len(ops) > MaxPatchOps {
				t.Fatalf("%d operations accepted", len(ops))
			}
			patch := library(ops)
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

// FuzzSetFieldsAsLibrary: a patch that setFields applies has the same result through setFields as
// through the json-patch library: the same token, or the same error.
func FuzzSetFieldsAsLibrary(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","path":"/name","value":"renamed"}]`,
		`[{"op":"add","path":"/scope","value":["sp:scopes:all"]},{"op":"replace","path":"/name","value":"a"}]`,
		`[{"op":"replace","path":"/expirationDate","value":null},{"op":"replace","path":"/userAwareTokenNeverExpires","value":true}]`,
		`[{"op":"replace","path":"/expirationDate","value":"2026-01-01T00:00:00.000Z"}]`,
		`[{"op":"replace","path":"/expirationDate","value":"2026-01-01T00:00:00Z"}]`,
		`[{"op":"replace","path":"/name","value":"<&>\u2028"},{"op":"add","path":"/name","value": "b" }]`,
		`[{"op":"replace","path":"/scope","value":[ "a" , "b" ]}]`,
		`[{"op":"replace","path":"/userAwareTokenNeverExpires","value":"true"}]`,
		`[{"op":"replace","path":"/name","value":null}]`,
	} {
		f.Add([]byte(s), true)
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, neverExpires bool) {
		p := store.PAT{ID: "86f1dc6fe8f54414950454cbb11278fa", Name: "Token <1>", OwnerID: "o", Scope: []string{"sp:scopes:all"},
			Created: now.AddDate(0, -1, 0), ExpirationDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if neverExpires {
			p.ExpirationDate, p.UserAwareTokenNeverExpires = time.Time{}, true
		}
		for _, v := range Versions {
			ops, err := decodePatch(v, body)
			if err != nil {
				continue
			}
			c := call{v: v, now: now, caller: store.Identity{ID: "o", Name: "Owner"}}
			fields, ok := setFields(v, p, slices.Clone(ops))
			if !ok {
				continue
			}
			viaLibrary, err := patchDocument(c, p, ops)
			if err != nil {
				t.Fatalf("%s: the library refuses %s: %v", v.Name, body, err)
			}
			got, gotErr := readPatched(c, p, fields, ops)
			want, wantErr := readPatched(c, p, viaLibrary, ops)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %s:\nsetFields %+v, %v\nlibrary   %+v, %v", v.Name, body, got, gotErr, want, wantErr)
			}
		}
	})
}

// FuzzDecodeOpsAsTokens: the walk over the body reads the same operations as encoding/json's
// tokens do, and refuses the same bodies: in the same words when the body is JSON (in a broken one,
// the two may name different first problems).
func FuzzDecodeOpsAsTokens(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","path":"/name","value":"x"}]`,
		` [ { "op" : "add" , "path" : "/scope/-" , "value" : [ "a" , {"b":[1,2.5e3,"]}"]} ] } , {"op":"test","path":"/id","value":null} ] `,
		`[{"op":"replace","p\u0061th":"/name","path":"/x"}]`,
		`[{"op":"copy","from":"/name","path":"/name","x":1,"y":true,"z":false,"w":null,"v":-0.5,"u":"\"","t":{},"s":[],"r":2}]`,
		`[{"op":"remove","path":null}]`,
		`[{"op":7}]`,
		`[1,"a",null]`,
		`[]`,
		`[{}] x`,
		`[{"op":"remove"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if t := bytes.TrimSpace(body); !utf8.Valid(body) || len(t) == 0 || t[0] != '[' {
			return // decodePatch refuses it before either reads it
		}
		got, gotErr := decodeOps(body)
		want, wantErr := decodeOpsByTokens(body)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: walk %v, tokens %v", body, gotErr, wantErr)
		}
		if gotErr != nil {
			var g, w *Error
			errors.As(gotErr, &g)
			errors.As(wantErr, &w)
			if g.Status != w.Status || g.Code != w.Code || json.Valid(body) && g.Cause+g.Text != w.Cause+w.Text {
				t.Fatalf("%s: walk %+v, tokens %+v", body, g, w)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\nwalk   %+v\ntokens %+v", body, got, want)
		}
	})
}

// decodeOpsByTokens is how decodeOps read operations before it walked the body itself: token by
// token through encoding/json, slowly but plainly; it is the walk's reference.
func decodeOpsByTokens(body []byte) ([]patchOp, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, malformedPatch("it must be a JSON array of operations.")
	}
	ops := []patchOp{}
	for dec.More() {
		if len(ops) == MaxPatchOps {
			return nil, badRequest(codeLimit, "A JSON Patch document may hold at most %d operations.", MaxPatchOps)
		}
		op, err := decodeOpByTokens(dec, len(ops))
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, malformedPatch("%v.", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformedPatch("data follows the array of operations.")
	}
	return ops, nil
}

func decodeOpByTokens(dec *json.Decoder, i int) (patchOp, error) {
	var op patchOp
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return op, malformedPatch("operation %d is not a JSON object.", i)
	}
	texts := map[string]func(*string){"op": func(s *string) { op.Op = *s }, "path": func(s *string) { op.Path = s }, "from": func(s *string) { op.From = s }}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return op, malformedPatch("%v.", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return op, malformedPatch("operation %d has member %q twice.", i, name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return op, malformedPatch("%v.", err)
		}
		if name == "value" {
			op.Value = raw
		}
		if set, ok := texts[name]; ok {
			text := new(string)
			if json.Unmarshal(raw, text) != nil {
				return op, malformedPatch("operation %d: %s must be a string.", i, name)
			}
			set(text)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return op, malformedPatch("%v.", err)
	}
	return op, nil
}
