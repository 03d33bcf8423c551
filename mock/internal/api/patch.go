package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// JSON Patch (RFC 6902) on a token: which fields a version lets change, and how a patched copy
// becomes a token again.

// patchOptions bounds what "copy" may add, or a kilobyte of copies doubling /scope could fill memory.
var patchOptions = func() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.AccumulatedCopySizeLimit = maxBody
	return o
}()

func (s *Service) applyPatch(c call, p store.PAT, patch jsonpatch.Patch) (store.PAT, error) {
	// Only the owner patches a token: the caller is the owner shown.
	doc := (&patItem{v: c.v, pat: p, owner: ownerView{Type: "IDENTITY", ID: c.caller.ID, Name: c.caller.Name}}).appendJSON(nil)
	patched, err := patch.ApplyWithOptions(doc, patchOptions)
	if err != nil {
		return p, badRequest(codeIllegal, "The JSON Patch could not be applied: %v", err)
	}
	after, err := decodeObject(patched)
	if err != nil {
		return p, err
	}
	if p.Name, err = parseName(after["name"]); err != nil {
		return p, err
	}
	if p.Scope, err = parseScope(after["scope"], nil); err != nil {
		return p, err
	}
	if !c.v.NeverExpire {
		return p, nil
	}
	if p.UserAwareTokenNeverExpires, err = parseBool("userAwareTokenNeverExpires", after["userAwareTokenNeverExpires"]); err != nil {
		return p, err
	}
	if !bytes.Equal(appendTime(nil, p.ExpirationDate), after["expirationDate"]) {
		if p.ExpirationDate, err = parseExpiration(c.v, after["expirationDate"], c.now, p.Created); err != nil {
			return p, err
		}
		if p.ExpirationDate.IsZero() && !(p.UserAwareTokenNeverExpires && touches(patch, "/userAwareTokenNeverExpires")) {
			return p, badRequest(codeMissing, "Setting expirationDate to null needs userAwareTokenNeverExpires set to true in the same request.")
		}
	}
	if p.ExpirationDate.IsZero() && !p.UserAwareTokenNeverExpires {
		return p, badRequest(codeIllegal, "userAwareTokenNeverExpires must stay true while expirationDate is null (a token that never expires).")
	}
	return p, nil
}

// patchable lists the fields a version lets PATCH change.
func patchable(v Version) []string {
	if v.NeverExpire {
		return []string{"name", "scope", "expirationDate", "userAwareTokenNeverExpires"}
	}
	return []string{"name", "scope"}
}

// decodePatch parses an RFC 6902 document and checks every operation against what the version lets
// a client change; "test" may read any field.
func decodePatch(v Version, body []byte) (jsonpatch.Patch, error) {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '[' {
		return nil, badRequest(codeBadContent, "The request body must be a JSON Patch document: a JSON array of operations.")
	}
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  *string         `json:"path"`
		From  *string         `json:"from"`
		Value json.RawMessage `json:"value"` // nil when absent; JSON null is "null"
	}
	if err := json.Unmarshal(body, &ops); err != nil {
		return nil, badRequest(codeBadContent, "The request body is not a valid JSON Patch document: %v.", err)
	}
	fields := patchable(v)
	for i, op := range ops {
		switch op.Op {
		case "add", "replace", "test":
			if op.Value == nil {
				return nil, badRequest(codeBadContent, "Operation %d (%s) has no value.", i, op.Op)
			}
		case "move", "copy":
			if op.From == nil {
				return nil, badRequest(codeBadContent, "Operation %d (%s) has no from.", i, op.Op)
			}
			if op.Op == "move" && !under(*op.From, fields) {
				return nil, badRequest(codeIllegal, "Operation %d moves %s, which cannot be changed; patchable fields: %s.", i, *op.From, strings.Join(fields, ", "))
			}
		case "remove":
		default:
			return nil, badRequest(codeBadContent, "Operation %d has op %q; use add, remove, replace, move, copy or test.", i, op.Op)
		}
		if op.Path == nil {
			return nil, badRequest(codeBadContent, "Operation %d (%s) has no path.", i, op.Op)
		}
		if op.Op != "test" && !under(*op.Path, fields) {
			return nil, badRequest(codeIllegal, "Operation %d changes %s, which cannot be changed; patchable fields: %s.", i, *op.Path, strings.Join(fields, ", "))
		}
	}
	patch, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return nil, badRequest(codeBadContent, "The request body is not a valid JSON Patch document: %v.", err)
	}
	return patch, nil
}

// under reports whether a JSON pointer names one of the fields or something inside one.
func under(pointer string, fields []string) bool {
	for _, f := range fields {
		if pointer == "/"+f || strings.HasPrefix(pointer, "/"+f+"/") {
			return true
		}
	}
	return false
}

// touches reports whether the patch writes the pointer.
func touches(patch jsonpatch.Patch, pointer string) bool {
	for _, op := range patch {
		if path, _ := op.Path(); path == pointer && op.Kind() != "test" {
			return true
		}
	}
	return false
}
