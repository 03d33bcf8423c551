package api

import (
	"bytes"
	"encoding/json"
	"io"
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
	o.AccumulatedCopySizeLimit = MaxBody
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

// MaxPatchOps bounds the operations of one JSON Patch: the mock's choice (ISC publishes none),
// far more than replacing every patchable field, and every scope entry one by one, takes.
const MaxPatchOps = 256

// patchOp is one operation as the client sent it: members matched by their exact names, each
// given at most once; nil for an absent one (a JSON null value is "null").
type patchOp struct {
	Op         string
	Path, From *string
	Value      json.RawMessage
}

// decodePatch parses an RFC 6902 document and checks every operation against what the version lets
// a client change; "test" may read any field. The patch it returns is built from the checked
// operations, so the library applies exactly what was checked.
func decodePatch(v Version, body []byte) (jsonpatch.Patch, error) {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '[' {
		return nil, unparsable("The request body must be a JSON Patch document: a JSON array of operations.")
	}
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	ops, err := decodeOps(body)
	if err != nil {
		return nil, err
	}
	fields := patchable(v)
	patch := make(jsonpatch.Patch, len(ops))
	for i, op := range ops {
		switch op.Op {
		case "add", "replace", "test":
			if op.Value == nil {
				return nil, unparsable("Operation %d (%s) has no value.", i, op.Op)
			}
		case "move", "copy":
			if op.From == nil {
				return nil, unparsable("Operation %d (%s) has no from.", i, op.Op)
			}
			if op.Op == "move" && !under(*op.From, fields) {
				return nil, badRequest(codeIllegal, "Operation %d moves %s, which cannot be changed; patchable fields: %s.", i, *op.From, strings.Join(fields, ", "))
			}
		case "remove":
		default:
			return nil, unparsable("Operation %d has op %q; use add, remove, replace, move, copy or test.", i, op.Op)
		}
		if op.Path == nil {
			return nil, unparsable("Operation %d (%s) has no path.", i, op.Op)
		}
		if op.Op != "test" && !under(*op.Path, fields) {
			return nil, badRequest(codeIllegal, "Operation %d changes %s, which cannot be changed; patchable fields: %s.", i, *op.Path, strings.Join(fields, ", "))
		}
		patch[i] = op.operation()
	}
	return patch, nil
}

// operation is the op as the patch library takes it: the members checked, nothing else.
func (op patchOp) operation() jsonpatch.Operation {
	member := func(v any) *json.RawMessage {
		b, _ := json.Marshal(v) // strings and raw JSON always marshal
		raw := json.RawMessage(b)
		return &raw
	}
	o := jsonpatch.Operation{"op": member(op.Op)}
	if op.Path != nil {
		o["path"] = member(*op.Path)
	}
	if op.From != nil {
		o["from"] = member(*op.From)
	}
	if op.Value != nil {
		o["value"] = &op.Value
	}
	return o
}

func malformedPatch(format string, args ...any) error {
	return unparsable("The request body is not a valid JSON Patch document: "+format, args...)
}

// decodeOps reads the array of operations token by token, so that member names match exactly and
// a member given twice is refused rather than one of its values silently winning.
func decodeOps(body []byte) ([]patchOp, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, malformedPatch("it must be a JSON array of operations.")
	}
	ops := []patchOp{}
	for dec.More() {
		if len(ops) == MaxPatchOps {
			return nil, badRequest(codeLimit, "A JSON Patch document may hold at most %d operations.", MaxPatchOps)
		}
		op, err := decodeOp(dec, len(ops))
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

func decodeOp(dec *json.Decoder, i int) (patchOp, error) {
	var op patchOp
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return op, malformedPatch("operation %d is not a JSON object.", i)
	}
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
		var text *string
		switch name {
		case "op":
			text = &op.Op
		case "path":
			op.Path = new(string)
			text = op.Path
		case "from":
			op.From = new(string)
			text = op.From
		case "value":
			op.Value = raw
		} // RFC 6902: other members are ignored (names are exact: "Path" is not "path")
		if text != nil && json.Unmarshal(raw, text) != nil {
			return op, malformedPatch("operation %d: %s must be a string.", i, name)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return op, malformedPatch("%v.", err)
	}
	return op, nil
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
