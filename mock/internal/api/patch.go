package api

import (
	"bytes"
	"encoding/json"
	"strconv"
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

// applyPatch applies checked operations to a copy of the token and reads the result back.
func (s *Service) applyPatch(c call, p store.PAT, ops []patchOp) (store.PAT, error) {
	f, ok := setFields(c.v, p, ops)
	if !ok {
		var err error
		if f, err = patchDocument(c, p, ops); err != nil {
			return p, err
		}
	}
	return readPatched(c, p, f, ops)
}

// patchedFields are the patchable members of a token's representation after a patch, as JSON;
// nil for one the patch removed.
type patchedFields struct {
	name, scope, expirationDate, neverExpires json.RawMessage
}

// member is the field a pointer names, if it names a whole patchable field of the version.
func (f *patchedFields) member(v Version, pointer string) *json.RawMessage {
	switch pointer {
	case "/name":
		return &f.name
	case "/scope":
		return &f.scope
	}
	if !v.NeverExpire {
		return nil
	}
	switch pointer {
	case "/expirationDate":
		return &f.expirationDate
	case "/userAwareTokenNeverExpires":
		return &f.neverExpires
	}
	return nil
}

// setFields applies a patch that only adds or replaces whole patchable fields, which is what
// nearly every client sends, without a round trip through JSON and the library: every patchable
// field is a member of the representation, and adding or replacing a member that exists sets it
// (RFC 6902, 4.1 and 4.3). It reports false for any other patch, which patchDocument applies.
// FuzzSetFieldsAsLibrary holds the two to the same result.
func setFields(v Version, p store.PAT, ops []patchOp) (patchedFields, bool) {
	var f patchedFields
	for _, op := range ops {
		if op.Op != "add" && op.Op != "replace" {
			return f, false
		}
		m := f.member(v, *op.Path)
		if m == nil {
			return f, false
		}
		*m = op.Value
	}
	if f.name == nil {
		f.name = appendString(nil, p.Name)
	}
	if f.scope == nil {
		f.scope = appendStrings(nil, p.Scope)
	}
	if f.expirationDate == nil {
		f.expirationDate = appendTime(nil, p.ExpirationDate)
	}
	if f.neverExpires == nil {
		f.neverExpires = strconv.AppendBool(nil, p.UserAwareTokenNeverExpires)
	}
	return f, true
}

// patchDocument applies any patch with the json-patch library, to the token's representation as
// its owner reads it (a "test" may read any field).
func patchDocument(c call, p store.PAT, ops []patchOp) (patchedFields, error) {
	doc := (&patItem{v: c.v, pat: p, owner: ownerView{Type: "IDENTITY", ID: c.caller.ID, Name: c.caller.Name}}).appendJSON(nil)
	patched, err := library(ops).ApplyWithOptions(doc, patchOptions)
	if err != nil {
		return patchedFields{}, badRequest(codeIllegal, "The JSON Patch could not be applied: %v", err)
	}
	after, err := decodeObject(patched)
	if err != nil {
		return patchedFields{}, err
	}
	return patchedFields{name: after["name"], scope: after["scope"], expirationDate: after["expirationDate"],
		neverExpires: after["userAwareTokenNeverExpires"]}, nil
}

// readPatched reads the patched fields back into the token, refusing what ISC refuses.
func readPatched(c call, p store.PAT, f patchedFields, ops []patchOp) (store.PAT, error) {
	var err error
	if p.Name, err = parseName(f.name); err != nil {
		return p, err
	}
	if p.Scope, err = parseScope(f.scope, nil); err != nil {
		return p, err
	}
	if !c.v.NeverExpire {
		return p, nil
	}
	if p.UserAwareTokenNeverExpires, err = parseBool("userAwareTokenNeverExpires", f.neverExpires); err != nil {
		return p, err
	}
	if !bytes.Equal(appendTime(nil, p.ExpirationDate), f.expirationDate) {
		if p.ExpirationDate, err = parseExpiration(c.v, f.expirationDate, c.now, p.Created); err != nil {
			return p, err
		}
		if p.ExpirationDate.IsZero() && !(p.UserAwareTokenNeverExpires && touches(ops, "/userAwareTokenNeverExpires")) {
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
// a client change; "test" may read any field.
func decodePatch(v Version, body []byte) ([]patchOp, error) {
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
	}
	return ops, nil
}

// library is the patch as the json-patch library takes it, built from the checked operations, so
// that it applies exactly what was checked: their members, nothing else.
func library(ops []patchOp) jsonpatch.Patch {
	patch := make(jsonpatch.Patch, len(ops))
	for i, op := range ops {
		patch[i] = op.operation()
	}
	return patch
}

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

// decodeOps reads the array of operations so that member names match exactly and a member given
// twice is refused, where encoding/json would match names in any case and let the last value win.
// Once encoding/json has found the body to be JSON, a walk over it takes each member as it is.
func decodeOps(body []byte) ([]patchOp, error) {
	if !json.Valid(body) {
		var ops []json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&ops); err != nil {
			return nil, malformedPatch("%v.", err)
		}
		return nil, malformedPatch("data follows the array of operations.")
	}
	w := walk{b: body}
	if w.next() != '[' {
		return nil, malformedPatch("it must be a JSON array of operations.")
	}
	w.i++
	ops := []patchOp{}
	for w.next() != ']' {
		if len(ops) > 0 {
			w.i++ // the comma
		}
		if len(ops) == MaxPatchOps {
			return nil, badRequest(codeLimit, "A JSON Patch document may hold at most %d operations.", MaxPatchOps)
		}
		op, err := decodeOp(w.value(), len(ops))
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// decodeOp reads one operation, raw: a JSON value.
func decodeOp(raw []byte, i int) (patchOp, error) {
	var op patchOp
	if raw[0] != '{' {
		return op, malformedPatch("operation %d is not a JSON object.", i)
	}
	w := walk{b: raw, i: 1}
	var names members
	for w.next() != '}' {
		if names.n > 0 {
			w.i++ // the comma
		}
		name := memberName(w.value())
		if !names.add(name) {
			return op, malformedPatch("operation %d has member %q twice.", i, name)
		}
		w.next()
		w.i++ // the colon
		value := w.value()
		var text *string
		switch string(name) {
		case "op":
			text = &op.Op
		case "path":
			op.Path = new(string)
			text = op.Path
		case "from":
			op.From = new(string)
			text = op.From
		case "value":
			op.Value = value
		} // RFC 6902: other members are ignored (names are exact: "Path" is not "path")
		if text != nil && string(value) != "null" { // null leaves it empty, as encoding/json does
			var ok bool
			if *text, ok = jsonString(value); !ok {
				return op, malformedPatch("operation %d: %s must be a string.", i, name)
			}
		}
	}
	return op, nil
}

// members are the names an object has shown so far: the first few in a list, as an operation
// has four members that count, the rest in a map, so that a huge object costs no more than it is long.
type members struct {
	n     int
	first [8][]byte
	more  map[string]bool
}

// add records a name; it reports false for one already seen.
func (m *members) add(name []byte) bool {
	for _, seen := range m.first[:min(m.n, len(m.first))] {
		if bytes.Equal(seen, name) {
			return false
		}
	}
	if m.more[string(name)] {
		return false
	}
	if m.n < len(m.first) {
		m.first[m.n] = name
	} else {
		if m.more == nil {
			m.more = map[string]bool{}
		}
		m.more[string(name)] = true
	}
	m.n++
	return true
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

// touches reports whether the operations write the pointer.
func touches(ops []patchOp, pointer string) bool {
	for _, op := range ops {
		if *op.Path == pointer && op.Op != "test" {
			return true
		}
	}
	return false
}
